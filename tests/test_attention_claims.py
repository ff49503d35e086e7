"""The lecture notes' claims about self-attention, each demonstrated with the attention package.

Every test says which claim it checks. Layers are compared in float64 so that "equal" can
use tight tolerances (1e-12); statistical claims use fixed seeds and enough samples that
the stated tolerance is many standard errors wide. The trained-model claims train the toy
tasks with their defaults (a second or two each) once per module and reuse the runs.
"""

import numpy as np
import pytest

import minigrad as mg
from attention import (
    AttentionModel,
    MultiHeadAttention,
    SelfAttention,
    scaled_dot_product_attention,
    softmax,
)
from attention.attention import causal_mask
from attention.tasks import MONEY, RIVER, make_splits, make_task
from attention.train import TrainConfig, build_model, train
from minigrad.io import load_checkpoint

TIGHT = dict(rtol=0, atol=1e-12)  # float64 comparisons of mathematically equal results


def f64(rng, *shape, requires_grad=False):
    return mg.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def mha64(d_model=8, n_heads=2, bias=True, seed=0, **kwargs):
    mg.manual_seed(seed)
    return MultiHeadAttention(d_model, n_heads, bias=bias, **kwargs).to(np.float64)


def random_mask(rng, shape):
    """Boolean mask with at least one allowed key in every query row."""
    mask = rng.random(shape) < 0.5
    mask[..., 0] |= ~mask.any(axis=-1)
    return mask


# ---- weights are a probability distribution over the keys (Step 2: softmax) ---------------


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_sdpa_weights_are_nonnegative_rows_summing_to_one(dtype, tol):
    # Claim: softmax turns each query's scores into weights >= 0 that sum to 1.
    rng = np.random.default_rng(0)
    q, k, v = (mg.tensor((3 * rng.standard_normal((2, 3, 5, 4))).astype(dtype)) for _ in "qkv")
    _, weights = scaled_dot_product_attention(q, k, v)
    w = weights.data
    assert w.shape == (2, 3, 5, 5) and w.dtype == dtype
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=tol)


def test_sdpa_masked_weights_are_exactly_zero_and_rows_still_sum_to_one():
    # Claim: masked keys get no attention at all; the rest still form a distribution.
    rng = np.random.default_rng(1)
    q, k, v = f64(rng, 2, 6, 4), f64(rng, 2, 9, 4), f64(rng, 2, 9, 3)
    mask = random_mask(rng, (2, 6, 9))
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    w = weights.data
    assert (w[~mask] == 0).all()
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, **TIGHT)
    np.testing.assert_allclose(out.data, w @ v.data, **TIGHT)  # output = weighted sum of values


def test_self_attention_weights_are_a_distribution_with_and_without_masks():
    # Claim: a single learned head's weights are a distribution per query; masked ones are 0.
    rng = np.random.default_rng(2)
    mg.manual_seed(0)
    head = SelfAttention(8, 4).to(np.float64)
    x = f64(rng, 3, 7, 8)
    head(x)
    w = head.attention_weights
    assert w.shape == (3, 7, 7) and (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, **TIGHT)

    mask = random_mask(rng, (3, 7, 7))
    head(x, mask=mask)
    w = head.attention_weights
    assert (w[~mask] == 0).all() and (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, **TIGHT)

    head(x, causal=True)
    w = head.attention_weights
    assert (w[:, ~causal_mask(7, 7)] == 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, **TIGHT)


def test_multihead_weights_are_a_distribution_per_head_with_and_without_masks():
    # Claim: every head of multi-head attention produces its own per-query distribution.
    rng = np.random.default_rng(3)
    mha = mha64(d_model=12, n_heads=3)
    x = f64(rng, 2, 6, 12)
    mha(x)
    w = mha.attention_weights
    assert w.shape == (2, 3, 6, 6) and (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, **TIGHT)

    key_padding = np.array([[True] * 6, [True] * 4 + [False] * 2])[:, None, None, :]  # (B,1,1,S)
    mha(x, mask=key_padding)
    w = mha.attention_weights
    assert (w[1, :, :, 4:] == 0).all() and (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, **TIGHT)

    mha(x, mask=key_padding, causal=True)
    w = mha.attention_weights
    allowed = np.broadcast_to(key_padding & causal_mask(6, 6), w.shape)
    assert (w[~allowed] == 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, **TIGHT)


# ---- permutation: attention sees a set unless positions are added (Key property 1) ---------


