"""The tests of the course assignment, one marker per task: `python -m pytest -m task1_1`.

They check what each task teaches, against references that need no solution: an op's
backward against finite differences of its own forward (mg.check_function: no engine, no
other op), the engine on small graphs with known gradients, attention's values against a
short NumPy version of the formula and its gradients with mg.gradcheck, and the training
step with stand-ins that record what it did. The instructor's grader checks the same
behaviour on fresh inputs against its own solutions.

Tasks build on each other: the gradient tests of attention (2.2, 2.3) need your engine
(1.4) and your softmax backward (2.1) too.
"""

import importlib

import numpy as np
import pytest

import minigrad as mg
from minigrad.broadcast import unbroadcast
from minigrad.ops.arithmetic import Div
from minigrad.ops.elementwise import Exp, Log, Relu, Sigmoid, Sqrt, Tanh
from minigrad.ops.matmul import MatMul
from minigrad.ops.reduce import Max, Mean, Sum


def load(dotted: str):
    """`attention.softmax.Softmax` imported when a test runs, not when tests are collected:
    a broken attention/ file then fails the tasks that use it, not every task."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    x = rng.standard_normal(shape)
    return np.sign(x) * (np.abs(x) + 0.1)


# ---- Task 1.1: elementwise backward ------------------------------------------------------

@pytest.mark.task1_1
@pytest.mark.parametrize("op, inputs", [
    pytest.param(Div, lambda: (normal(2, 3), positive(2, 3)), id="div"),
    pytest.param(Exp, lambda: (normal(2, 3),), id="exp"),
    pytest.param(Log, lambda: (positive(2, 3),), id="log"),
    pytest.param(Sqrt, lambda: (positive(2, 3),), id="sqrt"),
    pytest.param(Tanh, lambda: (normal(2, 3),), id="tanh"),
    pytest.param(Sigmoid, lambda: (normal(2, 3) * 3,), id="sigmoid"),
    pytest.param(Relu, lambda: (away_from_zero(2, 3),), id="relu"),
])
def test_elementwise_backward(op, inputs):
    mg.check_function(op, *inputs())


# ---- Task 1.2: undoing broadcasting -------------------------------------------------------

@pytest.mark.task1_2
@pytest.mark.parametrize("grad_shape, shape, expected", [
    pytest.param((2, 3), (3,), lambda g: g.sum(axis=0), id="2x3->3"),
    pytest.param((2, 3), (2, 1), lambda g: g.sum(axis=1, keepdims=True), id="2x3->2x1"),
    pytest.param((2, 3), (1, 3), lambda g: g.sum(axis=0, keepdims=True), id="2x3->1x3"),
    pytest.param((4, 2, 3), (1, 3), lambda g: g.sum(axis=0).sum(axis=0, keepdims=True),
                 id="4x2x3->1x3"),
    pytest.param((4, 2, 3), (2, 1), lambda g: g.sum(axis=0).sum(axis=1, keepdims=True),
                 id="4x2x3->2x1"),
    pytest.param((2, 3), (), lambda g: g.sum(), id="2x3->scalar"),
    pytest.param((5, 1, 3), (1, 1), lambda g: g.sum(axis=0).sum(axis=1, keepdims=True),
                 id="5x1x3->1x1"),
])
def test_unbroadcast(grad_shape, shape, expected):
    grad = normal(*grad_shape)
    got = unbroadcast(grad, shape)
    assert isinstance(got, np.ndarray), f"unbroadcast returned {type(got).__name__}, not an array"
    assert got.shape == shape, f"unbroadcast from {grad_shape} to {shape} gave shape {got.shape}"
    np.testing.assert_allclose(got, expected(grad), err_msg=f"unbroadcast {grad_shape} -> {shape}")


# ---- Task 1.3: reductions and matmul -----------------------------------------------------

@pytest.mark.task1_3
@pytest.mark.parametrize("op, inputs, attrs", [
    pytest.param(Sum, lambda: (normal(2, 3),), {}, id="sum-all"),
    pytest.param(Sum, lambda: (normal(2, 3, 4),), {"axis": 1}, id="sum-axis1"),
    pytest.param(Sum, lambda: (normal(2, 3, 4),), {"axis": (0, 2), "keepdims": True},
                 id="sum-axes02-keepdims"),
    pytest.param(Mean, lambda: (normal(2, 3),), {}, id="mean-all"),
    pytest.param(Mean, lambda: (normal(2, 3, 4),), {"axis": -1}, id="mean-last-axis"),
    pytest.param(Max, lambda: (rng.permutation(12).reshape(3, 4) * 0.1,), {"axis": 1},
                 id="max-axis1"),
    pytest.param(Max, lambda: (rng.permutation(12).reshape(3, 4) * 0.1,), {}, id="max-all"),
    pytest.param(MatMul, lambda: (normal(2, 3), normal(3, 4)), {}, id="matmul-2d"),
    pytest.param(MatMul, lambda: (normal(3), normal(3, 4)), {}, id="matmul-vector-matrix"),
    pytest.param(MatMul, lambda: (normal(2, 3), normal(3)), {}, id="matmul-matrix-vector"),
    pytest.param(MatMul, lambda: (normal(3), normal(3)), {}, id="matmul-dot"),
    pytest.param(MatMul, lambda: (normal(2, 2, 3), normal(2, 3, 4)), {}, id="matmul-batched"),
])
def test_reduction_and_matmul_backward(op, inputs, attrs):
    mg.check_function(op, *inputs(), **attrs)


# ---- Task 1.4: the backward engine -------------------------------------------------------
# Only add, sub, mul and neg (given as examples) are used, with explicit output gradients.

def leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def ones_like(t):
    return np.ones(t.shape)


@pytest.mark.task1_4
def test_engine_a_plus_a_accumulates_both_uses():
    a = leaf([1.0, 2.0])
    y = a + a
    y.backward(ones_like(y))
    np.testing.assert_allclose(a.grad, [2.0, 2.0], err_msg="d(a + a)/da should be 2")


@pytest.mark.task1_4
def test_engine_diamond():
    a = leaf([1.0, -2.0, 3.0])
    b = a * 2
    c = a + 3
    d = b * c  # d = 2a(a + 3): dd/da = 4a + 6
    d.backward(ones_like(d))
    np.testing.assert_allclose(a.grad, 4 * a.data + 6, err_msg="diamond b = 2a, c = a + 3")


@pytest.mark.task1_4
def test_engine_waits_for_every_consumer_before_passing_a_gradient_on():
    # h is used by two nodes created far apart: its gradient is complete only after both.
    x = leaf([0.5, 1.5])
    h = x * x
    long = h
    for _ in range(5):
        long = long * 1.0
    y = long + h * 3  # y = 4 x^2: dy/dx = 8x
    y.backward(ones_like(y))
    np.testing.assert_allclose(x.grad, 8 * x.data)
    np.testing.assert_allclose(h.grad, [4.0, 4.0], err_msg="intermediates keep their .grad")


@pytest.mark.task1_4
def test_engine_three_branches_and_subtraction():
    a = leaf([2.0])
    y = a * 3 - a * a + (-a)  # dy/da = 3 - 2a - 1
    y.backward(ones_like(y))
    np.testing.assert_allclose(a.grad, 2 - 2 * a.data)


@pytest.mark.task1_4
def test_engine_accumulates_over_calls_and_frees_the_graph():
    a = leaf([1.0, 2.0])
    y = a * a
    y.backward(ones_like(y), retain_graph=True)
    y.backward(ones_like(y))
    np.testing.assert_allclose(a.grad, 4 * a.data, err_msg="two backward calls add up")
    with pytest.raises(RuntimeError, match="second time"):
        y.backward(ones_like(y))


@pytest.mark.task1_4
def test_engine_sums_a_broadcast_bias_back_to_its_shape():
    x, w, b = leaf(normal(4, 3)), leaf(normal(3, 2)), leaf(normal(2))
    y = x @ w + b  # b (2,) is added to every row of the (4, 2) batch
    y.backward(ones_like(y))
    assert b.grad.shape == (2,), f"b.grad should have b's shape (2,), got {b.grad.shape}"
    np.testing.assert_allclose(b.grad, [4.0, 4.0], err_msg="each row adds 1 to b's gradient")
    np.testing.assert_allclose(w.grad, x.data.T @ np.ones((4, 2)))


@pytest.mark.task1_4
def test_engine_handles_a_long_chain_without_recursion():
    x = leaf([1.0])
    y = x
    for _ in range(20_000):
        y = y + 0.0
    y.backward(ones_like(y))
    np.testing.assert_allclose(x.grad, [1.0])


# ---- Task 2.1: softmax and cross-entropy -------------------------------------------------

@pytest.mark.task2_1
@pytest.mark.parametrize("op, inputs, attrs", [
    pytest.param("attention.softmax.Softmax", lambda: (normal(3, 4),), {"axis": -1},
                 id="softmax-last-axis"),
    pytest.param("attention.softmax.Softmax", lambda: (normal(3, 4) * 5,), {"axis": 0},
                 id="softmax-axis0"),
    pytest.param("attention.softmax.LogSoftmax", lambda: (normal(3, 4),), {"axis": -1},
                 id="log_softmax"),
    pytest.param("attention.softmax.LogSoftmax", lambda: (normal(2, 3, 4),), {"axis": 1},
                 id="log_softmax-axis1"),
    pytest.param("attention.losses.CrossEntropy",
                 lambda: (normal(4, 5), np.array([0, 4, 2, 2]),
                          np.array([True, True, False, True])), {},
                 id="cross_entropy-with-mask"),
])
def test_softmax_and_cross_entropy_backward(op, inputs, attrs):
    mg.check_function(load(op), *inputs(), **attrs)


# ---- Task 2.2: scaled dot-product attention ----------------------------------------------

def reference_attention(q, k, v, allowed=None):
    """softmax(q k^T / sqrt(d)) v in NumPy, with fully masked rows giving zeros."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    top = np.max(scores, axis=-1, keepdims=True)
    e = np.exp(scores - np.where(np.isfinite(top), top, 0))
    total = e.sum(axis=-1, keepdims=True)
    weights = e / np.where(total == 0, 1, total)
    return weights @ v, weights


