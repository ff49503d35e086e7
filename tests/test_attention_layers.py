"""The attention layers: gradients against finite differences (float64), and clear errors.

Parameters are checked as well as inputs. `mg.gradcheck` perturbs *copies* of its inputs,
so `check_module` passes every parameter in as an input and swaps it into the module for
the duration of the call; the module's own forward then runs on the perturbed values.
"""

import re

import numpy as np
import pytest

import minigrad as mg
from attention import (
    AttentionModel,
    Embedding,
    LayerNorm,
    LearnedPositionalEmbedding,
    Linear,
    MultiHeadAttention,
    SelfAttention,
    SinusoidalPositionalEncoding,
    cross_entropy,
    log_softmax,
    scaled_dot_product_attention,
    softmax,
    softmax_composite,
)


def f64(rng, *shape, name=None):
    """A float64 leaf that requires grad, drawn from N(0, 1)."""
    return mg.tensor(rng.standard_normal(shape), requires_grad=True, name=name)


def _owner(module, dotted):
    *path, attr = dotted.split(".")
    for part in path:
        module = getattr(module, part)
    return module, attr


def check_module(module, fn, *inputs, **kwargs):
    """gradcheck fn(*inputs) with respect to the float inputs AND every module parameter."""
    module.to("float64")
    names = [name for name, _ in module.named_parameters()]
    params = [mg.tensor(p.data, requires_grad=True, name=name)
              for name, p in module.named_parameters()]

    def call(*args):
        swapped = []
        for name, value in zip(names, args[:len(names)]):
            owner, attr = _owner(module, name)
            swapped.append((owner, attr, getattr(owner, attr)))
            object.__setattr__(owner, attr, value)  # bypass Module.__setattr__: keep registry
        try:
            return fn(*args[len(names):])
        finally:
            for owner, attr, original in swapped:
                object.__setattr__(owner, attr, original)

    return mg.gradcheck(call, *params, *inputs, **kwargs)


class DetachedLinear(Linear):
    """A planted fault: the weight is detached, so it never gets a gradient."""

    def forward(self, x):
        return x @ self.weight.detach() + self.bias


def test_check_module_catches_a_parameter_without_gradient(rng):
    # Shows check_module really perturbs the parameters, so the layer checks below can fail.
    lin = DetachedLinear(3, 2)
    with pytest.raises(mg.GradcheckError, match="input 0 'weight'"):
        check_module(lin, lin, f64(rng, 2, 3))


# ---- softmax, log_softmax ---------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("fn", [softmax, log_softmax, softmax_composite])
def test_softmax_family_gradcheck_along_each_axis(rng, fn, axis):
    x = f64(rng, 2, 3, 4)
    assert mg.gradcheck(lambda x: fn(x, axis=axis), x)


@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_sums_to_one_and_log_softmax_is_its_log(rng, axis):
    x = mg.tensor(rng.standard_normal((3, 5)) * 10)
    p = softmax(x, axis=axis).data
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-12)
    # atol: log(p) for p near 1 loses digits that log_softmax keeps.
    np.testing.assert_allclose(log_softmax(x, axis=axis).data, np.log(p), rtol=1e-12,
                               atol=1e-15)


def test_softmax_is_stable_for_huge_logits():
    # Without the max shift exp(1000) overflows to inf and the result is NaN.
    x = mg.tensor(np.array([[1000.0, 999.0, -1000.0]]))
    expected = np.exp([0.0, -1.0]) / np.exp([0.0, -1.0]).sum()
    np.testing.assert_allclose(softmax(x).data[0, :2], expected, rtol=1e-12)
    np.testing.assert_allclose(log_softmax(x).data[0, :2], np.log(expected), rtol=1e-12)
    assert np.isfinite(log_softmax(x).data).all()