def test_multihead_attention_is_permutation_equivariant():
    # Claim: without positions, permuting the inputs permutes the outputs the same way.
    rng = np.random.default_rng(4)
    mha = mha64(d_model=8, n_heads=2)
    x = rng.standard_normal((2, 7, 8))
    perm = rng.permutation(7)
    y = mha(mg.tensor(x)).data
    w = mha.attention_weights
    y_perm = mha(mg.tensor(x[:, perm])).data
    np.testing.assert_allclose(y_perm, y[:, perm], **TIGHT)
    # The weights move with their tokens: rows and columns permuted alike.
    np.testing.assert_allclose(mha.attention_weights, w[:, :, perm][:, :, :, perm], **TIGHT)


def _model64(positional, seed=0):
    mg.manual_seed(seed)
    model = AttentionModel(vocab_size=20, n_classes=5, d_model=16, n_heads=2, n_layers=2,
                           max_len=16, positional=positional, layer_norm=True, ffn_hidden=32)
    return model.to(np.float64)


def test_attention_model_without_positions_is_permutation_equivariant():
    # Claim: a whole attention model with no positional encoding treats its input as a set.
    rng = np.random.default_rng(5)
    model = _model64("none")
    ids = np.stack([rng.permutation(20)[:10] for _ in range(3)])  # distinct tokens per row
    perm = rng.permutation(10)
    logits = model(ids).data
    logits_perm = model(ids[:, perm]).data
    np.testing.assert_allclose(logits_perm, logits[:, perm], **TIGHT)
    # Pooled over positions, the output does not depend on the order at all (invariance).
    np.testing.assert_allclose(logits_perm.mean(axis=1), logits.mean(axis=1), **TIGHT)


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_positional_encoding_breaks_permutation_equivariance(positional):
    # Claim: adding position information is what lets the model tell orders apart.
    rng = np.random.default_rng(5)
    model = _model64(positional)
    ids = np.stack([rng.permutation(20)[:10] for _ in range(3)])
    perm = rng.permutation(10)
    logits = model(ids).data
    logits_perm = model(ids[:, perm]).data
    gap = np.abs(logits_perm - logits[:, perm]).max()
    assert gap > 0.1, f"max difference {gap:.3g} (vs ~1e-15 without positions)"


# ---- the 1/sqrt(d_k) scale (Step 1, "Why the scaling factor") --------------------------------

D_KS = (4, 16, 64, 256)


