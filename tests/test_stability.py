"""Numerical stability of softmax, log_softmax, cross_entropy and masked attention.

The contract: these are stable for logits of any magnitude a float holds (the row max is
subtracted, log-sum-exp is used), and a fully masked attention row gives a zero output and
finite gradients. float32 is probed at +-1e4 (exp overflows above ~88) and float64 at
+-700 and +-1e4 (exp overflows above ~709). Expected values are worked out analytically in float64
NumPy, never with the code under test.
"""

import numpy as np
import pytest

import minigrad as mg
from attention import (
    cross_entropy,
    log_softmax,
    scaled_dot_product_attention,
    softmax,
    softmax_composite,
)

# float64 at 700 is just inside exp's range; 1e4 is far outside it in both dtypes.
BIG = [(np.float32, 1e4), (np.float64, 700.0), (np.float64, 1e4)]
BIG_IDS = ["float32-1e4", "float64-700", "float64-1e4"]


def leaf(values, dtype):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def tol(dtype):
    """rtol/atol fitting the dtype's precision."""
    return dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def reference_log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def huge_logits(dtype, big, seed=0):
    """(4, 6) logits spread over [-big, big], with ties and near-ties at the top."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-big, big, size=(4, 6))
    x[1, :2] = big  # a tie at the maximum
    x[2, 0], x[2, 1] = big, big - 1.0  # a near-tie: two non-negligible probabilities
    x[3] = -big  # all equal (and very negative): uniform
    return x.astype(dtype)


# ---- softmax ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, big", BIG, ids=BIG_IDS)
@pytest.mark.parametrize("fn", [softmax, softmax_composite])
def test_softmax_of_huge_logits_is_finite_and_correct(fn, dtype, big):
    # Subtracting the max makes the largest exponent 0: no overflow, no inf/inf = NaN.
    x = leaf([[big, 0.0], [0.0, big], [-big, 0.0], [big, -big], [-big, -big]], dtype)
    y = fn(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(
        y.data, [[1, 0], [0, 1], [0, 1], [1, 0], [0.5, 0.5]], rtol=0, atol=1e-7
    )
    upstream = np.arange(10.0).reshape(5, 2).astype(dtype)
    (y * mg.tensor(upstream)).sum().backward()
    assert np.isfinite(x.grad).all()
    # dx = y * (g - sum(g * y)): zero for saturated rows, (g0 - g1)/4 * [1, -1] for ties.
    expected = np.zeros((5, 2))
    expected[4] = [-0.25, 0.25]
    np.testing.assert_allclose(x.grad, expected, **tol(dtype))


@pytest.mark.parametrize("dtype, big", BIG, ids=BIG_IDS)
@pytest.mark.parametrize("fn", [softmax, softmax_composite])
def test_softmax_of_spread_huge_logits_matches_reference(fn, dtype, big):
    # Random logits across +-big: finite, rows sum to 1, equal to exp(reference log-softmax).
    x = leaf(huge_logits(dtype, big), dtype)
    y = fn(x)
    assert np.isfinite(y.data).all()
    np.testing.assert_allclose(y.data.sum(axis=-1), 1.0, **tol(dtype))
    np.testing.assert_allclose(y.data, np.exp(reference_log_softmax(x.data)), **tol(dtype))
    upstream = np.random.default_rng(1).standard_normal(x.shape)
    (y * mg.tensor(upstream.astype(dtype))).sum().backward()
    p = np.exp(reference_log_softmax(x.data))
    expected = p * (upstream - (upstream * p).sum(axis=-1, keepdims=True))
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad, expected, rtol=1e-5 if dtype == np.float32 else 1e-10,
                               atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", [softmax, softmax_composite])
def test_softmax_at_the_largest_float_is_finite(fn, dtype):
    # "Any magnitude a float holds": x - max overflows to -inf for [max, -max], whose exp is
    # exactly the right 0 (NumPy warns about the overflow; the result is still right).
    big = np.finfo(dtype).max
    x = leaf([[big, 0.0, -big]], dtype)
    y = fn(x)
    np.testing.assert_array_equal(y.data, [[1.0, 0.0, 0.0]])
    (y * mg.tensor(np.array([[1.0, 2.0, 3.0]], dtype=dtype))).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 0.0]])


# ---- log_softmax --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, big", BIG, ids=BIG_IDS)
def test_log_softmax_of_huge_logits_has_exact_values(dtype, big):
    # log_softmax = x - max - log(sum(exp(x - max))): no log(0) even where softmax underflows.
    x = leaf([[big, 0.0, -big], [big, big, -big], [-big, -big, -big]], dtype)
    y = log_softmax(x)
    assert y.dtype == dtype and np.isfinite(y.data).all()
    tail = np.log1p(np.exp(-big) + np.exp(-2 * big))  # ~0 in both dtypes at these magnitudes
    expected = [
        [-tail, -big - tail, -2 * big - tail],
        [-np.log(2), -np.log(2), -2 * big - np.log(2)],
        [-np.log(3)] * 3,
    ]
    np.testing.assert_allclose(y.data, expected, **tol(dtype))
    upstream = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], dtype=dtype)
    (y * mg.tensor(upstream)).sum().backward()
    # dx = g - softmax(x) * sum(g), with softmax [1,0,0], [.5,.5,0], [1/3]*3 and sum(g) = 6.
    expected_grad = upstream - 6 * np.array([[1, 0, 0], [0.5, 0.5, 0], [1 / 3] * 3])
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad, expected_grad, **tol(dtype))


@pytest.mark.parametrize("dtype, big", BIG, ids=BIG_IDS)
def test_log_softmax_of_spread_huge_logits_matches_reference(dtype, big):
    x = leaf(huge_logits(dtype, big, seed=2), dtype)
    y = log_softmax(x)
    assert np.isfinite(y.data).all()
    ref = reference_log_softmax(x.data)
    # float32: values reach 2e4, so compare relative to that magnitude (one ulp ~ 2e-3).
    np.testing.assert_allclose(y.data, ref, rtol=1e-6, atol=1e-6 * big)
    y.sum().backward()
    expected = 1 - np.exp(ref) * x.shape[-1]
    np.testing.assert_allclose(x.grad, expected, **tol(dtype))


def test_log_softmax_gradcheck_at_large_but_not_saturated_logits():
    # Away from the saturated regime, the analytic backward matches finite differences.
    x = mg.tensor(40 * np.random.default_rng(3).standard_normal((3, 5)), requires_grad=True)
    mg.gradcheck(log_softmax, x)
    mg.gradcheck(softmax, x)
    mg.gradcheck(softmax_composite, x)


# ---- cross-entropy -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, big", BIG, ids=BIG_IDS)
def test_cross_entropy_confidently_right_is_zero_and_wrong_is_the_logit_gap(dtype, big):
    # Confident and right: loss ~ 0. Confident and wrong: loss ~ the gap (2*big), not inf.
    logits = [[big, -big]]
    right = leaf(logits, dtype)
    loss = cross_entropy(right, np.array([0]))
    loss.backward()
    assert loss.dtype == dtype
    assert loss.item() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(right.grad, [[0.0, 0.0]], **tol(dtype))  # p - onehot = 0

    wrong = leaf(logits, dtype)
    loss = cross_entropy(wrong, np.array([1]))
    loss.backward()
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx(2 * big, rel=1e-6)
    np.testing.assert_allclose(wrong.grad, [[1.0, -1.0]], **tol(dtype))  # p - onehot


@pytest.mark.parametrize("dtype, big", BIG, ids=BIG_IDS)
def test_cross_entropy_of_spread_huge_logits_matches_reference(dtype, big):
    x = leaf(huge_logits(dtype, big, seed=4), dtype)
    targets = np.array([3, 1, 1, 5])
    loss = cross_entropy(x, targets)
    loss.backward()
    ref = reference_log_softmax(x.data)
    expected = -ref[np.arange(4), targets].mean()
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    onehot = np.eye(6)[targets]
    np.testing.assert_allclose(x.grad, (np.exp(ref) - onehot) / 4, **tol(dtype))


def test_cross_entropy_gradcheck_at_large_logits():
    x = mg.tensor(40 * np.random.default_rng(5).standard_normal((4, 5)), requires_grad=True)
    mg.gradcheck(lambda t: cross_entropy(t, np.array([0, 1, 2, 3])), x)


# ---- a fully masked attention row --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fully_masked_row_in_sdpa_gives_zero_output_and_finite_gradients(dtype):
    # softmax of an all -inf row would be 0/0 = NaN; the layer must return zeros instead,
    # and no NaN may leak into the gradients of q, k or v.
    rng = np.random.default_rng(6)
    q, k, v = (leaf(rng.standard_normal((2, 2, 4, 3)), dtype) for _ in "qkv")
    mask = np.ones((2, 2, 4, 4), dtype=bool)
    mask[0, 1, 2] = False  # one query row with nothing to attend to
    mask[1] = False  # a whole batch entry fully masked
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    (out * mg.tensor(rng.standard_normal(out.shape).astype(dtype))).sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(weights.data).all()
    np.testing.assert_array_equal(out.data[0, 1, 2], 0.0)
    np.testing.assert_array_equal(out.data[1], 0.0)
    np.testing.assert_array_equal(weights.data[~mask], 0.0)
    for name, t in zip("qkv", (q, k, v)):
        assert t.grad is not None and np.isfinite(t.grad).all(), name
    np.testing.assert_array_equal(q.grad[0, 1, 2], 0.0)  # the masked query influences nothing
    for t in (q, k, v):
        np.testing.assert_array_equal(t.grad[1], 0.0)  # nor does a fully masked batch entry


def test_fully_masked_row_with_huge_scores_and_causal_mask():
    # Huge scores elsewhere (float32, scores ~1e4) and a causal mask combined with a mask
    # that blocks query 0's only key: still zeros there and finite everywhere.
    rng = np.random.default_rng(7)
    q, k, v = (leaf(100 * rng.standard_normal((1, 5, 4)), np.float32) for _ in "qkv")
    mask = np.ones((1, 5, 5), dtype=bool)
    mask[:, :, 0] = False  # key 0 blocked: under the causal mask, query 0 has no key left
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    out.sum().backward()
    np.testing.assert_array_equal(out.data[0, 0], 0.0)
    np.testing.assert_allclose(weights.data[0, 1:].sum(-1), 1.0, rtol=0, atol=1e-6)
    for t in (q, k, v):
        assert np.isfinite(t.grad).all()


# ---- an infinite logit: the whole row is NaN, as in PyTorch ---------------------------------

# NumPy warns "invalid value encountered in subtract" (inf - inf) on the way: expected here.
QUIET = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
INFINITE_ROWS = np.array([[1.0, np.inf, 0.5], [np.inf, np.inf, 1.0], [np.inf, -np.inf, 0.0],
                          [np.nan, 0.0, 1.0]])


@QUIET
@pytest.mark.parametrize("fn", [softmax, log_softmax], ids=["softmax", "log_softmax"])
def test_a_row_with_plus_inf_or_nan_is_nan_throughout(fn):
    # Not [0, nan, 0]: a row that looks partly valid would hide where the NaN came from.
    rows = np.concatenate([INFINITE_ROWS, [[1.0, 2.0, 3.0]]])
    x = leaf(rows, np.float64)
    y = fn(x)
    assert np.isnan(y.data[:4]).all(), y.data
    assert np.isfinite(y.data[4]).all()
    y.sum().backward()
    assert np.isnan(x.grad[:4]).all() and np.isfinite(x.grad[4]).all()


@QUIET
def test_cross_entropy_and_attention_with_an_infinite_score_are_nan():
    assert np.isnan(cross_entropy(leaf(INFINITE_ROWS[:1], np.float64), np.array([0])).item())
    q = mg.tensor(np.ones((1, 2, 3)))
    k = mg.tensor(np.array([[[np.inf, 0, 0], [1.0, 0, 0]]]))
    out, weights = scaled_dot_product_attention(q, k, mg.tensor(np.ones((1, 2, 3))))
    assert np.isnan(weights.data).all() and np.isnan(out.data).all()


@QUIET
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_infinite_rows_match_pytorch(name):
    torch = pytest.importorskip("torch")
    rows = np.concatenate([INFINITE_ROWS, [[1.0, 2.0, 3.0], [-np.inf, 0.0, 1.0]]])
    x = leaf(rows, np.float64)
    y = {"softmax": softmax, "log_softmax": log_softmax}[name](x)
    y.sum().backward()
    t = torch.tensor(rows, requires_grad=True)
    expected = getattr(torch, name)(t, dim=-1)
    expected.sum().backward()
    np.testing.assert_allclose(y.data, expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)
