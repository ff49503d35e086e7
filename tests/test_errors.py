"""Bad input: every error names the op and the shapes or values it got.

Each case is a zero-argument callable that must raise; the pattern checks the message, not
only the type, because a learner reads the message to find the mistake.
"""

import re

import numpy as np
import pytest

import minigrad as mg
from attention import LayerNorm, Linear, MultiHeadAttention, cross_entropy
from attention import scaled_dot_product_attention as attend
from attention.language_model import CausalLM
from attention.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from attention.settings import TrainConfig
from minigrad.optim import SGD, Adam, clip_grad_norm_


def t(*shape, requires_grad=False, name=None):
    """A float32 tensor of ones with the given shape."""
    return mg.ones(*shape, requires_grad=requires_grad, name=name)


def backward_twice():
    y = (t(2, requires_grad=True) * 3).sum()
    y.backward()
    y.backward()


def set_data(x, value):
    x.data = value


def disown_a_graph_node():
    y = t(2, requires_grad=True) * 2
    y.requires_grad = False


# (call, exception type, regex the message must match)
CASES = [
    pytest.param(
        lambda: t(2, 3) @ t(4, 5), ValueError,
        re.escape("matmul: shapes (2, 3) and (4, 5) cannot be multiplied (3 != 4)"),
        id="matmul-inner-mismatch"),
    pytest.param(
        lambda: t(3) @ t(4, 2), ValueError,
        re.escape("matmul: shapes (3,) and (4, 2) cannot be multiplied (3 != 4)"),
        id="matmul-vector-mismatch"),
    pytest.param(
        lambda: mg.tensor(2.0) @ t(3), ValueError,
        r"matmul: both operands need at least one dimension, got shapes \(\) and \(3,\)",
        id="matmul-0d"),
    pytest.param(
        lambda: t(2, 3, 4) @ t(5, 4, 2), ValueError,
        r"^matmul: shapes \(2, 3, 4\) and \(5, 4, 2\) cannot be multiplied \(batch "
        r"dimensions \(2,\) and \(5,\)", id="matmul-batch-dims"),
    pytest.param(
        lambda: t(2, 3) + t(4), ValueError,
        r"^add: shapes \(2, 3\) and \(4,\) do not broadcast$", id="add-broadcast"),
    pytest.param(
        lambda: t(2, 3) * t(3, 2), ValueError,
        r"^mul: shapes \(2, 3\) and \(3, 2\) do not broadcast$", id="mul-broadcast"),
    pytest.param(
        lambda: t(2, 3).sum(axis=2), ValueError,
        re.escape("sum: axis 2 is out of range for a tensor of 2 dimensions (shape (2, 3))"),
        id="sum-axis"),
    pytest.param(
        lambda: t(2, 3).mean(axis=-3), ValueError,
        re.escape("mean: axis -3 is out of range for a tensor of 2 dimensions (shape (2, 3))"),
        id="mean-axis"),
    pytest.param(
        lambda: t(2, 3).max(axis=(0, 5)), ValueError,
        re.escape("max: axis 5 is out of range for a tensor of 2 dimensions (shape (2, 3))"),
        id="max-axis"),
    pytest.param(
        lambda: t(2, 3).sum(axis=(0, -2)), ValueError,
        re.escape("sum: axis (0, -2) repeats an axis (shape (2, 3))"), id="sum-repeated-axis"),
    pytest.param(
        lambda: t(0).max(), ValueError,
        re.escape("max: cannot reduce over an empty axis (axis 0 of shape (0,))"), id="max-empty"),
    pytest.param(
        lambda: t(2, 3).reshape(4, 2), ValueError,
        re.escape("reshape: cannot reshape a tensor of shape (2, 3) (6 elements) into "
                  "shape (4, 2)"),
        id="reshape-size"),
    pytest.param(
        lambda: t(2, 3).permute(0, 0), ValueError,
        re.escape("permute: axes (0, 0) are not a permutation of the 2 axes of a tensor of "
                  "shape (2, 3)"),
        id="permute-repeat"),
    pytest.param(
        lambda: t(2, 3).permute(0, 1, 2), ValueError,
        re.escape("permute: axes (0, 1, 2) are not a permutation of the 2 axes"),
        id="permute-too-many"),
    pytest.param(
        lambda: t(2, 3).swapaxes(0, 3), ValueError,
        re.escape("swapaxes: axis 3 is out of range for a tensor of 2 dimensions"),
        id="swapaxes-axis"),
    pytest.param(
        lambda: t(2, 3).broadcast_to(3, 3), ValueError,
        re.escape("broadcast_to: a tensor of shape (2, 3) cannot be broadcast to shape (3, 3)"),
        id="broadcast_to"),
    pytest.param(
        lambda: mg.concat([t(2, 3), t(3, 2)], axis=0), ValueError,
        re.escape("concat: shapes [(2, 3), (3, 2)] differ outside axis 0"),
        id="concat-shapes"),
    pytest.param(
        lambda: mg.concat([], axis=0), ValueError,
        "concat: needs at least one tensor", id="concat-empty"),
    pytest.param(
        lambda: mg.stack([t(2, 3), t(2, 4)]), ValueError,
        re.escape("stack: all tensors need the same shape, got [(2, 3), (2, 4)]"),
        id="stack-shapes"),
    pytest.param(
        lambda: mg.split(t(3, 2), [1, 1]), ValueError,
        re.escape("split: sizes [1, 1] add up to 2, but axis 0 of shape (3, 2) has length 3"),
        id="split-sizes"),
    pytest.param(
        lambda: t(3).split(0), ValueError,
        "split: size must be positive, got 0", id="split-zero"),
    pytest.param(
        lambda: mg.tensor(np.array([1, 2], dtype=np.int32), requires_grad=True), TypeError,
        r"requires_grad: .*floating-point.*dtype int32", id="requires_grad-int"),
    pytest.param(
        lambda: mg.arange(3).requires_grad_(), TypeError,
        r"requires_grad: .*dtype int", id="requires_grad_-int"),
    pytest.param(
        disown_a_graph_node, RuntimeError,
        r"requires_grad: .*produced by mul.*detach", id="requires_grad-off-non-leaf"),
    pytest.param(
        lambda: (t(2, 3, requires_grad=True) * 2).backward(np.ones((3, 2))), ValueError,
        re.escape("backward: gradient of shape (3, 2) does not match the output shape (2, 3)"),
        id="backward-gradient-shape"),
    pytest.param(
        lambda: (t(2, 3, requires_grad=True) * 2).backward(), RuntimeError,
        re.escape("backward: output of shape (2, 3) is not a scalar"),
        id="backward-non-scalar"),
    pytest.param(
        lambda: t(2).sum().backward(), RuntimeError,
        re.escape("backward: this tensor does not require grad and has no graph (shape ())"),
        id="backward-no-graph"),
    pytest.param(
        backward_twice, RuntimeError,
        r"backward: .*second time.*sum.*retain_graph=True", id="backward-twice"),
    pytest.param(
        lambda: t(3)[5], IndexError,
        re.escape("getitem: index 5 is out of bounds for axis 0 with size 3 "
                  "(input shapes (3,))"),
        id="getitem-out-of-range"),
    pytest.param(
        lambda: t(3)[[0, 3]], IndexError,
        r"^getitem: index 3 is out of bounds.*size 3", id="getitem-array-out-of-range"),
    pytest.param(
        lambda: t(2, 3)[np.array([True, False, True])], IndexError,
        r"^getitem: .*boolean index.*\(input shapes \(2, 3\)\)", id="getitem-mask-shape"),
    pytest.param(
        lambda: mg.where(np.array([1.0, 0.0]), t(2), t(2)), TypeError,
        "where: condition must be boolean, got dtype float64", id="where-non-bool"),
    pytest.param(
        lambda: t(2, 3).masked_fill(np.array([True, False, True, False]), 0.0), ValueError,
        re.escape("masked_fill: mask of shape (4,) does not broadcast to the tensor's "
                  "shape (2, 3)"),
        id="masked_fill-shape"),
    pytest.param(
        lambda: t(2, 3).masked_fill(np.array([1, 0, 1]), 0.0), TypeError,
        "masked_fill: mask must be boolean, got dtype int", id="masked_fill-non-bool"),
    pytest.param(
        lambda: t(1, 3).var(axis=0), ValueError,
        re.escape("var: 1 element(s) over axis 0 with correction=1 leaves no degrees of "
                  "freedom (shape (1, 3))"),
        id="var-too-few"),
    pytest.param(
        lambda: set_data(t(2, 3, name="x"), np.zeros(3)), ValueError,
        re.escape("data: cannot assign an array of shape (3,) to tensor 'x' of shape (2, 3)"),
        id="data-shape"),
    pytest.param(
        lambda: t(2, 3).item(), ValueError,
        r"item: only a tensor with one element .*got shape \(2, 3\)", id="item-multi"),
    pytest.param(
        lambda: bool(t(2, 3)), ValueError,
        r"bool: the truth value of a tensor of shape \(2, 3\) is ambiguous", id="bool-multi"),
    pytest.param(
        lambda: t(2, 3).clip(), ValueError,
        "clip: give at least one of min and max", id="clip-no-bounds"),
    pytest.param(
        lambda: mg.tensor([1, 2]) ** -1, ValueError,
        r"^pow: Integers to negative integer powers.*\(input shapes \(2,\)\)",
        id="pow-int-negative"),
    pytest.param(
        lambda: t(3).expand(-1, 3), ValueError, r"^broadcast_to: .*-1",
        id="expand-minus-one-in-new-axis"),
]