def _unit_variance_qk(d_k, seed=0):
    """(q (200, 8, d_k), k (200, 16, d_k)) with i.i.d. N(0, 1) entries."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((200, 8, d_k)), rng.standard_normal((200, 16, d_k))


@pytest.mark.parametrize("d_k", D_KS)
def test_scaled_scores_keep_unit_variance_unscaled_grow_with_d_k(d_k):
    # Claim: q.k has variance d_k; dividing by sqrt(d_k) brings it back to ~1.
    q, k = _unit_variance_qk(d_k)
    raw = q @ k.swapaxes(-1, -2)  # 25,600 scores; the variance's std error is about 0.015
    scaled = raw / np.sqrt(d_k)
    assert abs(scaled.var() - 1.0) < 0.15
    assert abs(raw.var() / d_k - 1.0) < 0.15


@pytest.mark.parametrize("d_k", D_KS)
def test_sdpa_uses_the_one_over_sqrt_d_k_scale(d_k):
    # Claim: Attention = softmax(QK^T / sqrt(d_k)) V, by default in this implementation.
    q, k = _unit_variance_qk(d_k)
    v = np.random.default_rng(1).standard_normal((200, 16, 3))
    out, w = scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v))
    s = q @ k.swapaxes(-1, -2) / np.sqrt(d_k)
    expected = np.exp(s - s.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(w.data, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.data, expected @ v, rtol=1e-12, atol=1e-12)


def _peakiness_and_gradient(d_k, scale):
    """Mean max attention weight, and mean |d loss / d score| for a random upstream grad."""
    q, k = _unit_variance_qk(d_k)
    v = np.random.default_rng(1).standard_normal((200, 16, 3))
    _, w = scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v), scale=scale)
    # The softmax's own gradient: backprop a fixed random upstream gradient to the scores.
    scale = 1 / np.sqrt(d_k) if scale is None else scale
    scores = mg.tensor(scale * (q @ k.swapaxes(-1, -2)), requires_grad=True)
    upstream = np.random.default_rng(2).standard_normal(scores.shape)
    (softmax(scores) * mg.tensor(upstream)).sum().backward()
    return w.data.max(axis=-1).mean(), np.abs(scores.grad).mean()


def test_without_the_scale_softmax_saturates_and_its_gradient_vanishes():
    # Claim: the scale keeps softmax from going one-hot (peaky) as d_k grows, which would
    # starve its gradient. 16 keys: a uniform row would have max weight 1/16.
    scaled = {d: _peakiness_and_gradient(d, None) for d in D_KS}
    unscaled = {d: _peakiness_and_gradient(d, 1.0) for d in D_KS}
    peak_scaled = [scaled[d][0] for d in D_KS]
    peak_unscaled = [unscaled[d][0] for d in D_KS]
    grad_scaled = [scaled[d][1] for d in D_KS]
    grad_unscaled = [unscaled[d][1] for d in D_KS]

    # Scaled: the same softness at every width (measured ~0.24-0.25 max weight).
    assert max(peak_scaled) - min(peak_scaled) < 0.05 and max(peak_scaled) < 0.4
    assert max(grad_scaled) / min(grad_scaled) < 1.1
    # Unscaled: peakier and peakier, nearly one-hot at d_k=256 (measured 0.92).
    assert np.all(np.diff(peak_unscaled) > 0)
    assert peak_unscaled[-1] > 0.9
    # ... and the gradient shrinks with d_k: at 256 it is < 1/4 of the scaled one
    # (measured 0.0073 vs 0.046).
    assert np.all(np.diff(grad_unscaled) < 0)
    assert grad_unscaled[-1] < 0.25 * grad_scaled[-1]


# ---- self- vs cross-attention (section 6) ----------------------------------------------------


def test_cross_attention_output_follows_the_queries_not_the_keys():
    # Claim: in cross-attention queries come from x and keys/values from another sequence;
    # there is one output per query.
    rng = np.random.default_rng(6)
    mha = mha64(d_model=8, n_heads=2)
    x, context = f64(rng, 2, 3, 8), f64(rng, 2, 7, 8)
    y = mha(x, context=context)
    assert y.shape == (2, 3, 8)
    assert mha.attention_weights.shape == (2, 2, 3, 7)
    np.testing.assert_allclose(mha.attention_weights.sum(-1), 1.0, **TIGHT)


def test_cross_attention_with_a_context_of_another_width():
    # Claim: keys/values may come from a different representation (e.g. an encoder's).
    rng = np.random.default_rng(7)
    mha = mha64(d_model=8, n_heads=2, context_dim=5)
    y = mha(f64(rng, 2, 3, 8), context=f64(rng, 2, 7, 5))
    assert y.shape == (2, 3, 8) and mha.attention_weights.shape == (2, 2, 3, 7)


def test_self_attention_is_cross_attention_to_itself():
    # Claim: "self" attention is the special case where the sequence attends to itself.
    rng = np.random.default_rng(8)
    mha = mha64(d_model=8, n_heads=2)
    x = f64(rng, 2, 5, 8)
    y_self = mha(x).data
    w_self = mha.attention_weights
    y_cross = mha(x, context=x).data
    np.testing.assert_array_equal(y_self, y_cross)
    np.testing.assert_array_equal(w_self, mha.attention_weights)


# ---- parallel over positions (Key property 3) -------------------------------------------------


def test_sdpa_one_query_at_a_time_equals_all_at_once():
    # Claim: each position's output depends only on its own query and all keys/values, so
    # all positions can be computed at once (no sequential dependence as in an RNN).
    rng = np.random.default_rng(9)
    q, k, v = f64(rng, 2, 2, 6, 4), f64(rng, 2, 2, 6, 4), f64(rng, 2, 2, 6, 3)
    out, w = scaled_dot_product_attention(q, k, v)
    for t in range(6):
        out_t, w_t = scaled_dot_product_attention(q[:, :, t:t + 1], k, v)
        np.testing.assert_allclose(out_t.data, out.data[:, :, t:t + 1], **TIGHT)
        np.testing.assert_allclose(w_t.data, w.data[:, :, t:t + 1], **TIGHT)


def test_multihead_one_query_at_a_time_equals_all_at_once():
    # Claim: the same holds for a full multi-head layer: a loop over positions gives the
    # batched result row by row.
    rng = np.random.default_rng(10)
    mha = mha64(d_model=8, n_heads=2)
    x = f64(rng, 2, 6, 8)
    y = mha(x).data
    rows = [mha(x[:, t:t + 1], context=x).data for t in range(6)]  # (B, 1, C) each
    np.testing.assert_allclose(np.concatenate(rows, axis=1), y, **TIGHT)


# ---- cost: T x T scores per head (Key property 2) ----------------------------------------------


def test_the_scores_are_one_per_pair_of_positions_so_their_work_grows_as_n_squared():
    # Claim: every position attends to every position: T*T scores per head, O(n^2). The
    # matrix products are watched as they run (through the engine's seam), not read off
    # the weights' shape: the largest one is q k^T, with one entry per (query, key) pair.
    from minigrad import hooks

    class Products(hooks.Tool):
        def __init__(self):
            self.sizes = []

        def on_forward(self, ctx, arrays, result):
            if ctx.fn.name == "matmul":
                self.sizes.append(result.data.size)

    rng = np.random.default_rng(11)
    mha = mha64(d_model=8, n_heads=2)
    largest = {}
    for T in (8, 16, 32):
        products = Products()
        with hooks.using(products):
            mha(f64(rng, 1, T, 8))
        largest[T] = max(products.sizes)
    assert largest == {T: 2 * T * T for T in (8, 16, 32)}  # 2 heads, T x T each


def test_no_fixed_length_limit_in_attention_itself():
    # Claim: attention accepts any length; the same layer runs on T=1 and on T=300.
    rng = np.random.default_rng(12)
    mha = mha64(d_model=8, n_heads=2)
    for T in (1, 300):
        assert mha(f64(rng, 1, T, 8)).shape == (1, T, 8)
        assert mha.attention_weights.size == 2 * T * T


# ---- causal mask ---------------------------------------------------------------------------------


def test_causal_output_does_not_depend_on_later_tokens():
    # Claim: with a causal mask, position t sees only positions <= t.
    rng = np.random.default_rng(13)
    mha = mha64(d_model=8, n_heads=2)
    x = rng.standard_normal((2, 7, 8))
    y = mha(mg.tensor(x), causal=True).data
    for t in range(6):
        changed = x.copy()
        changed[:, t + 1:] = rng.standard_normal(changed[:, t + 1:].shape)
        y_changed = mha(mg.tensor(changed), causal=True).data
        np.testing.assert_allclose(y_changed[:, :t + 1], y[:, :t + 1], **TIGHT)
        assert np.abs(y_changed[:, t + 1:] - y[:, t + 1:]).max() > 1e-3
        # Without the mask, earlier positions do see the change.
        assert np.abs(mha(mg.tensor(changed)).data[:, :t + 1]
                      - mha(mg.tensor(x)).data[:, :t + 1]).max() > 1e-3


def test_causal_mask_in_a_whole_model():
    # Claim: the same holds through embeddings, positions, two blocks and a classifier.
    rng = np.random.default_rng(14)
    model = _model64("learned")
    ids = rng.integers(0, 20, size=(2, 10))
    mask = causal_mask(10, 10)
    logits = model(ids, mask=mask).data
    changed = ids.copy()
    changed[:, 6:] = (changed[:, 6:] + 1) % 20
    np.testing.assert_allclose(model(changed, mask=mask).data[:, :6], logits[:, :6], **TIGHT)


# ---- a query with nothing to attend to ----------------------------------------------------------


def test_fully_masked_row_gives_zero_output_and_finite_gradients_sdpa():
    # Claim (contract): a query whose keys are all masked gets zero weights, zero output and
    # zero (not NaN) gradients; the other rows are unaffected.
    rng = np.random.default_rng(15)
    q, k, v = (f64(rng, 2, 4, 3, requires_grad=True) for _ in "qkv")
    mask = np.ones((2, 4, 4), dtype=bool)
    mask[0, 1] = False  # batch 0, query 1 may look at nothing
    out, w = scaled_dot_product_attention(q, k, v, mask=mask)
    (out * mg.tensor(rng.standard_normal(out.shape))).sum().backward()
    assert (w.data[0, 1] == 0).all() and (out.data[0, 1] == 0).all()
    assert np.isfinite(out.data).all()
    for t in (q, k, v):
        assert np.isfinite(t.grad).all()
    assert (q.grad[0, 1] == 0).all()
    ref, _ = scaled_dot_product_attention(q.data[0, [0, 2, 3]], k.data[0], v.data[0])
    np.testing.assert_allclose(out.data[0, [0, 2, 3]], ref.data, **TIGHT)


@pytest.mark.parametrize("bias", [False, True])
def test_fully_masked_row_gives_zero_output_and_finite_gradients_mha(bias):
    # Claim (contract): the same through a multi-head layer: the attention output of that
    # row is zero, so the layer's output there is out_proj(0) = out_proj.bias (or 0).
    rng = np.random.default_rng(16)
    mha = mha64(d_model=8, n_heads=2, bias=bias)
    x = f64(rng, 2, 5, 8, requires_grad=True)
    mask = np.ones((2, 1, 5, 5), dtype=bool)
    mask[1, 0, 3] = False
    y = mha(x, mask=mask)
    (y * mg.tensor(rng.standard_normal(y.shape))).sum().backward()
    assert (mha.attention_weights[1, :, 3] == 0).all()
    expected = mha.out_proj.bias.data if bias else np.zeros(8)
    np.testing.assert_array_equal(y.data[1, 3], expected)
    assert np.isfinite(y.data).all() and np.isfinite(x.grad).all()
    for name, p in mha.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad).all(), name


# ---- trained models: heads learn different relations; "bank" reads its context ---------------


def _train_and_load(out_dir, **overrides):
    """Train with the task's defaults (plus overrides); return metrics, model, task, held-out."""
    config = TrainConfig(out=str(out_dir), **overrides)
    metrics = train(config, progress=False, plots=False)
    config = config.resolved()
    task = make_task(config.task)
    model = build_model(config, task)
    load_checkpoint(out_dir / "checkpoint.npz", model)
    _, held_out = make_splits(task, config.n_train, config.n_test, config.seed)
    return metrics, model, task, held_out