def sdpa_case(mask_kind):
    q, k, v = normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 6)
    if mask_kind == "none":
        return q, k, v, None, False, None
    if mask_kind == "boolean":
        mask = rng.random((2, 3, 5)) < 0.6
        mask[..., 0] = True  # every query may look at something
        return q, k, v, mask, False, mask
    if mask_kind == "causal":
        return q, k, v, None, True, np.tril(np.ones((3, 5), dtype=bool))
    mask = np.ones((2, 3, 5), dtype=bool)
    mask[1, 2] = False  # one query with nothing to attend to
    return q, k, v, mask, False, mask


@pytest.mark.task2_2
@pytest.mark.parametrize("mask_kind", ["none", "boolean", "causal", "fully-masked-row"])
def test_scaled_dot_product_attention(mask_kind):
    q, k, v, mask, causal, allowed = sdpa_case(mask_kind)
    attend = load("attention.attention.scaled_dot_product_attention")
    with mg.no_grad():
        out, weights = attend(mg.tensor(q), mg.tensor(k), mg.tensor(v), mask=mask,
                              causal=causal)
    expected_out, expected_weights = reference_attention(q, k, v, allowed)
    assert weights.shape == (2, 3, 5), f"weights should be (B, T, S), got {weights.shape}"
    np.testing.assert_allclose(weights.data, expected_weights, rtol=1e-6, atol=1e-9,
                               err_msg=f"attention weights ({mask_kind})")
    np.testing.assert_allclose(out.data, expected_out, rtol=1e-6, atol=1e-9,
                               err_msg=f"attention output ({mask_kind})")


