"""The attention layers against PyTorch: the same values and gradients in float64.

Conventions that differ and are translated here, not hidden: our Linear weight is
(in, out), torch's is (out, in); our masks say True = may attend, torch's key_padding_mask
and nn.MultiheadAttention's boolean attn_mask say True = ignore. Fully masked rows are
avoided: torch gives NaN there, ours gives 0 by design.
"""

import numpy as np
import pytest

import minigrad as mg
from attention import (
    Embedding,
    LayerNorm,
    Linear,
    MultiHeadAttention,
    cross_entropy,
    log_softmax,
    scaled_dot_product_attention,
    softmax,
)

pytestmark = pytest.mark.oracle


def close(ours, theirs, tol=1e-10):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert np.shape(ours) == np.shape(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def pair(torch, data):
    """The same float64 data as a minigrad leaf and a torch leaf, both requiring grad."""
    return mg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


# ---- softmax, log_softmax, cross_entropy ----------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("scale", [1.0, 1e3])  # 1e3: exp overflows without the max shift
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax(torch_oracle, rng, name, axis, scale):
    ours_fn = {"softmax": softmax, "log_softmax": log_softmax}[name]
    x, xt = pair(torch_oracle, rng.standard_normal((2, 3, 4)) * scale)
    upstream = rng.standard_normal((2, 3, 4))
    y, yt = ours_fn(x, axis=axis), getattr(torch_oracle, name)(xt, dim=axis)
    y.backward(upstream)
    yt.backward(torch_oracle.from_numpy(upstream))
    close(y.data, yt)
    close(x.grad, xt.grad)


def test_cross_entropy_mean(torch_oracle, rng):
    F = torch_oracle.nn.functional
    z, zt = pair(torch_oracle, rng.standard_normal((6, 5)) * 3)
    targets = rng.integers(0, 5, size=6)
    loss, loss_t = cross_entropy(z, targets), F.cross_entropy(zt, torch_oracle.from_numpy(targets))
    loss.backward()
    loss_t.backward()
    close(loss.data, loss_t)
    close(z.grad, zt.grad)


def test_cross_entropy_huge_logits(torch_oracle):
    F = torch_oracle.nn.functional
    z, zt = pair(torch_oracle, np.array([[1e4, -1e4, 0.0], [-5e3, 5e3, 1.0]]))
    targets = np.array([2, 0])
    loss, loss_t = cross_entropy(z, targets), F.cross_entropy(zt, torch_oracle.from_numpy(targets))
    loss.backward()
    loss_t.backward()
    close(loss.data, loss_t)
    close(z.grad, zt.grad)


def test_cross_entropy_ignore_index(torch_oracle, rng):
    F = torch_oracle.nn.functional
    z, zt = pair(torch_oracle, rng.standard_normal((6, 4)))
    targets = np.array([1, -100, 3, 0, -100, 2])
    loss = cross_entropy(z, targets, ignore_index=-100)
    loss_t = F.cross_entropy(zt, torch_oracle.from_numpy(targets), ignore_index=-100)
    loss.backward()
    loss_t.backward()
    close(loss.data, loss_t)
    close(z.grad, zt.grad)


@pytest.mark.parametrize("use_mask", [False, True])
def test_cross_entropy_3d_logits(torch_oracle, rng, use_mask):
    # (B, T, C) logits: torch wants (N, C), so flatten B and T; our mask is torch's
    # ignore_index applied to the masked-out targets.
    F = torch_oracle.nn.functional
    B, T, C = 2, 4, 5
    z, zt = pair(torch_oracle, rng.standard_normal((B, T, C)))
    targets = rng.integers(0, C, size=(B, T))
    mask = np.array([[True, True, True, False], [True, False, True, True]])
    loss = cross_entropy(z, targets, mask=mask if use_mask else None)
    torch_targets = np.where(mask, targets, -100) if use_mask else targets
    loss_t = F.cross_entropy(zt.reshape(B * T, C),
                             torch_oracle.from_numpy(torch_targets.reshape(B * T)),
                             ignore_index=-100)
    loss.backward()
    loss_t.backward()
    close(loss.data, loss_t)
    close(z.grad, zt.grad)


# ---- Linear, Embedding, LayerNorm -----------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_linear(torch_oracle, rng, bias):
    F = torch_oracle.nn.functional
    lin = Linear(4, 3, bias=bias).to("float64")
    x, xt = pair(torch_oracle, rng.standard_normal((2, 5, 4)))
    wt = torch_oracle.tensor(lin.weight.data.T.copy(), requires_grad=True)  # (out, in)
    bt = torch_oracle.tensor(lin.bias.data, requires_grad=True) if bias else None
    upstream = rng.standard_normal((2, 5, 3))
    y, yt = lin(x), F.linear(xt, wt, bt)
    y.backward(upstream)
    yt.backward(torch_oracle.from_numpy(upstream))
    close(y.data, yt)
    close(x.grad, xt.grad)
    close(lin.weight.grad, wt.grad.T)
    if bias:
        close(lin.bias.grad, bt.grad)


def test_embedding(torch_oracle, rng):
    F = torch_oracle.nn.functional
    emb = Embedding(6, 3).to("float64")
    wt = torch_oracle.tensor(emb.weight.data, requires_grad=True)
    ids = np.array([[1, 4, 1], [0, 1, 5]])  # id 1 three times: its gradients add up
    upstream = rng.standard_normal((2, 3, 3))
    y, yt = emb(ids), F.embedding(torch_oracle.from_numpy(ids), wt)
    y.backward(upstream)
    yt.backward(torch_oracle.from_numpy(upstream))
    close(y.data, yt)
    close(emb.weight.grad, wt.grad)


def test_layernorm(torch_oracle, rng):
    ln = LayerNorm(5).to("float64")
    ln.weight.data = rng.standard_normal(5)
    ln.bias.data = rng.standard_normal(5)
    ln_t = torch_oracle.nn.LayerNorm(5, dtype=torch_oracle.float64)
    with torch_oracle.no_grad():
        ln_t.weight.copy_(torch_oracle.from_numpy(ln.weight.data))
        ln_t.bias.copy_(torch_oracle.from_numpy(ln.bias.data))
    x, xt = pair(torch_oracle, rng.standard_normal((2, 3, 5)) * 3 + 1)
    upstream = rng.standard_normal((2, 3, 5))
    y, yt = ln(x), ln_t(xt)
    y.backward(upstream)
    yt.backward(torch_oracle.from_numpy(upstream))
    close(y.data, yt)
    close(x.grad, xt.grad)
    close(ln.weight.grad, ln_t.weight.grad)
    close(ln.bias.grad, ln_t.bias.grad)


# ---- scaled dot-product attention -----------------------------------------------------------


def sdpa_both(torch, rng, q_shape, k_shape, v_shape, ours_kwargs, torch_kwargs):
    """Run both SDPAs on the same data and a random upstream gradient; compare everything."""
    (q, qt), (k, kt), (v, vt) = (pair(torch, rng.standard_normal(s))
                                 for s in (q_shape, k_shape, v_shape))
    out, _ = scaled_dot_product_attention(q, k, v, **ours_kwargs)
    out_t = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **torch_kwargs)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    out_t.backward(torch.from_numpy(upstream))
    close(out.data, out_t)
    for ours, theirs in ((q, qt), (k, kt), (v, vt)):
        close(ours.grad, theirs.grad)