@pytest.fixture(scope="module")
def pair_runs(tmp_path_factory):
    """The pair task with its defaults (2 heads, d_model=8) and with one head of that width."""
    root = tmp_path_factory.mktemp("pair")
    return {n: _train_and_load(root / f"heads{n}", task="pair", n_heads=n) for n in (2, 1)}


@pytest.fixture(scope="module")
def context_run(tmp_path_factory):
    return _train_and_load(tmp_path_factory.mktemp("context"), task="context")


def _head_masses(model, task, held_out):
    """Per head: attention mass on (i-1) and on the starred token, per scored query (N, T-1)."""
    ids, _, _ = held_out
    with mg.no_grad():
        model(ids)
    (w,) = model.attention_maps()  # (N, nh, T, T)
    n, _, T, _ = w.shape
    K = task.digits
    star = (ids >= K).argmax(axis=1)  # one starred token per row
    queries = np.arange(1, T)  # position 0 has no previous token and is not scored
    prev_mass = w[:, :, queries, queries - 1]  # (N, nh, T-1)
    star_mass = w[np.arange(n)[:, None], :, queries[None, :], star[:, None]]  # (N, T-1, nh)
    return prev_mass.transpose(0, 2, 1), star_mass, ids[np.arange(n), star] - K


def test_two_heads_split_the_work_position_and_content(pair_runs):
    # Claim: heads learn different relations: one follows position (the previous token),
    # the other content (the starred token). Which is which is read off the data.
    metrics, model, task, held_out = pair_runs[2]
    assert metrics["held_out_accuracy"] > 0.99
    prev_mass, star_mass, starred_digit = _head_masses(model, task, held_out)
    prev_by_head = prev_mass.mean(axis=(0, 1))  # (nh,)
    star_by_head = star_mass.mean(axis=(0, 1))
    positional, content = int(prev_by_head.argmax()), int(star_by_head.argmax())
    assert positional != content
    assert prev_by_head[positional] > 0.9  # measured 0.99
    assert prev_by_head[content] < 0.3 and star_by_head[positional] < 0.3  # ~0.15 and ~0.13
    # The content head finds the starred token for the typical example, and for at least
    # 7 of the 8 starred digits on average: the model may leave one digit unattended and
    # decode it by elimination (nothing found means "the digit I never look for").
    assert np.median(star_mass[:, :, content]) > 0.9
    per_digit = [star_mass[starred_digit == d, :, content].mean() for d in range(8)]
    assert sum(m > 0.9 for m in per_digit) >= 7, np.round(per_digit, 3)