@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_composite_equals_softmax_in_value_and_gradient(rng, axis):
    data = rng.standard_normal((3, 4)) * 5
    upstream = rng.standard_normal((3, 4))
    grads, values = [], []
    for fn in (softmax, softmax_composite):
        x = mg.tensor(data, requires_grad=True)
        y = fn(x, axis=axis)
        y.backward(upstream)  # a random upstream gradient, not just ones (whose VJP is 0)
        values.append(y.data)
        grads.append(x.grad)
    np.testing.assert_allclose(values[0], values[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-14)
    assert np.abs(grads[0]).max() > 1e-3  # the comparison is not between two zero arrays


def test_softmax_is_one_node_and_composite_is_several(rng):
    x = f64(rng, 2, 3)
    assert softmax(x).grad_fn.name == "softmax"
    assert softmax_composite(x).grad_fn.name != "softmax"


def test_softmax_of_fully_masked_row_is_zero_with_zero_gradient():
    x = mg.tensor(np.array([[-np.inf, -np.inf], [0.0, 1.0]]), requires_grad=True)
    y = softmax(x)
    y.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(y.data[0], 0.0)
    assert np.isfinite(x.grad).all()


# ---- cross_entropy ------------------------------------------------------------------------


def test_cross_entropy_gradcheck(rng):
    logits = f64(rng, 4, 5)
    targets = np.array([0, 4, 2, 2])
    assert mg.gradcheck(lambda z: cross_entropy(z, targets), logits)


def test_cross_entropy_gradcheck_with_mask_and_ignore_index(rng):
    logits = f64(rng, 2, 3, 4)
    targets = np.array([[1, -100, 3], [0, 2, -100]])
    mask = np.array([[True, True, False], [True, True, True]])
    assert mg.gradcheck(lambda z: cross_entropy(z, targets, mask=mask, ignore_index=-100),
                        logits)


def test_cross_entropy_excluded_positions_add_nothing(rng):
    logits_data = rng.standard_normal((4, 3))
    targets = np.array([0, -1, 2, 1])
    mask = np.array([True, True, True, False])
    logits = mg.tensor(logits_data, requires_grad=True)
    loss = cross_entropy(logits, targets, mask=mask, ignore_index=-1)
    loss.backward()
    # Only rows 0 and 2 count, and the mean is over those two.
    log_p = logits_data - np.log(np.exp(logits_data).sum(-1, keepdims=True))
    np.testing.assert_allclose(loss.data, -(log_p[0, 0] + log_p[2, 2]) / 2, rtol=1e-12)
    np.testing.assert_array_equal(logits.grad[[1, 3]], 0.0)
    assert np.abs(logits.grad[[0, 2]]).min() > 0


def test_cross_entropy_all_positions_ignored_is_zero_not_nan(rng):
    logits = f64(rng, 2, 3)
    loss = cross_entropy(logits, np.array([-1, -1]), ignore_index=-1)
    loss.backward()
    assert loss.item() == 0.0
    np.testing.assert_array_equal(logits.grad, 0.0)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = mg.tensor(np.array([[1e4, 0.0, -1e4]]), requires_grad=True)
    loss = cross_entropy(logits, np.array([1]))
    loss.backward()
    assert loss.item() == pytest.approx(1e4, rel=1e-12)
    np.testing.assert_allclose(logits.grad, [[1.0, -1.0, 0.0]], atol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's -inf - -inf warning
def test_cross_entropy_excluded_row_with_minus_inf_logit_adds_nothing():
    # The ignored row's placeholder target is class 0, whose logit is -inf.
    logits = mg.tensor(np.array([[-np.inf, 1.0, 2.0], [0.0, 1.0, 2.0]]), requires_grad=True)
    loss = cross_entropy(logits, np.array([-100, 1]), ignore_index=-100)
    expected = -(1.0 - np.log(np.exp([0.0, 1.0, 2.0]).sum()))
    assert loss.item() == pytest.approx(expected, rel=1e-12)


# ---- Linear, Embedding, LayerNorm, positions ------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck_input_and_parameters(rng, bias):
    lin = Linear(3, 2, bias=bias)
    assert len(lin.parameters()) == (2 if bias else 1)
    assert check_module(lin, lin, f64(rng, 2, 4, 3))


def test_linear_computes_x_at_weight_plus_bias(rng):
    lin = Linear(3, 2).to("float64")
    x = rng.standard_normal((5, 3))
    assert lin.weight.shape == (3, 2) and lin.bias.shape == (2,)
    np.testing.assert_allclose(lin(mg.tensor(x)).data, x @ lin.weight.data + lin.bias.data,
                               rtol=1e-12)


def test_embedding_gradcheck_weight(rng):
    emb = Embedding(5, 3)
    ids = np.array([[0, 4, 2], [2, 2, 1]])
    assert check_module(emb, lambda: emb(ids))


def test_embedding_repeated_ids_accumulate(rng):
    emb = Embedding(4, 2).to("float64")
    upstream = rng.standard_normal((2, 2))
    emb(np.array([1, 1])).backward(upstream)
    # Both uses of id 1 add into row 1; untouched rows get zero.
    np.testing.assert_allclose(emb.weight.grad[1], upstream.sum(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(emb.weight.grad[[0, 2, 3]], 0.0)


def test_embedding_accepts_integer_tensor_ids():
    emb = Embedding(4, 2)
    ids = mg.tensor(np.array([3, 0]))
    np.testing.assert_array_equal(emb(ids).data, emb.weight.data[[3, 0]])


def test_layernorm_gradcheck_input_and_parameters(rng):
    ln = LayerNorm(4)
    # Non-trivial weight and bias, so a gradient that ignores them would be caught.
    ln.weight.data = rng.standard_normal(4)
    ln.bias.data = rng.standard_normal(4)
    assert check_module(ln, ln, f64(rng, 2, 3, 4))


def test_layernorm_normalises_the_last_axis(rng):
    ln = LayerNorm(6).to("float64")
    y = ln(mg.tensor(rng.standard_normal((3, 6)) * 4 + 2)).data
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-4)  # eps=1e-5 shrinks it slightly


def test_sinusoidal_encoding_gradcheck_and_values(rng):
    pe = SinusoidalPositionalEncoding(d_model=5, max_len=10).to("float64")
    x = f64(rng, 2, 4, 5)
    assert pe.parameters() == []  # fixed, not trained
    assert mg.gradcheck(pe, x)
    added = pe(x).data - x.data
    np.testing.assert_allclose(added[0], added[1])  # the same table for every batch row
    pos, i = 3, 1  # column 2i is sin(pos / 10000^(2i/d)), column 2i+1 the cos
    # rtol 1e-6: the table is built as float32; to("float64") widens, it cannot add digits.
    np.testing.assert_allclose(added[0, pos, 2 * i], np.sin(pos / 10000 ** (2 * i / 5)),
                               rtol=1e-6)
    np.testing.assert_allclose(added[0, pos, 2 * i + 1], np.cos(pos / 10000 ** (2 * i / 5)),
                               rtol=1e-6)


def test_sinusoidal_encoding_distinguishes_positions():
    # Without it attention is permutation-equivariant; every position must differ.
    table = SinusoidalPositionalEncoding(d_model=8, max_len=16)(mg.zeros(16, 8)).data
    assert len({tuple(np.round(row, 6)) for row in table}) == 16


def test_learned_positional_embedding_gradcheck_input_and_weight(rng):
    pe = LearnedPositionalEmbedding(max_len=6, d_model=3)
    assert check_module(pe, pe, f64(rng, 2, 4, 3))


def test_learned_positional_embedding_grad_reaches_only_used_positions(rng):
    pe = LearnedPositionalEmbedding(max_len=6, d_model=3).to("float64")
    pe(f64(rng, 2, 4, 3)).sum().backward()
    np.testing.assert_allclose(pe.weight.grad[:4], 2.0)  # summed over the batch of 2
    np.testing.assert_array_equal(pe.weight.grad[4:], 0.0)


# ---- scaled dot-product attention -----------------------------------------------------------


def sdpa_out(**kwargs):
    return lambda q, k, v: scaled_dot_product_attention(q, k, v, **kwargs)[0]


def test_sdpa_gradcheck_no_mask(rng):
    q, k, v = f64(rng, 2, 3, 4), f64(rng, 2, 5, 4), f64(rng, 2, 5, 2)
    assert mg.gradcheck(sdpa_out(), q, k, v)


def test_sdpa_gradcheck_bool_mask(rng):
    q, k, v = f64(rng, 2, 3, 4), f64(rng, 2, 5, 4), f64(rng, 2, 5, 2)
    mask = rng.random((2, 3, 5)) < 0.6
    mask[..., 0] = True
    assert mg.gradcheck(sdpa_out(mask=mask), q, k, v)


def test_sdpa_gradcheck_causal(rng):
    q, k, v = f64(rng, 2, 4, 3), f64(rng, 2, 4, 3), f64(rng, 2, 4, 3)
    assert mg.gradcheck(sdpa_out(causal=True), q, k, v)


def test_sdpa_values_match_the_formula(rng):
    q, k, v = (rng.standard_normal((3, 4)), rng.standard_normal((5, 4)),
               rng.standard_normal((5, 2)))
    out, weights = scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v))
    scores = q @ k.T / np.sqrt(4)
    expected_w = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(weights.data, expected_w, rtol=1e-12)
    np.testing.assert_allclose(out.data, expected_w @ v, rtol=1e-12)


def test_sdpa_masked_and_future_keys_get_zero_weight(rng):
    q, k, v = f64(rng, 4, 3), f64(rng, 4, 3), f64(rng, 4, 3)
    _, weights = scaled_dot_product_attention(q, k, v, causal=True)
    np.testing.assert_array_equal(np.triu(weights.data, 1), 0.0)
    mask = np.array([True, False, True, False])  # broadcasts over queries
    _, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    np.testing.assert_array_equal(weights.data[:, [1, 3]], 0.0)
    np.testing.assert_allclose(weights.data.sum(-1), 1.0, rtol=1e-12)


def test_sdpa_fully_masked_row_gives_zero_output_and_finite_gradients(rng):
    q, k, v = f64(rng, 3, 2), f64(rng, 4, 2), f64(rng, 4, 2)
    mask = np.ones((3, 4), dtype=bool)
    mask[1] = False  # query 1 may look at nothing
    out, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    np.testing.assert_array_equal(out.data[1], 0.0)
    assert mg.gradcheck(sdpa_out(mask=mask), q, k, v)  # finite, and right, gradients


# ---- SelfAttention, MultiHeadAttention ------------------------------------------------------


@pytest.mark.parametrize("bias", [False, True])
def test_self_attention_gradcheck_input_and_parameters(rng, bias):
    attn = SelfAttention(d_model=4, head_dim=3, bias=bias)
    x = f64(rng, 2, 3, 4)
    assert check_module(attn, attn, x)
    assert attn(x).shape == (2, 3, 3)
    assert attn.attention_weights.shape == (2, 3, 3)


def test_self_attention_causal_gradcheck(rng):
    attn = SelfAttention(d_model=3)
    assert check_module(attn, lambda x: attn(x, causal=True), f64(rng, 1, 4, 3))


def test_mha_self_attention_gradcheck(rng):
    mha = MultiHeadAttention(d_model=4, n_heads=2)
    assert check_module(mha, mha, f64(rng, 2, 3, 4))
    assert mha.attention_weights.shape == (2, 2, 3, 3)


def test_mha_cross_attention_gradcheck_with_different_length_and_width(rng):
    mha = MultiHeadAttention(d_model=4, n_heads=2, context_dim=3)
    x, context = f64(rng, 2, 3, 4), f64(rng, 2, 5, 3)
    assert check_module(mha, lambda x, c: mha(x, context=c), x, context)
    # One output row per query; weights are (B, nh, T, S).
    assert mha(x, context=context).shape == (2, 3, 4)
    assert mha.attention_weights.shape == (2, 2, 3, 5)


def test_mha_with_key_padding_mask_gradcheck(rng):
    mha = MultiHeadAttention(d_model=4, n_heads=2)
    mask = np.ones((2, 1, 1, 3), dtype=bool)
    mask[1, ..., 2] = False  # the last key of batch row 1 is padding
    x = f64(rng, 2, 3, 4)
    assert check_module(mha, lambda x: mha(x, mask=mask), x)
    np.testing.assert_array_equal(mha.attention_weights[1, :, :, 2], 0.0)


def test_mha_padding_mask_makes_padded_keys_irrelevant(rng):
    mha = MultiHeadAttention(d_model=4, n_heads=2).to("float64")
    x = rng.standard_normal((1, 3, 4))
    mask = np.array([True, True, False]).reshape(1, 1, 1, 3)
    changed = x.copy()
    changed[0, 2] += 10.0  # rewrite the padded position
    y1 = mha(mg.tensor(x), mask=mask).data
    y2 = mha(mg.tensor(changed), mask=mask).data
    np.testing.assert_allclose(y1[0, :2], y2[0, :2], rtol=1e-12)  # the other queries agree


def test_mha_is_permutation_equivariant_without_positions(rng):
    mha = MultiHeadAttention(d_model=4, n_heads=2).to("float64")
    x = rng.standard_normal((1, 5, 4))
    perm = np.array([3, 0, 4, 1, 2])
    y = mha(mg.tensor(x)).data
    np.testing.assert_allclose(mha(mg.tensor(x[:, perm])).data, y[:, perm], rtol=1e-10)


# ---- the whole model ----------------------------------------------------------------------


@pytest.mark.parametrize("positional, layer_norm, ffn_hidden", [
    ("learned", True, 5),
    ("sinusoidal", False, 0),
    ("none", True, 0),
])
def test_attention_model_end_to_end_gradcheck(rng, positional, layer_norm, ffn_hidden):
    model = AttentionModel(vocab_size=5, n_classes=3, d_model=4, n_heads=2, n_layers=2,
                           max_len=6, positional=positional, layer_norm=layer_norm,
                           ffn_hidden=ffn_hidden)
    ids = rng.integers(0, 5, size=(2, 4))
    targets = rng.integers(0, 3, size=(2, 4))
    assert check_module(model, lambda: cross_entropy(model(ids), targets))


def test_attention_model_backward_reaches_every_parameter(rng):
    model = AttentionModel(vocab_size=5, n_classes=3, d_model=4, n_heads=2, n_layers=2,
                           positional="learned", layer_norm=True, ffn_hidden=5)
    ids = rng.integers(0, 5, size=(2, 4))
    logits = model(ids)
    assert logits.shape == (2, 4, 3)
    cross_entropy(logits, rng.integers(0, 3, size=(2, 4))).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.shape == param.shape, name
    assert model.embed.weight.grad[np.setdiff1d(np.arange(5), ids)].sum() == 0.0
    assert [m.shape for m in model.attention_maps()] == [(2, 2, 4, 4)] * 2


# ---- clear errors ---------------------------------------------------------------------------


def raises(error, message):
    """pytest.raises with the message matched literally (it names the layer and shapes)."""
    return pytest.raises(error, match=re.escape(message))


def test_linear_wrong_in_features():
    with raises(ValueError, "Linear: input of shape (2, 5) has 5 features in its last axis, "
                "but this layer expects 3"):
        Linear(3, 4)(mg.zeros(2, 5))


@pytest.mark.parametrize("bad", [7, -1])
def test_embedding_out_of_range_id(bad):
    with raises(IndexError, f"Embedding: token id {bad} is out of range for 5 embeddings "
                "(ids of shape (3,))"):
        Embedding(5, 2)(np.array([0, bad, 1]))


@pytest.mark.parametrize("ids", [np.array([0.0, 1.0]), mg.tensor([0.0, 1.0])])
def test_embedding_float_ids(ids):
    with raises(TypeError, "Embedding: ids must be integers, got dtype float"):
        Embedding(5, 2)(ids)


def test_cross_entropy_wrong_target_shape():
    with raises(ValueError, "cross_entropy: logits of shape (2, 3, 4) need targets of shape "
                "(2, 3), got (6,)"):
        cross_entropy(mg.zeros(2, 3, 4), np.zeros(6, dtype=int))


def test_cross_entropy_float_targets():
    with raises(TypeError, "cross_entropy: targets must be integers, got dtype float64"):
        cross_entropy(mg.zeros(2, 3), np.array([0.0, 1.0]))


@pytest.mark.parametrize("bad", [3, -2])
def test_cross_entropy_out_of_range_target(bad):
    with raises(IndexError, f"cross_entropy: target {bad} is out of range for 3 classes"):
        cross_entropy(mg.zeros(2, 3), np.array([0, bad]))


def test_cross_entropy_out_of_range_target_is_fine_when_ignored():
    loss = cross_entropy(mg.zeros(2, 3), np.array([0, -100]), ignore_index=-100)
    assert loss.item() == pytest.approx(np.log(3))


def test_mha_d_model_not_divisible_by_n_heads():
    with raises(ValueError, "MultiHeadAttention: d_model=10 is not divisible by n_heads=3"):
        MultiHeadAttention(10, 3)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5), (1, 2, 3, 4)])
