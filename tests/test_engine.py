"""Engine semantics: accumulation, graph walks, retain_graph, grad mode, dtypes, versions.

Expected gradients are worked out by hand and computed with NumPy, never with minigrad, so
a wrong engine cannot agree with itself. Values use float64 where a test compares numbers
closely, so the tolerance measures the engine and not float32 rounding.
"""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.function import Function
from minigrad.ops.arithmetic import Mul


def leaf(values, name=None):
    """A float64 leaf that requires grad (float64 so comparisons can be tight)."""
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True, name=name)


# ---- accumulation: reuse, diamonds, branches, repeated backward ---------------------------


def test_a_plus_a_gives_grad_two():
    a = leaf([1.0, -2.0, 3.0])
    (a + a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])


def test_a_times_a_gives_two_a():
    a = leaf([1.5, -2.0, 0.25])
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad, 2 * a.data)


def test_diamond_gets_both_paths():
    a_np = np.array([0.5, -1.0, 2.0])
    a = leaf(a_np)
    b = a * 2
    c = a + 3
    d = b * c
    d.sum().backward()
    # d = 2a (a + 3) = 2a^2 + 6a, so dd/da = 4a + 6; each path alone would give 2c or b.
    np.testing.assert_allclose(a.grad, 4 * a_np + 6)
    np.testing.assert_allclose(b.grad, a_np + 3)  # dd/db = c
    np.testing.assert_allclose(c.grad, 2 * a_np)  # dd/dc = b


def test_tensor_used_in_three_branches():
    a_np = np.array([0.3, -0.7, 1.1])
    a = leaf(a_np)
    out = (a * 2 + a.tanh() + a ** 3).sum()
    out.backward()
    expected = 2 + (1 - np.tanh(a_np) ** 2) + 3 * a_np ** 2
    np.testing.assert_allclose(a.grad, expected, rtol=1e-12)


def test_two_backward_calls_accumulate_into_leaf_and_non_leaf():
    x_np = np.array([1.0, -2.0, 0.5])
    x = leaf(x_np)
    y = x * 2  # non-leaf
    z = (y * y).sum()
    z.backward(retain_graph=True)
    # dz/dy = 2y = 4x, dz/dx = 2y * 2 = 8x
    np.testing.assert_allclose(y.grad, 4 * x_np)
    np.testing.assert_allclose(x.grad, 8 * x_np)
    z.backward()
    np.testing.assert_allclose(y.grad, 8 * x_np)
    np.testing.assert_allclose(x.grad, 16 * x_np)


def test_non_leaf_tensors_keep_their_own_grad():
    rng = np.random.default_rng(0)
    x_np, w_np = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    x, w = leaf(x_np, "x"), leaf(w_np, "w")
    hidden = x @ w  # (2, 4), an intermediate of a tiny model
    loss = hidden.tanh().sum()
    loss.backward()
    h_np = x_np @ w_np
    dh = 1 - np.tanh(h_np) ** 2
    assert not hidden.is_leaf
    assert hidden.grad.shape == hidden.shape == (2, 4)
    np.testing.assert_allclose(hidden.grad, dh, rtol=1e-12)
    np.testing.assert_allclose(x.grad, dh @ w_np.T, rtol=1e-12)
    np.testing.assert_allclose(w.grad, x_np.T @ dh, rtol=1e-12)
    np.testing.assert_array_equal(loss.grad, 1.0)  # the root keeps its seed gradient


def test_grad_of_a_0d_tensor_stays_an_ndarray_when_it_accumulates():
    t = leaf(3.0)
    (t * t).backward()  # t reaches Mul twice, so its two gradients are added
    assert isinstance(t.grad, np.ndarray)
    np.testing.assert_array_equal(t.grad, 6.0)


# ---- deep graphs -------------------------------------------------------------------------


def test_100k_op_chain_backward_without_recursion():
    factor, steps = 1.0000001, 100_000
    x = leaf([1.5])
    y = x
    for _ in range(steps):
        y = y * factor
    y.sum().backward()  # a recursive walk would hit Python's recursion limit here
    # y = x * factor^steps, so dy/dx = factor^steps (about 1.01); float64 keeps it exact-ish.
    np.testing.assert_allclose(x.grad, [factor ** steps], rtol=1e-9)
    np.testing.assert_allclose(y.data, [1.5 * factor ** steps], rtol=1e-9)
    del y  # dropping the chain must not overflow the C stack either