def _sgd_step_with_a_grad_set_by_hand():
    w = mg.zeros(2, 2, requires_grad=True, name="w")
    w.grad = np.ones(5)  # set by hand, of another shape
    SGD([w], lr=0.1).step()


def _module():
    return Linear(2, 2)


def _cross_entropy(**kwargs):
    return cross_entropy(t(4, 3), np.array([0, 1, 2, 1]), **kwargs)


# Inputs that would otherwise give a wrong or surprising result without a word.
CASES += [
    pytest.param(lambda: _module().to(np.int64), TypeError,
                 r"Linear.to: parameters must be floating point .* got int64", id="to-int64"),
    pytest.param(lambda: _module().to(np.complex128), TypeError,
                 r"Linear.to: parameters must be floating point .* got complex128",
                 id="to-complex128"),
    pytest.param(lambda: _cross_entropy(ignore_index=1.5), TypeError,
                 r"cross_entropy: ignore_index must be an integer class index, got 1.5",
                 id="ignore_index-float"),
    pytest.param(lambda: _cross_entropy(ignore_index="1"), TypeError,
                 r"cross_entropy: ignore_index must be an integer class index, got '1'",
                 id="ignore_index-str"),
    pytest.param(lambda: clip_grad_norm_(
        [mg.ones(2, requires_grad=True)], -1), ValueError,
        r"clip_grad_norm_: max_norm must be a positive number, got -1", id="clip-negative"),
    pytest.param(lambda: TrainConfig(clip=-1).resolved(), ValueError,
        r"TrainConfig: clip must be a positive number, got -1", id="trainconfig-clip"),
    pytest.param(lambda: CausalLM(10, n_layers=0), ValueError,
        r"CausalLM: n_layers must be a positive integer, got 0", id="causal-lm-no-layers"),
    pytest.param(lambda: SGD(
        [mg.ones(2, requires_grad=True)], lr=0.1, momentum=-1), ValueError,
        r"SGD: momentum must be a finite number >= 0, got -1", id="sgd-momentum-negative"),
    pytest.param(lambda: Adam(
        [mg.ones(2, requires_grad=True)], betas=(0.9, 1.5)), ValueError,
        r"Adam: betas\[1\] must be in \[0, 1\), got 1.5", id="adam-beta"),
    pytest.param(_sgd_step_with_a_grad_set_by_hand, ValueError,
                 re.escape("SGD.step: parameter 0 (w) of shape (2, 2) has a .grad of shape "
                           "(5,)"), id="optimizer-grad-shape"),
    pytest.param(lambda: t(2, 3).sum(axis=True), TypeError,
                 r"sum: axis must be None, an int or a tuple of ints, got True",
                 id="sum-axis-bool"),
]