@pytest.mark.task2_2
def test_scaled_dot_product_attention_uses_a_given_scale():
    q, k, v = normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 6)
    attend = load("attention.attention.scaled_dot_product_attention")
    with mg.no_grad():
        out, _ = attend(mg.tensor(q), mg.tensor(k), mg.tensor(v), scale=0.3)
    # The reference divides by sqrt(d); scaling q first gives 0.3 * q k^T.
    expected, _ = reference_attention(q * 0.3 * np.sqrt(4), k, v)
    np.testing.assert_allclose(out.data, expected, rtol=1e-6, err_msg="scale=0.3 ignored?")


@pytest.mark.task2_2
@pytest.mark.parametrize("mask_kind", ["none", "causal", "fully-masked-row"])
def test_gradients_flow_through_attention_to_q_k_and_v(mask_kind):
    q, k, v, mask, causal, _ = sdpa_case(mask_kind)
    attend = load("attention.attention.scaled_dot_product_attention")
    tensors = [mg.tensor(a, requires_grad=True) for a in (q, k, v)]
    out, _ = attend(*tensors, mask=mask, causal=causal)
    assert out.requires_grad, ("no gradient can reach q, k or v: build the output with "
                               "minigrad operations, not NumPy on .data")
    mg.gradcheck(lambda q, k, v: attend(q, k, v, mask=mask, causal=causal)[0], *tensors)


