"""Multi-head attention: several attention heads side by side, each in its own subspace.

The model width C is split into nh heads of hs = C / nh channels. Each head attends on its
own, so one head can follow position (the previous token) while another follows content
(a particular word); their outputs are concatenated and mixed by out_proj.

Self-attention: queries, keys and values all come from x. Cross-attention: queries from x,
keys and values from another sequence `context` (an encoder's output, say); the output has
one row per query, so its length follows x, not the context.

Shapes (as in attention.py): B batch, nh heads, T queries, S keys and values,
C = d_model the model width, hs = C // nh the head width.
"""

import numpy as np

from attention.attention import read_only, scaled_dot_product_attention
from attention.linear import Linear
from minigrad.nn import Module, check_sizes

SHARE = (None, "qk", "qkv")


def with_padding(mask, key_padding_mask, B: int, S: int):
    """`mask` (allowed keys, or None) with the padded keys forbidden: a boolean array that
    broadcasts to (B, nh, T, S)."""
    pads = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))
    if pads.dtype != bool or pads.shape != (B, S):
        raise ValueError(f"MultiHeadAttention: key_padding_mask must be a boolean array of "
                         f"shape (B, S) = ({B}, {S}), True at padding; got {pads.dtype} "
                         f"{pads.shape}")
    allowed = ~pads[:, None, None, :]  # (B, 1, 1, S): every head and query alike
    if mask is None:
        return allowed
    mask = np.asarray(getattr(mask, "data", mask))
    if mask.dtype != bool:
        raise TypeError(f"MultiHeadAttention: mask must be boolean (True = may attend), got "
                        f"dtype {mask.dtype}")
    return mask & allowed


class MultiHeadAttention(Module):
    """y = out_proj(concat_h attention(x Wq_h, c Wk_h, c Wv_h)), c = context or x.

    share="qk" makes keys with the queries' projection (Wk = Wq), share="qkv" values too:
    the experiment of why attention has three matrices. With Wq = Wk every score is
    symmetric (score(i, j) = score(j, i)) and a query scores itself at least as high as a
    key of the same length, so "look at the previous token" is out of reach."""

    def __init__(self, d_model: int, n_heads: int, bias: bool = True,
                 context_dim: int | None = None, share: str | None = None):
        super().__init__()
        check_sizes("MultiHeadAttention", d_model=d_model, n_heads=n_heads)
        if share not in SHARE:
            raise ValueError(f"MultiHeadAttention: share must be one of {SHARE}, got {share!r}")
        if share and context_dim not in (None, d_model):
            raise ValueError("MultiHeadAttention: share needs keys made like queries, so "
                             f"context_dim={context_dim} must equal d_model={d_model}")
        if context_dim is not None:
            check_sizes("MultiHeadAttention", context_dim=context_dim)
        if d_model % n_heads:
            raise ValueError(
                f"MultiHeadAttention: d_model={d_model} is not divisible by n_heads={n_heads}"
            )
        context_dim = context_dim or d_model
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.share = share
        self.q_proj = Linear(d_model, d_model, bias=bias)
        # A shared projection is one module under two names: its parameters count once.
        self.k_proj = self.q_proj if share else Linear(context_dim, d_model, bias=bias)
        self.v_proj = self.q_proj if share == "qkv" else Linear(context_dim, d_model, bias=bias)
        self.out_proj = Linear(d_model, d_model, bias=bias)
        self.attention_weights = None  # np.ndarray (B, nh, T, S) of the last forward

    def _split_heads(self, x):
        B, L, C = x.shape
        x = x.reshape(B, L, self.n_heads, self.head_dim)  # (B, L, nh, hs)
        return x.transpose(1, 2)  # (B, nh, L, hs)

    def forward(self, x, context=None, mask=None, causal=False, key_padding_mask=None):
        """x: (B, T, C); context: (B, S, context_dim) or None for self-attention;
        mask: boolean broadcastable to (B, nh, T, S), True where attention is allowed;
        causal: forbid each query the keys after it; key_padding_mask: boolean (B, S),
        True at the padding of a shorter sequence (PyTorch's meaning: True = ignore), so
        that no query attends to it. Returns (B, T, C).

        Project (q from x; k and v from context), split into heads, attend with
        scaled_dot_product_attention, keep its weights (B, nh, T, S) in
        self.attention_weights (read_only), merge the heads, apply out_proj. Use minigrad
        operations throughout, so that backward reaches x, the context and every
        projection's weight and bias."""
        self._check_inputs(x, context)
        if key_padding_mask is not None:
            mask = with_padding(mask, key_padding_mask, x.shape[0],
                                (x if context is None else context).shape[1])
        # BEGIN SOLUTION task2_3: the forward of multi-head attention
        context = x if context is None else context
        B, T, C = x.shape
        q = self._split_heads(self.q_proj(x))  # (B, nh, T, hs)
        k = self._split_heads(self.k_proj(context))  # (B, nh, S, hs)
        v = self._split_heads(self.v_proj(context))  # (B, nh, S, hs)
        y, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
        self.attention_weights = read_only(weights.data)  # (B, nh, T, S)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, nh, hs) -> (B, T, C): heads side by side
        return self.out_proj(y)  # (B, T, C)
        # END SOLUTION

    def _check_inputs(self, x, context):
        """x (B, T, C) and context (B, S, context_dim), or a ValueError naming the shapes."""
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"MultiHeadAttention: x of shape {x.shape} should be (B, T, {self.d_model})"
            )
        if context is not None and (context.ndim != 3 or context.shape[0] != x.shape[0] or
                                    context.shape[-1] != self.k_proj.in_features):
            raise ValueError(
                f"MultiHeadAttention: context of shape {context.shape} should be (B, S, "
                f"{self.k_proj.in_features}) with the batch size of x ({x.shape[0]})"
            )

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}"
