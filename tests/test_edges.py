"""Nothing silent at the edges: gradients where an infinite gradient meets a 0/1 mask,
options that could not pass a gradient on, shapes that must not broadcast, and grad mode
that stays with its thread and its generator."""


import numpy as np
import pytest

import minigrad as mg
from attention import LayerNorm, MultiHeadAttention, cross_entropy
from attention import scaled_dot_product_attention as attend
from attention.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding

# ---- an infinite upstream gradient meets a mask ------------------------------------------------

KINKED = {
    "relu": (lambda t: t.relu(), lambda t: t.relu()),
    "clip": (lambda t: t.clip(0.0, 2.0), lambda t: t.clamp(0.0, 2.0)),
    "maximum": (lambda t: t.maximum(mg.tensor([0.0, 0.0], dtype="float64")),
                lambda t: t.maximum(t.new_zeros(2))),
    "minimum": (lambda t: -t.minimum(mg.tensor([0.0, 0.0], dtype="float64")),
                lambda t: -t.minimum(t.new_zeros(2))),
}
MASKED = {"relu": 0, "clip": 0, "maximum": 0, "minimum": 1}  # the element the mask stops


@pytest.mark.parametrize("op", KINKED)
def test_an_infinite_gradient_stops_at_a_mask_as_in_pytorch(op):
    # sqrt's gradient at 0 is inf; where the mask is 0 the result must be 0, not inf * 0.
    x = mg.tensor([-1.0, 4.0], dtype="float64", requires_grad=True)
    (KINKED[op][0](x) ** 0.5).sum().backward()
    assert np.isfinite(x.grad).all() and x.grad[MASKED[op]] == 0, x.grad


@pytest.mark.oracle
@pytest.mark.parametrize("op", KINKED)
def test_an_infinite_gradient_at_a_mask_matches_pytorch(op, torch_oracle):
    torch = torch_oracle
    values = [-1.0, 4.0]
    ours = mg.tensor(values, dtype="float64", requires_grad=True)
    theirs = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (KINKED[op][0](ours) ** 0.5).sum().backward()
    (KINKED[op][1](theirs) ** 0.5).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


# ---- gradients that could go missing are refused by name ----------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda x: x * 1j, "mul: complex numbers are not supported"),
    (lambda x: mg.tensor([1j, 2.0]), "tensor: complex numbers are not supported"),
    (lambda x: x.clip(mg.tensor(0.5, requires_grad=True)), "clip: min is a tensor that "
     "requires grad"),
    (lambda x: mg.clip(x, max=mg.tensor(0.5, requires_grad=True)), "clip: max is a tensor"),
    (lambda x: x.masked_fill(np.array([True, False]), mg.tensor(1.0, requires_grad=True)),
     "masked_fill: value is a tensor that requires grad"),
    (lambda x: mg.masked_fill(x, np.array([True, False]),
                              value=mg.tensor(1.0, requires_grad=True)), "masked_fill: value"),
    (lambda x: mg.tensor([x, x]), "use mg.stack"),
])
def test_an_operand_whose_gradient_would_be_dropped_is_refused(make, message):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=message):
        make(x)


def test_a_list_of_tensors_without_gradients_makes_a_tensor_of_their_values():
    t = mg.tensor([mg.tensor(1.0), mg.tensor(2.0)])
    assert t.dtype == np.float32 and t.data.tolist() == [1.0, 2.0]


def test_integer_logits_are_refused_rather_than_giving_an_integer_loss():
    with pytest.raises(TypeError, match="cross_entropy: logits must be floating point"):
        cross_entropy(mg.tensor([[1, 2, 4]]), [0])


@pytest.mark.parametrize("mask", [np.array([0.5, 1.0]), np.array([True]), np.ones((2, 2), bool)])
def test_a_cross_entropy_mask_must_be_boolean_of_the_targets_shape(mask):
    with pytest.raises(ValueError, match="cross_entropy: mask must be boolean"):
        cross_entropy(mg.ones(2, 3), [0, 1], mask=mask)


# ---- shapes that must not broadcast ------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: LayerNorm(4)(mg.ones(2, 1)), r"LayerNorm\(4\): input of shape \(2, 1\)"),
    (lambda: SinusoidalPositionalEncoding(4, 8)(mg.ones(2, 3, 1)),
     "SinusoidalPositionalEncoding: input of shape"),
    (lambda: LearnedPositionalEmbedding(8, 4)(mg.ones(2, 3, 1)),
     "LearnedPositionalEmbedding: input of shape"),
    (lambda: attend(mg.ones(2, 4, 4), mg.ones(2, 4, 4), mg.ones(2, 4, 4),
                    mask=np.ones((5, 2, 4, 4), bool)), "mask of shape .* does not broadcast"),
    (lambda: MultiHeadAttention(8, 2)(mg.ones(2, 3, 8), context=mg.ones(1, 3, 8)),
     "context of shape"),
    (lambda: mg.ones(2).masked_fill(np.ones((2, 2), bool), 0.0), "masked_fill: mask of shape"),
    (lambda: mg.split(mg.ones(4), [3, -1, 2]), "split: sizes must be non-negative"),
    (lambda: mg.ones(2, requires_grad=True).clip(np.zeros((3, 2))),
     r"clip: min of shape \(3, 2\) does not fit"),
])
def test_a_shape_that_would_silently_broadcast_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- grad mode belongs to its generator (per thread: tests/test_architecture.py) -----------

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


# ---- a refused backward changes nothing, so it can be retried ---------------------------------