def test_one_head_of_the_same_width_does_worse_than_two(pair_runs):
    # Claim: several heads beat one: one head must blur position and content together.
    two, one = pair_runs[2][0], pair_runs[1][0]
    assert one["config"]["d_model"] == two["config"]["d_model"]
    assert one["config"]["steps"] == two["config"]["steps"]
    assert one["config"]["seed"] == two["config"]["seed"]
    assert (two["config"]["n_heads"], one["config"]["n_heads"]) == (2, 1)
    # measured 1.000 vs 0.943 held-out accuracy
    assert one["held_out_accuracy"] < two["held_out_accuracy"] - 0.03


def _bank_and_context_positions(task, ids):
    vocab = {word: i for i, word in enumerate(task.vocab)}
    context_ids = [vocab[w] for w in RIVER + MONEY]
    bank_at = (ids == vocab["bank"]).argmax(axis=1)
    context_at = np.isin(ids, context_ids).argmax(axis=1)
    return vocab, bank_at, context_at


def test_bank_attends_to_its_context_word(context_run):
    # Claim: "bank" looks at the other words; most of its attention goes to the one word
    # that decides its sense.
    metrics, model, task, (ids, targets, mask) = context_run
    assert metrics["held_out_accuracy"] > 0.98
    _, bank_at, context_at = _bank_and_context_positions(task, ids)
    rows = np.arange(len(ids))
    with mg.no_grad():
        model(ids)
    (w,) = model.attention_maps()  # (N, 1, T, T)
    mass = w[rows, 0, bank_at, context_at]
    assert mass.mean() > 0.8  # measured 0.91