def test_mha_wrong_x_shape(shape):
    with raises(ValueError, f"MultiHeadAttention: x of shape {shape} should be (B, T, 4)"):
        MultiHeadAttention(4, 2)(mg.zeros(*shape))


def test_sdpa_non_bool_mask():
    q = mg.zeros(2, 3)
    with raises(TypeError, "scaled_dot_product_attention: mask must be boolean "
                "(True = may attend), got dtype int64"):
        scaled_dot_product_attention(q, q, q, mask=np.ones((2, 2), dtype=np.int64))


@pytest.mark.parametrize("k_shape, v_shape", [((4, 5), (4, 2)), ((4, 3), (5, 2))])
def test_sdpa_mismatched_shapes(k_shape, v_shape):
    q = mg.zeros(2, 3)
    with raises(ValueError, f"scaled_dot_product_attention: q (2, 3), k {k_shape}, "
                f"v {v_shape} need at least 2 dimensions each, q and k sharing the last axis "
                "(d_k)"):
        scaled_dot_product_attention(q, mg.zeros(*k_shape), mg.zeros(*v_shape))


@pytest.mark.parametrize("layer", [SinusoidalPositionalEncoding(4, max_len=3),
                                   LearnedPositionalEmbedding(max_len=3, d_model=4)],
                         ids=lambda layer: type(layer).__name__)
def test_positional_longer_than_max_len(layer):
    with raises(ValueError, f"{type(layer).__name__}: input of shape (1, 4, 4) needs shape "
                "(..., T, 4) with T <= max_len=3"):
        layer(mg.zeros(1, 4, 4))


@pytest.mark.parametrize("width", [3, 10, 12, 15, 32])
def test_layernorm_of_a_constant_float32_row_is_exactly_zero(width):
    # As in PyTorch: no spread, nothing to normalise. The statistics are taken in float64,
    # where such a row's mean is exact; a float32 mean off by one rounding would give
    # outputs up to 0.5 (width 15, value 12345.678).
    norm = LayerNorm(width)
    rows = np.array([[v] * width for v in (0.1, 1 / 3, 7.3, 12345.678, 3e7)], np.float32)
    y = norm(mg.tensor(rows))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, 0.0)