# ---- retain_graph ------------------------------------------------------------------------


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x_np = np.array([1.0, 2.0, -3.0])
    x = leaf(x_np)
    z = (x * x).sum()
    z.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 2 * x_np)
    z.backward()
    np.testing.assert_allclose(x.grad, 4 * x_np)


def test_second_backward_through_a_freed_graph_raises():
    x_np = np.array([1.0, 2.0])
    x = leaf(x_np)
    z = (x.exp() * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="second time") as info:
        z.backward()
    assert "retain_graph" in str(info.value)
    # The failed call stops before reaching the leaf, so its gradient is untouched.
    np.testing.assert_allclose(x.grad, np.exp(x_np) * (1 + x_np))


# ---- explicit gradients for non-scalar outputs -------------------------------------------


def test_explicit_gradient_for_a_non_scalar_output():
    x_np = np.arange(6.0).reshape(2, 3)
    g = np.array([[1.0, 0.5, -1.0], [2.0, 0.0, 3.0]])
    x = leaf(x_np)
    y = x * x
    y.backward(g)
    np.testing.assert_allclose(x.grad, 2 * x_np * g)
    np.testing.assert_allclose(y.grad, g)


def test_explicit_gradient_of_the_wrong_shape_names_both_shapes():
    x = leaf(np.ones((2, 3)))
    y = x * 2
    # (3,) would broadcast against (2, 3), but a gradient must match exactly.
    with pytest.raises(ValueError, match=re.escape("(3,)")) as info:
        y.backward(np.ones(3))
    assert "(2, 3)" in str(info.value)
    assert x.grad is None


def test_non_scalar_backward_without_gradient_mentions_scalar():
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()


# ---- grad mode -----------------------------------------------------------------------------


def test_no_grad_context_records_nothing():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = (x * 2).exp()
    assert mg.is_grad_enabled()
    assert not y.requires_grad
    assert y.grad_fn is None
    np.testing.assert_allclose(y.data, np.exp([2.0, 4.0]))


def test_no_grad_decorator_records_nothing():
    @mg.no_grad()
    def step(t):
        assert not mg.is_grad_enabled()
        return t * t + 1

    x = leaf([1.0, 2.0])
    y = step(x)
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    y2 = step(x)  # the decorator is reusable: the second call records nothing either
    assert y2.grad_fn is None


def test_enable_grad_inside_no_grad_records_again():
    x = leaf([1.0, -2.0])
    with mg.no_grad():
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            y = x * 3
        assert not mg.is_grad_enabled()
        z = x * 3
    assert y.grad_fn is Mul
    assert z.grad_fn is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_grad_mode_restored_after_an_exception_inside_no_grad():
    with pytest.raises(ValueError, match="matmul"):
        with mg.no_grad():
            mg.ones(2, 3) @ mg.ones(4, 5)  # an op error escapes the block
    assert mg.is_grad_enabled()
    x = leaf([1.0])
    assert (x * 2).requires_grad


# ---- detach, requires_grad, dtypes -------------------------------------------------------


def test_detach_shares_data_and_blocks_gradients():
    w = leaf([1.0, 2.0])
    x = leaf([3.0, -1.0])
    y = w * 3
    d = y.detach()
    assert np.shares_memory(d.data, y.data)
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 6.0])  # d is a constant for x
    assert w.grad is None  # nothing flowed back through the detached copy
    assert y.grad is None


def test_requires_grad_underscore_turns_a_leaf_on_and_returns_it():
    t = mg.tensor([1.0, -2.0])
    assert not t.requires_grad
    assert t.requires_grad_() is t
    assert t.requires_grad
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad, [2.0, -4.0])
    t.requires_grad_(False)
    assert not (t * t).requires_grad


def test_requires_grad_on_integer_data_raises_naming_the_dtype():
    with pytest.raises(TypeError, match="int32"):
        mg.tensor(np.array([1, 2], dtype=np.int32), requires_grad=True)
    ints = mg.tensor(np.array([1, 2], dtype=np.int16))
    with pytest.raises(TypeError, match="int16"):
        ints.requires_grad_()
    assert not ints.requires_grad


