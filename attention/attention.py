"""Scaled dot-product attention, and a single self-attention head with learned W_Q, W_K, W_V.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Each query is compared with every key (a dot product: high when they point the same way);
softmax turns a query's scores into weights that are non-negative and sum to 1; the output
is the weighted average of the values. Why divide by sqrt(d_k): for query and key entries
with unit variance, q . k is a sum of d_k products and has variance d_k, so without the
scale the scores grow with the width, softmax saturates into a one-hot, and its gradients
vanish. Dividing by sqrt(d_k) keeps the score variance near 1 at any width.

Shapes: B batch, H heads (optional), T queries, S keys/values, d_k / d_v widths.
"""

import numpy as np

import minigrad as mg
from attention.linear import Linear
from attention.softmax import softmax
from minigrad.nn import Module


def causal_mask(T: int, S: int) -> np.ndarray:
    """(T, S) boolean, True where query t may look at key s <= t (top-left aligned, as
    PyTorch's is_causal)."""
    return np.tril(np.ones((T, S), dtype=bool))


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None):
    """q: (..., T, d_k), k: (..., S, d_k), v: (..., S, d_v) -> (out (..., T, d_v), weights).

    mask: boolean, broadcastable to (..., T, S), True where attention is allowed. A query
    whose keys are all masked gets zero weights and a zero output (never NaN)."""
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape} need "
            "q and k to share the last axis (d_k) and k and v the second-to-last (S)"
        )
    # BEGIN SOLUTION task2_2: scaled dot-product attention
    d_k = q.shape[-1]
    T, S = q.shape[-2], k.shape[-2]
    scale = float(1.0 / np.sqrt(d_k) if scale is None else scale)  # a Python float keeps dtype
    # Scaling q (T x d_k numbers) rather than the scores (T x S) gives the same result with
    # less work and memory when sequences are long.
    scores = (q * scale) @ k.swapaxes(-1, -2)  # (..., T, d_k) @ (..., d_k, S) -> (..., T, S)

    allowed = None
    if mask is not None:
        allowed = np.asarray(mask.data if isinstance(mask, mg.Tensor) else mask)
        if allowed.dtype != bool:
            raise TypeError(
                f"scaled_dot_product_attention: mask must be boolean (True = may attend), "
                f"got dtype {allowed.dtype}"
            )
    if causal:
        allowed = causal_mask(T, S) if allowed is None else allowed & causal_mask(T, S)
    if allowed is not None:
        # -inf scores get exactly zero weight after softmax.
        scores = scores.masked_fill(~allowed, -np.inf)  # (..., T, S)

    weights = softmax(scores, axis=-1)  # (..., T, S), each row sums to 1 (or is all 0)
    out = weights @ v  # (..., T, S) @ (..., S, d_v) -> (..., T, d_v)
    return out, weights
    # END SOLUTION


class SelfAttention(Module):
    """One attention head: queries, keys and values are learned projections of the same x.

    x: (B, T, d_model) -> (B, T, d_head). `attention_weights` keeps the last forward's
    weights, (B, T, T), as a NumPy array for plotting."""

    def __init__(self, d_model: int, d_head: int | None = None, bias: bool = False):
        super().__init__()
        d_head = d_head or d_model
        self.d_model, self.d_head = d_model, d_head
        self.W_Q = Linear(d_model, d_head, bias=bias)
        self.W_K = Linear(d_model, d_head, bias=bias)
        self.W_V = Linear(d_model, d_head, bias=bias)
        self.attention_weights = None

    def forward(self, x, mask=None, causal=False):
        q = self.W_Q(x)  # (B, T, d_head): what each position is looking for
        k = self.W_K(x)  # (B, T, d_head): what each position offers to be found by
        v = self.W_V(x)  # (B, T, d_head): what each position passes on when attended to
        out, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
        self.attention_weights = weights.data  # (B, T, T)
        return out

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, d_head={self.d_head}"