def test_sdpa_no_mask(torch_oracle, rng):
    sdpa_both(torch_oracle, rng, (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), {}, {})


@pytest.mark.parametrize("T, S", [(4, 4), (3, 5)])  # T != S: both align causal top-left
def test_sdpa_causal(torch_oracle, rng, T, S):
    sdpa_both(torch_oracle, rng, (2, 2, T, 4), (2, 2, S, 4), (2, 2, S, 3),
              {"causal": True}, {"is_causal": True})


def test_sdpa_bool_mask(torch_oracle, rng):
    # Both use True = may attend here. Key 0 is always allowed: no fully masked row.
    mask = rng.random((2, 1, 3, 5)) < 0.5  # broadcast over heads
    mask[..., 0] = True
    sdpa_both(torch_oracle, rng, (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3),
              {"mask": mask}, {"attn_mask": torch_oracle.from_numpy(mask)})


# ---- MultiHeadAttention vs torch.nn.MultiheadAttention --------------------------------------


def torch_mha_like(torch, mha, context_dim=None):
    """A torch.nn.MultiheadAttention holding our weights (transposed to (out, in))."""
    E = mha.d_model
    theirs = torch.nn.MultiheadAttention(E, mha.n_heads, bias=True, batch_first=True,
                                         kdim=context_dim, vdim=context_dim,
                                         dtype=torch.float64)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    q, k, v, o = mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj
    with torch.no_grad():
        if context_dim in (None, E):  # one packed in_proj_weight, rows [q; k; v]
            theirs.in_proj_weight.copy_(t(np.concatenate([q.weight.data.T, k.weight.data.T,
                                                          v.weight.data.T])))
        else:  # separate projections when the context width differs
            theirs.q_proj_weight.copy_(t(q.weight.data.T))
            theirs.k_proj_weight.copy_(t(k.weight.data.T))
            theirs.v_proj_weight.copy_(t(v.weight.data.T))
        theirs.in_proj_bias.copy_(t(np.concatenate([q.bias.data, k.bias.data, v.bias.data])))
        theirs.out_proj.weight.copy_(t(o.weight.data.T))
        theirs.out_proj.bias.copy_(t(o.bias.data))
    return theirs