@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[1, 2.5]]], ids=["float", "list", "mixed"])
def test_python_floats_default_to_float32(data):
    assert mg.tensor(data).dtype == np.float32
    assert mg.Tensor(data).dtype == np.float32


def test_float64_arrays_stay_float64():
    array = np.array([1.0, 2.0])
    assert mg.tensor(array).dtype == np.float64
    assert mg.Tensor(array).dtype == np.float64
    x = mg.Tensor(array, requires_grad=True)
    y = x * 2.0  # a Python float must not demote the result
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float64


def test_integer_tensors_work_in_forward_ops():
    a = mg.tensor([3, 1, 2])
    assert np.issubdtype(a.dtype, np.integer)
    np.testing.assert_array_equal((a + a).data, [6, 2, 4])
    np.testing.assert_array_equal((a * 2 - 1).data, [5, 1, 3])
    np.testing.assert_array_equal(a[[0, 2]].data, [3, 2])
    assert a.sum().item() == 6 and a.max().item() == 3
    assert not (a + a).requires_grad
    # Mixed with a float tensor that requires grad: the gradient reaches the float only.
    x = leaf([1.0, 2.0, 3.0])
    (a * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 1.0, 2.0])
    assert a.grad is None


def test_astype_to_integer_gives_a_tensor_outside_the_graph():
    x = leaf([1.5, -2.5])
    i = x.astype("int64")
    np.testing.assert_array_equal(i.data, [1, -2])
    assert not i.requires_grad


def test_assigning_data_keeps_the_tensors_dtype():
    x = leaf([1.0, 2.0])
    x.data = np.array([3, 4], dtype=np.int64)  # integers convert to the tensor's float dtype
    assert x.dtype == np.float64 and x.requires_grad
    np.testing.assert_array_equal(x.data, [3.0, 4.0])
    ids = mg.tensor([1, 2])
    with pytest.raises(TypeError, match="float64.*int64"):
        ids.data = np.array([1.5, 2.5])  # floats into integers would truncate: refused


# ---- version counter (see tensor.py's docstring) ----------------------------------------


def test_assigning_data_of_a_saved_input_before_backward_raises():
    x = leaf([0.5, 1.0], name="x")
    y = x.exp()
    x.data = x.data * 2
    with pytest.raises(RuntimeError, match=r"exp: x of shape \(2,\) was modified") as info:
        y.sum().backward()
    assert "version 0 -> 1" in str(info.value)


def test_in_place_subtract_on_data_bumps_the_version():
    x = leaf([1.0, 2.0], name="x")
    w = leaf([3.0, 4.0], name="w")
    y = x * w
    x.data -= 1  # `p.data -= lr * p.grad` assigns data, so it counts as a modification
    with pytest.raises(RuntimeError, match="mul: x .*modified"):
        y.sum().backward()


def test_any_recorded_input_is_checked_even_if_its_op_saved_nothing():
    # The docstring promises the check for every tensor an op recorded: add saves no arrays,
    # yet it still refuses to run once an input changed.
    x = leaf([1.0, 2.0], name="x")
    y = x + leaf([1.0, 1.0])
    x.data = x.data + 1
    with pytest.raises(RuntimeError, match="add: x"):
        y.sum().backward()


def test_assigning_data_of_an_op_output_is_detected():
    x = leaf([0.5, 1.0])
    y = x.exp()
    y.name = "y"
    y.data = y.data + 1  # exp's backward relies on its output being exp(x)
    with pytest.raises(RuntimeError, match="exp: y"):
        y.sum().backward()


def test_modifications_outside_the_recorded_window_are_fine():
    x = leaf([1.0, 2.0])
    x.data = x.data * 3  # before the op records x: the op sees the new value
    y = x * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 12.0])
    x.data = x.data * 0  # after backward: nothing left to protect
    with mg.no_grad():
        z = x * 5  # nothing recorded, so nothing to invalidate
    x.data = x.data + 1
    np.testing.assert_array_equal(z.data, [0.0, 0.0])


