"""Scaled dot-product attention, and a single self-attention head with learned W_Q, W_K, W_V.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Each query is compared with every key (a dot product: high when they point the same way);
softmax turns a query's scores into weights that are non-negative and sum to 1; the output
is the weighted average of the values. Why divide by sqrt(d_k): for query and key entries
with unit variance, q . k is a sum of d_k products and has variance d_k, so without the
scale the scores grow with the width, softmax saturates into a one-hot, and its gradients
vanish. Dividing by sqrt(d_k) keeps the score variance near 1 at any width.

Shapes, here and in multihead.py: B batch, nh heads, T queries, S keys and values (S = T
in self-attention), C the model width (d_model), hs the head width (d_k in the formula).
"""

import numpy as np

import minigrad as mg
from attention.linear import Linear
from attention.softmax import softmax
from minigrad.broadcast import fits
from minigrad.nn import Module


def causal_mask(T: int, S: int) -> np.ndarray:
    """(T, S) boolean, True where query t may look at key s <= t (top-left aligned, as
    PyTorch's is_causal)."""
    return np.tril(np.ones((T, S), dtype=bool))


def read_only(array: np.ndarray) -> np.ndarray:
    """A view that cannot be written: attention weights are also saved for backward, so an
    edit through `layer.attention_weights` would silently change the gradients."""
    view = array.view()
    view.flags.writeable = False
    return view


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None):
    """q: (..., T, hs), k: (..., S, hs), v: (..., S, hs_v) -> (out (..., T, hs_v), weights
    (..., T, S)); `...` is (B,) or (B, nh), or any batch shape that broadcasts.

    mask: boolean, broadcastable to (..., T, S), True where attention is allowed. A query
    whose keys are all masked gets zero weights and a zero output (never NaN).
    causal: also forbid query t to see keys s > t (causal_mask). scale: multiplies the
    scores instead of 1/sqrt(d_k) when given.

    Build the result from minigrad operations on q, k and v (@, swapaxes, masked_fill,
    softmax), so that backward finds the gradients of q, k and v through it. NumPy
    arithmetic on .data gives the right values but no gradient."""
    mask = _boolean_mask(mask, _scores_shape(q, k, v))  # None, or a NumPy bool array
    # BEGIN SOLUTION task2_2: scaled dot-product attention
    d_k = q.shape[-1]
    T, S = q.shape[-2], k.shape[-2]
    scale = float(1.0 / np.sqrt(d_k) if scale is None else scale)  # a Python float keeps dtype
    # Scaling q (T x d_k numbers) rather than the scores (T x S) gives the same result with
    # less work and memory when sequences are long.
    scores = (q * scale) @ k.swapaxes(-1, -2)  # (..., T, hs) @ (..., hs, S) -> (..., T, S)

    allowed = mask
    if causal:
        allowed = causal_mask(T, S) if allowed is None else allowed & causal_mask(T, S)
    if allowed is not None:
        # -inf scores get exactly zero weight after softmax.
        scores = scores.masked_fill(~allowed, -np.inf)  # (..., T, S)

    weights = softmax(scores, axis=-1)  # (..., T, S), each row sums to 1 (or is all 0)
    out = weights @ v  # (..., T, S) @ (..., S, hs_v) -> (..., T, hs_v)
    return out, weights
    # END SOLUTION


# ---- what scaled_dot_product_attention refuses, by name ----------------------------------

def _scores_shape(q, k, v) -> tuple:
    """(..., T, S), the shape of q k^T; q, k, v that cannot make it are refused by name."""
    if min(q.ndim, k.ndim, v.ndim) < 2 or q.shape[-1] != k.shape[-1] or \
            k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape} need "
            "at least 2 dimensions each, q and k sharing the last axis (d_k) and k and v "
            "the second-to-last (S)"
        )
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: the batch axes of q {q.shape}, k "
                         f"{k.shape} and v {v.shape} do not broadcast") from None
    return batch + (q.shape[-2], k.shape[-2])


def _boolean_mask(mask, shape):
    """The mask as a NumPy bool array (None stays None); any other dtype, or a shape that
    does not broadcast to the scores' `shape` (or would make them bigger), is refused."""
    if mask is None:
        return None
    allowed = np.asarray(mask.data if isinstance(mask, mg.Tensor) else mask)
    if allowed.dtype != bool:
        raise TypeError(
            f"scaled_dot_product_attention: mask must be boolean (True = may attend), "
            f"got dtype {allowed.dtype}"
        )
    if not fits(allowed.shape, shape):
        raise ValueError(f"scaled_dot_product_attention: mask of shape {allowed.shape} does "
                         f"not broadcast to the scores' shape {shape} (..., T, S)")
    return allowed


class SelfAttention(Module):
    """One attention head: queries, keys and values are learned projections of the same x,
    through the lecture's matrices W_Q, W_K and W_V.

    x: (B, T, C) -> (B, T, hs). `attention_weights` keeps the last forward's weights,
    (B, T, S) with S = T, as a read-only NumPy array for plotting."""

    def __init__(self, d_model: int, head_dim: int | None = None, bias: bool = False):
        super().__init__()
        head_dim = head_dim or d_model
        self.d_model, self.head_dim = d_model, head_dim
        self.W_Q = Linear(d_model, head_dim, bias=bias)
        self.W_K = Linear(d_model, head_dim, bias=bias)
        self.W_V = Linear(d_model, head_dim, bias=bias)
        self.attention_weights = None  # np.ndarray (B, T, S) of the last forward

    def forward(self, x, mask=None, causal=False):
        q = self.W_Q(x)  # (B, T, hs): what each position is looking for
        k = self.W_K(x)  # (B, T, hs): what each position offers to be found by
        v = self.W_V(x)  # (B, T, hs): what each position passes on when attended to
        out, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
        self.attention_weights = read_only(weights.data)  # (B, T, S)
        return out  # (B, T, hs)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, head_dim={self.head_dim}"
