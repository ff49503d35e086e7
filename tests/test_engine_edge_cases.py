"""Edge cases found in review: each was once wrong, and each test pins the fix."""

import numpy as np
import pytest

import minigrad as mg


def leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


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


def test_a_wrong_shaped_grad_set_by_hand_is_refused():
    p = mg.zeros(3, requires_grad=True, name="p")
    p.grad = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"'p' of shape \(3,\) holds a \.grad of shape \(2, 3\)"):
        (p * 1).sum().backward()


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


def test_an_error_inside_a_backward_names_the_op_and_shapes():
    class Broken(mg.Function):
        name = "broken"

        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad @ np.ones((5, 5))  # wrong shapes on purpose

    x = mg.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"broken\.backward failed: .*incoming gradient "
                                           r"\(2, 3\), input shapes \(2, 3\)"):
        Broken.apply(x).sum().backward()


def test_tensor_bounds_and_fill_values_are_accepted():
    x = mg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = x.clip(min=mg.zeros(3), max=mg.ones(3))
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    z = x.masked_fill(np.array([True, False, False]), mg.tensor(9.0))
    np.testing.assert_array_equal(z.data, [9.0, 0.5, 2.0])


def test_an_op_that_would_make_python_objects_is_refused():
    class ReturnsTensor(mg.Function):
        name = "returns_tensor"

        @staticmethod
        def forward(ctx, a):
            return np.array([mg.tensor(1.0)], dtype=object)

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(TypeError, match="returns_tensor: produced an array of Python objects"):
        ReturnsTensor.apply(mg.ones(1))


def test_adding_a_string_gives_a_named_error():
    with pytest.raises(TypeError, match="^add: "):
        mg.ones(2) + "a"


def test_gradcheck_treats_a_nan_finite_difference_as_a_mismatch():
    class ZeroGradSqrt(mg.Function):
        name = "zero_grad_sqrt"

        @staticmethod
        def forward(ctx, a):
            return np.sqrt(a)

        @staticmethod
        def backward(ctx, grad):
            return grad * 0.0

    x = mg.tensor(np.array([5e-7]), requires_grad=True)  # x - eps < 0: sqrt gives NaN
    with np.errstate(invalid="ignore"), pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda a: ZeroGradSqrt.apply(a), x, fast=False)


def test_intermediate_grads_can_be_left_out_for_training():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (h * h).backward(np.ones(2), intermediate_grads=False)
    assert h.grad is None  # not kept
    np.testing.assert_allclose(x.grad, 18 * x.data)  # leaves still get theirs
    y = x * 3
    (y * y).backward(np.ones(2))
    assert y.grad is not None  # kept by default, for inspection and drawings