def test_writing_into_the_array_bypasses_the_counter_as_documented():
    x = leaf([1.0, 2.0])
    y = x * x
    x.data[0] = 5.0  # documented: in-array writes are not tracked (like torch's .data)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [10.0, 4.0])  # backward saw the mutated saved array


# ---- repr and NumPy-like accessors ------------------------------------------------------


def test_repr_shows_name_shape_dtype_and_op():
    x = mg.tensor([[1.0, 2.0, 3.0]], requires_grad=True, name="x")
    text = repr(x)
    assert "name='x'" in text and "shape=(1, 3)" in text and "dtype=float32" in text
    assert "op=" not in text  # a leaf was made by no op
    y = x * 2
    y.name = "doubled"
    text = repr(y)
    assert "name='doubled'" in text and "op=mul" in text and "shape=(1, 3)" in text


def test_item_numpy_ndim_size_len():
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.numpy() is x.data
    assert x.ndim == 2 and x.size == 6 and len(x) == 2
    one = mg.tensor([[2.5]])
    value = one.item()
    assert value == 2.5 and isinstance(value, float)
    assert mg.tensor(7).item() == 7
    with pytest.raises(TypeError, match="0-d"):
        len(mg.tensor(1.0))


# ---- reflected operators ----------------------------------------------------------------


X_VALUES = np.array([0.5, 1.5, 2.0])


@pytest.mark.parametrize(
    "fn, value, grad",
    [
        (lambda x: 2 * x, 2 * X_VALUES, np.full(3, 2.0)),
        (lambda x: 3 + x, 3 + X_VALUES, np.ones(3)),
        (lambda x: 1 - x, 1 - X_VALUES, -np.ones(3)),
        (lambda x: 2 / x, 2 / X_VALUES, -2 / X_VALUES ** 2),
        (lambda x: 2 ** x, 2 ** X_VALUES, 2 ** X_VALUES * np.log(2)),
        (lambda x: x ** 2, X_VALUES ** 2, 2 * X_VALUES),
        (lambda x: np.array([1.0, -2.0, 4.0]) * x, [0.5, -3.0, 8.0], [1.0, -2.0, 4.0]),
        (lambda x: np.array([1.0, -2.0, 4.0]) - x, [0.5, -3.5, 2.0], -np.ones(3)),
    ],
    ids=["2*x", "3+x", "1-x", "2/x", "2**x", "x**2", "array*x", "array-x"],
)
def test_reflected_operators(fn, value, grad):
    x = leaf(X_VALUES)
    y = fn(x)
    assert isinstance(y, mg.Tensor)  # even with an ndarray on the left
    np.testing.assert_allclose(y.data, value, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, grad, rtol=1e-12)


# ---- getitem -----------------------------------------------------------------------------


def test_repeated_integer_indices_accumulate():
    x = leaf([10.0, 20.0, 30.0])
    x[[0, 0, 1]].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 1.0, 0.0])


def test_repeated_rows_accumulate_weighted_gradients():
    x = leaf(np.zeros((3, 2)))
    rows = x[np.array([2, 0, 2])]  # (3, 2), an embedding lookup
    weights = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    (rows * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, [[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]])