# ---- Task 2.3: multi-head attention --------------------------------------------------------

def stand_in_attention(q, k, v, mask=None, causal=False):
    """Scaled dot-product attention from the NumPy reference (so this task does not
    depend on task 2.2's answer)."""
    allowed = None if mask is None else np.asarray(mask)
    if causal:
        tril = np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool))
        allowed = tril if allowed is None else allowed & tril
    out, weights = reference_attention(q.data, k.data, v.data, allowed)
    return mg.tensor(out), mg.tensor(weights)


def reference_multihead(mha, x, context, mask):
    def project(layer, inp):
        return inp @ layer.weight.data + layer.bias.data

    B, T, C = x.shape
    S, H = context.shape[1], mha.n_heads
    q = project(mha.q_proj, x).reshape(B, T, H, C // H).transpose(0, 2, 1, 3)
    k = project(mha.k_proj, context).reshape(B, S, H, C // H).transpose(0, 2, 1, 3)
    v = project(mha.v_proj, context).reshape(B, S, H, C // H).transpose(0, 2, 1, 3)
    out, weights = reference_attention(q, k, v, mask)
    merged = out.transpose(0, 2, 1, 3).reshape(B, T, C)
    return project(mha.out_proj, merged), weights


@pytest.mark.task2_3
@pytest.mark.parametrize("kind", ["self", "cross", "padding-mask"])
def test_multihead_attention(kind, monkeypatch):
    multihead = importlib.import_module("attention.multihead")
    monkeypatch.setattr(multihead, "scaled_dot_product_attention", stand_in_attention)
    mg.manual_seed(1)
    mha = multihead.MultiHeadAttention(8, 2).to("float64")
    x = normal(2, 3, 8)
    context = normal(2, 5, 8) if kind == "cross" else x
    mask = None
    if kind == "padding-mask":
        mask = np.ones((2, 1, 1, 3), dtype=bool)
        mask[1, ..., 2] = False  # the second sequence's last token is padding
    with mg.no_grad():
        y = mha(mg.tensor(x), context=None if kind != "cross" else mg.tensor(context),
                mask=mask)
    expected, weights = reference_multihead(mha, x, context, mask)
    assert y.shape == (2, 3, 8), f"output should be (B, T, d_model) = (2, 3, 8), got {y.shape}"
    np.testing.assert_allclose(y.data, expected, rtol=1e-6, atol=1e-9,
                               err_msg=f"multi-head attention output ({kind})")
    assert mha.attention_weights is not None, "keep the weights in mha.attention_weights"
    np.testing.assert_allclose(mha.attention_weights, weights, rtol=1e-6, atol=1e-9,
                               err_msg="mha.attention_weights should be (B, heads, T, S)")


@pytest.mark.task2_3
@pytest.mark.parametrize("kind", ["self", "cross"])
def test_gradients_flow_through_multihead_attention(kind):
    multihead = importlib.import_module("attention.multihead")
    mg.manual_seed(2)
    mha = multihead.MultiHeadAttention(4, 2).to("float64")
    x = mg.tensor(normal(1, 3, 4), requires_grad=True)
    context = mg.tensor(normal(1, 2, 4), requires_grad=True) if kind == "cross" else None
    y = mha(x, context=context)
    assert y.requires_grad, "no gradient can reach x: use minigrad operations throughout"
    y.sum().backward()
    for name, p in mha.named_parameters():
        assert p.grad is not None, f"no gradient reached {name}"
    inputs = [x] if context is None else [x, context]
    mg.gradcheck(lambda *a: mha(a[0], context=a[1] if len(a) > 1 else None), *inputs)


# ---- Task 2.4: the training loop ---------------------------------------------------------

class Recorder:
    """Stand-ins for the model, its parameters, the loss and the optimizer that record what
    the training step did with them, and behave like the real ones where it matters:
    backward adds this batch's gradient to whatever .grad holds, zero_grad clears it."""

    def __init__(self):
        self.param = type("Parameter", (), {"grad": None})()
        self.log, self.seen = [], {}

    # the model
    def __call__(self, batch_ids):
        self.log.append("forward")
        self.seen["ids"] = np.asarray(batch_ids)
        return "logits"

    def parameters(self):
        return [self.param]

    # the loss
    def cross_entropy(self, logits, targets, mask=None):
        self.log.append("loss")
        self.seen["loss inputs"] = (logits, np.asarray(targets), np.asarray(mask))
        recorder = self

        class Loss:
            def backward(self, **options):
                recorder.log.append("backward")
                fresh = np.full(3, float(len(recorder.log)))  # this batch's gradient
                recorder.seen["fresh"] = fresh
                g = recorder.param.grad
                recorder.param.grad = fresh if g is None else g + fresh

            def item(self):
                return 0.25

        return Loss()

    def clip(self, params, max_norm):
        self.log.append("clip")
        self.seen["clip"] = (list(params), max_norm, None if self.param.grad is None
                             else self.param.grad.copy())

    # the optimizer
    lr = None

    def zero_grad(self):
        self.log.append("zero_grad")
        self.param.grad = None

    def step(self):
        self.log.append("step")
        self.seen["stepped with"] = None if self.param.grad is None else self.param.grad.copy()


@pytest.mark.task2_4
def test_training_step_forward_loss_backward_clip_step(monkeypatch):
    train_module = importlib.import_module("attention.train")
    ids = np.arange(40).reshape(10, 4)
    targets, mask = ids % 3, ids % 2 == 0
    recorder = Recorder()
    monkeypatch.setattr(train_module, "cross_entropy", recorder.cross_entropy)
    monkeypatch.setattr(train_module, "clip_grad_norm_", recorder.clip)
    config = train_module.TrainConfig(task="pair", batch_size=6).resolved()
    sampler = np.random.default_rng(0)
    for _ in range(2):  # a second step shows whether the old gradient was cleared
        loss = train_module.optimizer_step(config, recorder, recorder, sampler,
                                           (ids, targets, mask))
        assert loss == 0.25, "return the batch loss as a float (loss.item())"
        stepped = recorder.seen.get("stepped with")
        assert stepped is not None, f"the optimizer never stepped with a gradient: {recorder.log}"
        np.testing.assert_array_equal(
            stepped, recorder.seen["fresh"], err_msg="the step must see this batch's gradient "
            "only: clear the old one (optimizer.zero_grad()) before backward")
        params, max_norm, clipped = recorder.seen["clip"]
        assert params == [recorder.param] and max_norm == config.clip, \
            "clip_grad_norm_(model.parameters(), config.clip)"
        assert clipped is not None, "clip after backward, when the gradients exist"
        assert recorder.log.index("clip") < len(recorder.log) - 1 and \
            recorder.log[-1] in ("step", "zero_grad"), f"clip, then step: {recorder.log}"
        recorder.log.clear()
    replay = np.random.default_rng(0)
    replay.integers(0, 10, size=6)  # the first step's batch
    second = replay.integers(0, 10, size=6)
    np.testing.assert_array_equal(recorder.seen["ids"], ids[second],
                                  err_msg="draw the batch with sampler.integers(0, len(ids), "
                                  "size=config.batch_size)")
    logits, batch_targets, batch_mask = recorder.seen["loss inputs"]
    assert logits == "logits", "the loss takes the model's output"
    np.testing.assert_array_equal(batch_targets, targets[second],
                                  err_msg="targets of the same rows")
    np.testing.assert_array_equal(batch_mask, mask[second], err_msg="mask of the same rows")