@pytest.mark.parametrize("bad_grad, message", [
    (0, r"holds .grad = 0 \(int\); set it to None"),
    (np.zeros(3), r"holds .grad = an array of shape \(3,\)"),
])
def test_a_bad_grad_on_a_leaf_is_refused_before_anything_is_freed(bad_grad, message):
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = ((w * w).exp() * 3.0).sum()
    w.grad = bad_grad
    with pytest.raises(ValueError, match=message):
        loss.backward()
    w.grad = None
    loss.backward()  # the retry works: nothing was freed by the refused one
    np.testing.assert_allclose(w.grad, 6 * w.data * np.exp(w.data ** 2), rtol=1e-6)


# ---- empty axes, as PyTorch -----------------------------------------------------------------

def test_softmax_and_attention_over_empty_axes_give_empty_results():
    from attention import log_softmax, softmax

    for f in (softmax, log_softmax):
        x = mg.ones(2, 0, requires_grad=True)
        y = f(x)
        y.sum().backward()
        assert y.shape == (2, 0) and x.grad.shape == (2, 0)
    x = mg.ones(2, 0, 8, requires_grad=True)
    y = MultiHeadAttention(8, 2)(x)
    y.sum().backward()
    assert y.shape == (2, 0, 8) and x.grad.shape == (2, 0, 8)


def test_iterating_a_0d_tensor_is_an_error_not_an_empty_list():
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(mg.tensor(3.0))
    rows = list(mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True))
    assert [r.data.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]


# ---- sizes and ranks refused by name -----------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: MultiHeadAttention(8, 0), "MultiHeadAttention: n_heads must be a positive integer"),
    (lambda: MultiHeadAttention(8, -2), "MultiHeadAttention: n_heads must be a positive"),
    (lambda: __import__("attention").Linear(0, 3), "Linear: in_features must be a positive"),
    (lambda: __import__("attention").Linear(3, -1), "Linear: out_features must be a positive"),
    (lambda: __import__("attention").Embedding(-1, 2), "Embedding: num_embeddings must be"),
    (lambda: LayerNorm(0), "LayerNorm: d_model must be a positive integer"),
    (lambda: __import__("attention").Linear(3, 2)(mg.tensor(1.0)), "Linear: input of shape "
     r"\(\) is 0-d"),
    (lambda: attend(mg.tensor(1.0), mg.ones(2), mg.ones(2)), "scaled_dot_product_attention: "
     r"q \(\), k \(2,\)"),
])
def test_a_size_or_rank_that_cannot_work_is_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_strings_and_objects_are_refused_and_an_empty_axis_tuple_sums_nothing():
    for bad in ("abc", [{"a": 1}]):
        with pytest.raises(TypeError, match="tensor: values of dtype .* are not supported"):
            mg.tensor(bad)
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(axis=()).data.tolist() == x.data.tolist()  # as NumPy (documented)


# ---- found by attacking the above ---------------------------------------------------------------

def test_a_grad_of_strings_or_a_complex_gradient_is_refused_before_anything_runs():
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * w).sum()
    w.grad = np.array(["a", "b"])
    with pytest.raises(ValueError, match="dtype <U1"):
        loss.backward()
    w.grad = None
    y = w * 2.0
    with pytest.raises(TypeError, match="the gradient must hold real numbers"):
        y.backward(np.array([1 + 1j, 1.0]))
    loss.backward()  # nothing was freed by either refusal
    np.testing.assert_allclose(w.grad, 2 * w.data)


def test_a_fill_value_bigger_than_the_tensor_is_refused():
    with pytest.raises(ValueError, match=r"masked_fill: value of shape \(5, 2\) does not fit"):
        mg.ones(2).masked_fill(np.array([True, False]), np.zeros((5, 2)))


def test_an_optimizer_refuses_a_learning_rate_that_is_not_finite():
    from minigrad.nn import Parameter
    from minigrad.optim import SGD, Adam

    for optimizer, lr in ((Adam, float("nan")), (SGD, float("inf"))):
        with pytest.raises(ValueError, match="learning rate must be a finite positive"):
            optimizer([Parameter(np.zeros(2))], lr=lr)


@pytest.mark.oracle
@pytest.mark.parametrize("op", ["relu", "maximum", "minimum"])
def test_a_nan_input_passes_its_gradient_on_as_in_pytorch(op, torch_oracle):
    torch = torch_oracle
    values = [np.nan, 1.0, -1.0]
    ours = mg.tensor(values, dtype="float64", requires_grad=True)
    theirs = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    if op == "relu":
        ours.relu().sum().backward()
        theirs.relu().sum().backward()
    else:
        zero = mg.tensor([0.0, 0.0, 0.0], dtype="float64")
        getattr(ours, op)(zero).sum().backward()
        getattr(torch, op)(theirs, torch.zeros(3, dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.tensor([[1, 2], [3]]), ValueError, "tensor: nested lists of different"),
    (lambda: __import__("attention").softmax(mg.ones(3), axis=5), ValueError,
     "softmax: axis 5 is out of range"),
    (lambda: mg.split(mg.ones(4), 2.0), TypeError, "split: give a size"),
    (lambda: __import__("attention.positional").positional.SinusoidalPositionalEncoding(
        4, max_len=-1), ValueError, "max_len must be a positive integer"),
    (lambda: mg.zeros(0, 3).max(axis=0), ValueError, "max: cannot reduce over an empty axis"),
])
def test_more_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_max_over_a_non_empty_axis_of_an_empty_tensor_is_empty_as_in_pytorch():
    x = mg.zeros(0, 3, requires_grad=True)
    y = x.max(axis=1)
    y.sum().backward()
    assert y.shape == (0,) and x.grad.shape == (0, 3)


# ---- dtypes: a list next to a tensor is what mg.tensor(list) would be ------------------------

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