def test_boolean_mask_routes_gradient_to_selected_elements():
    x_np = np.array([[1.0, -2.0], [-3.0, 4.0]])
    x = leaf(x_np)
    picked = x[x > 0]  # a boolean Tensor works as a mask
    np.testing.assert_array_equal(picked.data, [1.0, 4.0])
    (picked * np.array([5.0, 7.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[5.0, 0.0], [0.0, 7.0]])


def test_slices_with_steps():
    x = leaf(np.arange(5.0))
    (x[::2] * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 2.0, 0.0, 3.0])

    y = leaf(np.arange(5.0))
    reversed_every_other = y[::-2]  # elements 4, 2, 0
    np.testing.assert_array_equal(reversed_every_other.data, [4.0, 2.0, 0.0])
    (reversed_every_other * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(y.grad, [3.0, 0.0, 2.0, 0.0, 1.0])

    z = leaf(np.zeros((3, 4)))
    z[1:, ::3].sum().backward()
    np.testing.assert_array_equal(z.grad, [[0, 0, 0, 0], [1, 0, 0, 1], [1, 0, 0, 1]])


# ---- the extension API: custom Functions -------------------------------------------------


class DropsAnElement(Function):
    """2a, with a backward that (wrongly) returns one element too few."""

    name = "drops_an_element"

    @staticmethod
    def forward(ctx, a):
        return 2 * a

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad[:-1]


class OneGradientForTwo(Function):
    """a + b, with a backward that forgets b's gradient."""

    name = "one_gradient_for_two"

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


def test_backward_returning_a_wrong_shape_names_the_op_and_shapes():
    x = leaf([1.0, 2.0, 3.0])
    y = DropsAnElement.apply(x)
    expected = ("drops_an_element.backward returned a gradient of shape (2,) "
                "for input 0 of shape (3,)")
    with pytest.raises(RuntimeError, match=re.escape(expected)):
        y.sum().backward()


def test_backward_returning_too_few_gradients_names_the_op():
    y = OneGradientForTwo.apply(leaf([1.0]), leaf([2.0]))
    with pytest.raises(RuntimeError, match="one_gradient_for_two.backward returned 1 gradients "
                                           "for 2 inputs"):
        y.sum().backward()


class Hypot(Function):
    """sqrt(a^2 + b^2);  d/da = a / h, d/db = b / h."""

    name = "hypot"

    @staticmethod
    def forward(ctx, a, b):
        h = np.sqrt(a * a + b * b)
        ctx.save_for_backward(a, b, h)
        return h

    @staticmethod
    def backward(ctx, grad):
        a, b, h = ctx.saved_arrays
        # Returned in the broadcast shape: the engine sums b's gradient back to b's shape.
        return grad * a / h, grad * b / h


class HypotWrongB(Hypot):
    """Hypot with b's derivative off by a factor of 2, so gradcheck has something to catch."""

    name = "hypot_wrong_b"

    @staticmethod
    def backward(ctx, grad):
        a, b, h = ctx.saved_arrays
        return grad * a / h, 2 * grad * b / h


def test_custom_function_end_to_end():
    a_np = np.array([[3.0, 1.0, -2.0], [0.5, -4.0, 1.0]])
    b_np = np.array([4.0, -1.0, 2.0])  # broadcast over a's rows
    a, b = leaf(a_np, "a"), leaf(b_np, "b")
    h = Hypot.apply(a, b)
    h_np = np.hypot(a_np, b_np)
    np.testing.assert_allclose(h.data, h_np)
    assert h.grad_fn is Hypot and "op=hypot" in repr(h)
    h.sum().backward()
    np.testing.assert_allclose(a.grad, a_np / h_np)
    np.testing.assert_allclose(b.grad, (b_np / h_np).sum(axis=0))  # summed over broadcast rows
    assert mg.gradcheck(lambda p, q: Hypot.apply(p, q), a, b)


def test_gradcheck_catches_a_wrong_custom_backward():
    a, b = leaf([[3.0, 1.0], [0.5, -4.0]], "a"), leaf([4.0, -1.0], "b")
    assert mg.gradcheck(lambda p, q: Hypot.apply(p, q), a, b)  # the same inputs pass ...
    with pytest.raises(mg.GradcheckError, match="input 1 'b'"):  # ... unless b's grad is wrong
        mg.gradcheck(lambda p, q: HypotWrongB.apply(p, q), a, b)


def test_pow_with_zero_exponent_at_zero_base_has_zero_gradient():
    x = leaf([0.0, 2.0])
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])  # not NaN: x**0 is constant


def test_float32_stays_float32_with_numpy_scalars_and_integer_tensors():
    x = mg.ones(3)
    ints = mg.tensor([1, 2, 3])
    for result in (x / np.sqrt(4.0), x * np.float64(2), np.float64(2) * x, x + ints,
                   x * ints, ints * x, x ** ints, mg.maximum(x, ints),
                   x.clip(np.float64(-0.1), np.float64(0.1))):
        assert result.dtype == np.float32, result


def test_intermediate_grads_are_writable_arrays_even_for_0d_and_broadcast_cases():
    x = mg.tensor(2.0, requires_grad=True)
    y = x * 1.0
    (y + mg.ones(3)).sum().backward()
    assert type(y.grad) is np.ndarray and y.grad.shape == ()
    z = mg.randn(3, requires_grad=True)
    w = z * 2
    w.sum().backward()  # sum's backward is a read-only broadcast view
    w.grad *= 0.5  # must not raise "read-only"
    np.testing.assert_array_equal(w.grad, [0.5, 0.5, 0.5])