@pytest.mark.parametrize("call, error, pattern", CASES)
def test_bad_input_raises_a_message_naming_the_op(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_matmul_message_is_exactly_the_documented_one():
    with pytest.raises(ValueError) as info:
        t(2, 3) @ t(4, 5)
    assert str(info.value) == "matmul: shapes (2, 3) and (4, 5) cannot be multiplied (3 != 4)"


def test_a_failed_op_leaves_its_inputs_untouched():
    # The error is raised in forward, before anything is recorded or modified.
    x = t(2, 3, requires_grad=True)
    with pytest.raises(ValueError):
        x @ t(4, 5)
    assert x.grad is None and x.is_leaf
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


def test_a_wrong_shaped_grad_set_by_hand_is_refused():
    p = mg.zeros(3, requires_grad=True, name="p")
    p.grad = np.zeros((2, 3))
    with pytest.raises(ValueError,
                       match=r"'p' of shape \(3,\) holds .grad = an array of shape \(2, 3\)"):
        (p * 1).sum().backward()


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


# ---- refused by name: options that would drop a gradient, shapes that must not broadcast,
# sizes that cannot work, values that are not numbers; a refused backward changes nothing,
# so it can be retried

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


def test_integer_logits_are_refused_rather_than_giving_an_integer_loss():
    with pytest.raises(TypeError, match="cross_entropy: logits must be floating point"):
        cross_entropy(mg.tensor([[1, 2, 4]]), [0])


@pytest.mark.parametrize("mask", [np.array([0.5, 1.0]), np.array([True]), np.ones((2, 2), bool)])
def test_a_cross_entropy_mask_must_be_boolean_of_the_targets_shape(mask):
    with pytest.raises(ValueError, match="cross_entropy: mask must be boolean"):
        cross_entropy(mg.ones(2, 3), [0, 1], mask=mask)


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


def test_iterating_a_0d_tensor_is_an_error_not_an_empty_list():
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(mg.tensor(3.0))
    rows = list(mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True))
    assert [r.data.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("make, message", [
    (lambda: MultiHeadAttention(8, 0), "MultiHeadAttention: n_heads must be a positive integer"),
    (lambda: MultiHeadAttention(8, -2), "MultiHeadAttention: n_heads must be a positive"),
    (lambda: Linear(0, 3), "Linear: in_features must be a positive"),
    (lambda: Linear(3, -1), "Linear: out_features must be a positive"),
    (lambda: __import__("attention").Embedding(-1, 2), "Embedding: num_embeddings must be"),
    (lambda: LayerNorm(0), "LayerNorm: d_model must be a positive integer"),
    (lambda: Linear(3, 2)(mg.tensor(1.0)), "Linear: input of shape "
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