def test_swapping_the_context_word_flips_the_sense_of_bank(context_run):
    # Claim: the same word "bank" gets a different meaning from a different context.
    _, model, task, (ids, _, _) = context_run
    vocab, bank_at, context_at = _bank_and_context_positions(task, ids)
    rows = np.arange(len(ids))
    river_rows = np.isin(ids[rows, context_at], [vocab[w] for w in RIVER])
    ids = ids[river_rows]
    rows, bank_at, context_at = np.arange(len(ids)), bank_at[river_rows], context_at[river_rows]
    assert len(ids) > 400

    swapped = ids.copy()
    money = np.random.default_rng(0).choice([vocab[w] for w in MONEY], size=len(ids))
    swapped[rows, context_at] = money
    with mg.no_grad():
        sense_before = model(ids).data[rows, bank_at].argmax(axis=-1)
        sense_after = model(swapped).data[rows, bank_at].argmax(axis=-1)
    river, money_sense = task.classes.index("river bank"), task.classes.index("money bank")
    assert (sense_before == river).mean() > 0.98
    assert (sense_after == money_sense).mean() > 0.98  # measured 1.0


# ---- why three separate matrices (Q: "Why three separate matrices (Q, K, V)?") ---------------

def test_shared_projections_are_one_module_counted_once():
    separate, shared_qk, shared_qkv = (mha64(share=share) for share in (None, "qk", "qkv"))
    assert shared_qk.k_proj is shared_qk.q_proj and shared_qk.v_proj is not shared_qk.q_proj
    assert shared_qkv.v_proj is shared_qkv.q_proj
    counts = [len(list(m.parameters())) for m in (separate, shared_qk, shared_qkv)]
    assert counts == [8, 6, 4]  # weight and bias of q, k, v, out; a shared one counts once
    # With Wq = Wk, each head's scores q k^T are symmetric.
    x = f64(np.random.default_rng(0), 1, 5, 8)
    q = shared_qk._split_heads(shared_qk.q_proj(x)).data  # (1, nh, T, hs)
    k = shared_qk._split_heads(shared_qk.k_proj(x)).data
    scores = q @ np.swapaxes(k, -1, -2)
    np.testing.assert_allclose(scores, np.swapaxes(scores, -1, -2), **TIGHT)
    with pytest.raises(ValueError, match="share must be one of"):
        MultiHeadAttention(8, 2, share="kv")


def test_a_cycle_needs_separate_query_and_key_matrices(tmp_path):
    """Looking for something else than what one is: rock looks for scissors, scissors for
    paper, paper for rock. Symmetric scores (one matrix for queries and keys) cannot order
    a cycle; separate matrices learn it."""
    accuracy = {}
    for share in (None, "qk", "qkv"):
        config = TrainConfig(task="cycle", share=share, steps=150, n_train=2000, n_test=500,
                             out=str(tmp_path / str(share)))
        accuracy[share] = train(config.resolved(), progress=False,
                                plots=False)["held_out_accuracy"]
    assert accuracy[None] > 0.99, accuracy
    assert accuracy["qk"] < 0.85 and accuracy["qkv"] < 0.85, accuracy


def test_learned_positions_past_their_length_are_a_clear_error():
    from attention.positional import LearnedPositionalEmbedding

    mg.manual_seed(0)
    positions = LearnedPositionalEmbedding(8, 4)
    with pytest.raises(ValueError, match=r"\(2, 9, 4\) needs shape .* T <= max_len=8"):
        positions(mg.zeros(2, 9, 4))


# ---- padding: a batch holds sentences of different lengths --------------------------------

def test_padding_changes_an_unmasked_output_and_not_a_masked_one():
    """Two sentences of lengths 3 and 5 in one batch: the shorter one is padded to 5. Without
    a padding mask its words also attend to the pads, and its output changes; with
    key_padding_mask (True at the pads) it equals the sentence's output alone."""
    rng = np.random.default_rng(0)
    mha = mha64(d_model=8, n_heads=2)
    short, long = f64(rng, 1, 3, 8), f64(rng, 1, 5, 8)
    pads = f64(rng, 1, 2, 8)  # whatever the padding token embeds to
    batch = mg.concat([mg.concat([short, pads], axis=1), long], axis=0)  # (2, 5, 8)
    padding = np.array([[False] * 3 + [True] * 2, [False] * 5])
    alone = mha(short).data  # (1, 3, 8)
    unmasked = mha(batch).data[:1, :3]
    masked = mha(batch, key_padding_mask=padding).data[:1, :3]
    assert np.abs(unmasked - alone).max() > 1e-2  # the pads leaked into every word
    np.testing.assert_allclose(masked, alone, **TIGHT)
    np.testing.assert_allclose(mha(batch, key_padding_mask=padding).data[1:], mha(long).data,
                               **TIGHT)
    # The weights on the pads are exactly zero, in every head.
    mha(batch, key_padding_mask=padding)
    assert np.all(mha.attention_weights[0, :, :, 3:] == 0)
    # The same through a whole model, and with a causal mask on top.
    mg.manual_seed(0)
    model = AttentionModel(10, 4, d_model=8, n_heads=2, positional="learned").to(np.float64)
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    np.testing.assert_allclose(model(ids, key_padding_mask=padding).data[:1, :3],
                               model(ids[:1, :3]).data, **TIGHT)
    causal = causal_mask(5, 5)
    np.testing.assert_allclose(
        mha(batch, mask=causal, key_padding_mask=padding).data[:1, :3],
        mha(short, mask=causal_mask(3, 3)).data, **TIGHT)