def test_the_gradient_passed_to_backward_is_not_aliased():
    x = mg.randn(3, requires_grad=True)
    y = x * 1
    g = np.ones(3, dtype=np.float32)
    y.backward(g)
    g[:] = 7
    np.testing.assert_array_equal(y.grad, [1, 1, 1])


@pytest.mark.parametrize("make_view", [
    lambda c: c.detach(), lambda c: c.T, lambda c: c.reshape(4), lambda c: c[0],
], ids=["detach", "transpose", "reshape", "slice"])
def test_editing_data_shared_with_a_saved_view_is_caught(make_view):
    c = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    view = make_view(c)
    w = mg.ones(*view.shape, requires_grad=True)
    loss = (view * w).sum()  # mul saves the view's data to compute w's gradient
    c.data *= 0  # changes the saved array in place, behind the view's back
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_tensor_bounds_and_fill_values_are_accepted():
    x = mg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = x.clip(min=mg.zeros(3), max=mg.ones(3))
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    z = x.masked_fill(np.array([True, False, False]), mg.tensor(9.0))
    np.testing.assert_array_equal(z.data, [9.0, 0.5, 2.0])


def test_intermediate_grads_can_be_left_out_for_training():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (h * h).backward(np.ones(2), intermediate_grads=False)
    assert h.grad is None  # not kept
    np.testing.assert_allclose(x.grad, 18 * x.data)  # leaves still get theirs
    y = x * 3
    (y * y).backward(np.ones(2))
    assert y.grad is not None  # kept by default, for inspection and drawings


def test_mg_tensor_copies_the_array_and_the_tensor_constructor_shares_it():
    # As torch.tensor (a copy) and torch.from_numpy (shared memory); both documented.
    given = np.zeros(3, np.float32)
    copied, shared = mg.tensor(given), mg.Tensor(given)
    given[0] = 5.0
    assert copied.data[0] == 0.0 and shared.data[0] == 5.0
    shared.data[1] = 7.0  # and the other way round
    assert given[1] == 7.0 and copied.data[1] == 0.0
    assert "copy" in mg.tensor.__doc__ and "without copying" in mg.Tensor.__doc__


# ---- grad mode on a generator; the dtype rule for lists, numbers and arrays ---------------

def test_no_grad_on_a_generator_holds_inside_it_and_never_leaks_out():
    @mg.no_grad()
    def generate():
        for _ in range(3):
            received = yield mg.is_grad_enabled()
            assert received is None or received == "sent"

    outside = []
    seen = []
    for value in generate():
        seen.append(value)
        outside.append(mg.is_grad_enabled())
    assert seen == [False, False, False] and outside == [True, True, True]
    g = generate()
    next(g)
    assert g.send("sent") is False and mg.is_grad_enabled()
    g.close()
    assert mg.is_grad_enabled()


def test_a_list_of_tensors_without_gradients_makes_a_tensor_of_their_values():
    t = mg.tensor([mg.tensor(1.0), mg.tensor(2.0)])
    assert t.dtype == np.float32 and t.data.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("make, dtype", [
    (lambda: mg.ones(2, requires_grad=True) * [2.0, 3.0], np.float32),
    (lambda: mg.exp([1.0, 2.0]), np.float32),
    (lambda: [[1.0, 2.0]] @ mg.ones(2, 2), np.float32),
    (lambda: mg.ones(2) + 1.0, np.float32),
    (lambda: mg.ones(2) * np.float64(2.0), np.float32),  # a NumPy scalar is a number
    (lambda: mg.ones(2) * mg.ones(2, dtype="float64"), np.float64),  # promotion, as torch
    (lambda: mg.ones(2) * np.ones(2), np.float64),  # a NumPy array keeps its dtype
    (lambda: mg.ones(2, dtype="float64") * [2.0, 3.0], np.float64),
])
def test_the_dtype_rule_for_lists_numbers_arrays_and_mixed_widths(make, dtype):
    assert make().dtype == dtype