def compare_param_grads(mha, theirs, context_dim=None):
    E = mha.d_model
    q, k, v = mha.q_proj, mha.k_proj, mha.v_proj
    if context_dim in (None, E):
        W = theirs.in_proj_weight.grad
        close(q.weight.grad, W[:E].T)
        close(k.weight.grad, W[E:2 * E].T)
        close(v.weight.grad, W[2 * E:].T)
    else:
        close(q.weight.grad, theirs.q_proj_weight.grad.T)
        close(k.weight.grad, theirs.k_proj_weight.grad.T)
        close(v.weight.grad, theirs.v_proj_weight.grad.T)
    b = theirs.in_proj_bias.grad
    close(q.bias.grad, b[:E])
    close(k.bias.grad, b[E:2 * E])
    close(v.bias.grad, b[2 * E:])
    close(mha.out_proj.weight.grad, theirs.out_proj.weight.grad.T)
    close(mha.out_proj.bias.grad, theirs.out_proj.bias.grad)


def mha_both(torch, rng, B, T, S, E, H, context_dim=None, cross=False, padding=None,
             causal=False):
    """Run ours and torch's MHA on the same inputs; compare output, weights and all grads.

    padding: (B, S) boolean, True = padded key (torch's key_padding_mask convention)."""
    mha = MultiHeadAttention(E, H, context_dim=context_dim).to("float64")
    theirs = torch_mha_like(torch, mha, context_dim)
    x, xt = pair(torch, rng.standard_normal((B, T, E)))
    c, ct = pair(torch, rng.standard_normal((B, S, context_dim or E))) if cross else (x, xt)
    mask = None if padding is None else ~padding[:, None, None, :]  # (B, 1, 1, S), True = ok
    torch_kwargs = {}
    if padding is not None:
        torch_kwargs["key_padding_mask"] = torch.from_numpy(padding)
    if causal:  # nn.MultiheadAttention's boolean attn_mask: True = NOT allowed
        torch_kwargs["attn_mask"] = torch.from_numpy(~np.tril(np.ones((T, S), dtype=bool)))

    y = mha(x, context=c if cross else None, mask=mask, causal=causal)
    yt, wt = theirs(xt, ct, ct, need_weights=True, average_attn_weights=False, **torch_kwargs)
    upstream = rng.standard_normal((B, T, E))
    y.backward(upstream)
    yt.backward(torch.from_numpy(upstream))

    close(y.data, yt)
    close(mha.attention_weights, wt)  # (B, H, T, S)
    close(x.grad, xt.grad)
    if cross:
        close(c.grad, ct.grad)
    compare_param_grads(mha, theirs, context_dim)
    return mha


def test_mha_self_attention(torch_oracle, rng):
    mha_both(torch_oracle, rng, B=2, T=4, S=4, E=6, H=3)


def test_mha_self_attention_causal(torch_oracle, rng):
    mha = mha_both(torch_oracle, rng, B=2, T=4, S=4, E=4, H=2, causal=True)
    assert np.all(np.triu(mha.attention_weights, 1) == 0)


def test_mha_cross_attention(torch_oracle, rng):
    # S != T: one output row per query, keys and values from the context.
    mha = mha_both(torch_oracle, rng, B=2, T=3, S=5, E=4, H=2, cross=True)
    assert mha.attention_weights.shape == (2, 2, 3, 5)


def test_mha_cross_attention_with_different_context_width(torch_oracle, rng):
    mha_both(torch_oracle, rng, B=2, T=3, S=5, E=4, H=2, context_dim=3, cross=True)


@pytest.mark.parametrize("cross", [False, True])
def test_mha_key_padding_mask(torch_oracle, rng, cross):
    S = 5 if cross else 4
    padding = np.zeros((2, S), dtype=bool)
    padding[0, -2:] = True  # batch row 0 has two padded keys; row 1 none
    mha = mha_both(torch_oracle, rng, B=2, T=4, S=S, E=4, H=2, cross=cross, padding=padding)
    assert np.all(mha.attention_weights[0, ..., -2:] == 0)