def test_a_wrong_padding_mask_is_refused_by_name():
    mha = mha64()
    x = mg.zeros(2, 4, 8, dtype="float64")
    with pytest.raises(ValueError, match=r"key_padding_mask must be a boolean array of shape "
                                         r"\(B, S\) = \(2, 4\).*int64 \(2, 4\)"):
        mha(x, key_padding_mask=np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(2, 4\).*bool \(2, 3\)"):
        mha(x, key_padding_mask=np.zeros((2, 3), dtype=bool))


# ---- "no sequence length limit": attention has none; positions may ------------------------

def test_no_length_limit_without_positions_and_positions_that_do_not_carry(tmp_path):
    """Trained on rows of 8: without positions, an order-free task (context) is as right on
    rows of 64; learned positions past the trained ones carry nothing on a task where order
    matters (previous); a model holding 8 positions refuses longer rows by name."""
    from attention.train import accuracy_at_length, load_run

    def trained(task, positional, max_len=64):
        folder = tmp_path / f"{task}-{positional}-{max_len}"
        train(TrainConfig(task=task, positional=positional, max_len=max_len,
                          out=str(folder)), progress=False, plots=False)
        return load_run(str(folder))[:2]

    model, task = trained("context", "none")
    assert accuracy_at_length(model, task, 64) > 0.99
    model, task = trained("previous", "learned")
    assert accuracy_at_length(model, task, 8) > 0.99
    assert accuracy_at_length(model, task, 32) < 0.6
    with pytest.raises(ValueError, match="T <= max_len=8"):
        accuracy_at_length(trained("previous", "learned", max_len=8)[0], task, 16)


# ---- "the cat sat on the mat": the verb gathers its subject and object --------------------

def test_the_verb_gathers_its_subject_and_its_object_and_not_the(tmp_path):
    """At the verb, the heads look at the subject and the object, wherever the optional
    words put them, and next to nothing at "the" or "a", nor at the padding."""
    from attention.tasks import DETERMINERS, NOUNS
    from attention.train import load_run

    train(TrainConfig(task="svo", out=str(tmp_path)), progress=False, plots=False)
    model, task, config = load_run(str(tmp_path))
    ids, targets, mask = make_splits(task, config.n_train, config.n_test, config.seed)[1]
    with mg.no_grad():
        predictions = model(ids).data.argmax(-1)
    assert (predictions[mask] == targets[mask]).mean() > 0.99
    (weights,) = model.attention_maps()  # (N, nh, T, T)
    rows, verb = np.nonzero(mask)
    at_verb = weights[rows, :, verb, :]  # (N, nh, T): each head's row at the verb
    nouns = np.isin(ids[rows], [task.vocab.index(w) for w in NOUNS])
    subject, obj = (np.array([np.flatnonzero(n)[i] for n in nouns]) for i in (0, 1))
    everyone = np.arange(len(rows))
    on_subject = at_verb[everyone, :, subject].mean(0)  # per head
    on_object = at_verb[everyone, :, obj].mean(0)
    assert np.all(on_subject + on_object > 0.95), (on_subject, on_object)  # nouns only
    assert on_subject.sum() > 0.5 and on_object.sum() > 0.5, (on_subject, on_object)
    determiners = np.isin(ids[rows], [task.vocab.index(w) for w in DETERMINERS])
    assert (at_verb * determiners[:, None, :]).sum(-1).mean() < 0.05
    # The "." that pads shorter sentences is masked: no position of any sentence looks at it.
    padding = ids == task.vocab.index(".")  # (N, T)
    assert padding.any()
    assert np.all(np.where(padding[:, None, None, :], weights, 0) == 0)  # (N, nh, T, T)


# ---- "parallel computation, unlike RNNs" --------------------------------------------------

@pytest.mark.slow  # the RNN's 600 steps of 24 steps each: a few seconds
def test_attention_reaches_any_distance_where_a_recurrent_network_fades(tmp_path):
    """On *far* (the answer is a starred digit 1 to 23 tokens back), attention finds it by
    content at every distance; a tanh RNN trained with the same loop does worse, and worse
    the farther back the digit is."""
    from attention.rnn import RNNModel
    from attention.tasks import distance_to_star
    from attention.train import load_run

    right = {}
    for name, steps in (("attention", 200), ("rnn", None)):  # the RNN gets all 600 steps
        train(TrainConfig(task="far", model=name, steps=steps, out=str(tmp_path / name)),
              progress=False, plots=False)
        model, task, config = load_run(str(tmp_path / name))
        assert isinstance(model, RNNModel) == (name == "rnn")
        ids, targets, _ = make_splits(task, config.n_train, config.n_test, config.seed)[1]
        with mg.no_grad():
            hits = model(ids).data.argmax(-1)[:, -1] == targets[:, -1]
        distance = distance_to_star(ids)
        right[name] = (hits[distance <= 4].mean(), hits[distance >= 13].mean())
    assert min(right["attention"]) > 0.99, right
    near, far = right["rnn"]
    assert far < 0.7 and far < near - 0.1, right


# ---- heads learn different relations, then are concatenated -------------------------------

def test_relations_targets_are_the_words_their_relations_point_at():
    """The task's ground truth: each answer is the word at the place its relation names."""
    from attention.tasks import LINKS, MEANINGS, SUBJECTS, relation_answers, relation_positions

    task = make_task("relations")
    ids, targets, mask = task.generate(np.random.default_rng(0), 500)
    verb_at, where = relation_positions(task, ids)
    assert (np.flatnonzero(mask[0]) == verb_at[0]).all() and mask.sum() == len(ids)
    link, noun, obj = relation_answers(targets[np.arange(len(ids)), verb_at])
    objects = [word for words in MEANINGS.values() for word in words]
    for row, (before, agreeing, meant) in enumerate(where):
        words = task.decode(ids[row])
        assert words[before] == LINKS[link[row]] and before == verb_at[row] - 1
        assert words[agreeing] in SUBJECTS[noun[row]]
        assert words[meant] == objects[obj[row]]
        plural = words[verb_at[row]] in ("eat", "sleep")
        assert words[agreeing] == SUBJECTS[noun[row]][plural]  # "cats eat", "cat eats"


def test_three_heads_each_follow_one_relation_and_removing_one_loses_its_answer(tmp_path):
    """Heads learn different relations: one by position (the word before the verb), one by
    agreement (the noun of the verb's number), one by meaning (the word the verb selects).
    Removed, each head takes its own answer down towards chance and leaves the others.
    Seed 1: across seeds 0 to 5 the split is this clean in 2 (seeds 1 and 4), nearly so in
    2 and mixed in 2, as `python examples/three_heads.py` prints; the measure says which."""
    import sys
    from pathlib import Path

    examples = str(Path(__file__).resolve().parent.parent / "examples")
    sys.path.insert(0, examples)
    try:
        from three_heads import measure
    finally:
        sys.path.remove(examples)
    train(TrainConfig(task="relations", seed=1, out=str(tmp_path)), progress=False, plots=False)
    figures = measure(str(tmp_path))
    assert figures["accuracy"].min() > 0.99, figures["accuracy"]
    main = figures["masses"].argmax(axis=1)  # each head's main relation
    assert sorted(main) == [0, 1, 2], figures["masses"]  # one head per relation
    assert figures["specialisation"].min() > 0.9, figures["specialisation"]  # measured 0.95+
    for head, relation in enumerate(main):
        removed = figures["removed"][head]
        assert removed[relation] < 0.45, (head, removed)  # chance: 25%, 50%, 33%
        others = np.delete(removed, relation)
        assert others.min() > 0.95, (head, removed)


def test_the_output_is_the_sum_of_each_heads_contribution_and_a_head_is_removed_exactly():
    """concat_h(y_h) @ W + b = sum_h y_h @ W[rows of h] + b: the concatenation and output
    projection, read per head; zeroing a head's rows removes its term and nothing else."""
    from attention.heads import head_contributions, specialisation, without_heads

    mha = mha64(d_model=12, n_heads=3)
    x = f64(np.random.default_rng(0), 2, 5, 12)
    parts, out = head_contributions(mha, x)
    assert parts.shape == (3, 2, 5, 12)
    np.testing.assert_allclose(parts.sum(0) + mha.out_proj.bias.data, out, **TIGHT)
    before = mha.out_proj.weight.data.copy()
    with without_heads(mha, [0, 2]):
        np.testing.assert_allclose(mha(x).data, parts[1] + mha.out_proj.bias.data, **TIGHT)
    with pytest.raises(RuntimeError, match="planted"), without_heads(mha, 1):
        raise RuntimeError("planted")
    np.testing.assert_array_equal(mha.out_proj.weight.data, before)  # restored after an error
    with pytest.raises(ValueError, match="head 3 does not exist; the layer has 3 heads"):
        with without_heads(mha, 3):
            pass
    np.testing.assert_allclose(specialisation([[0.9, 0.0, 0.0], [0.2, 0.2, 0.2]]),
                               [1.0, 1 / 3])
