"""Attention written in NumPy: the reference task 2.2's checks judge by, and the stand-in
that keeps task 2.3's checks independent of task 2.2's answer (so task 2.3's child holds
this file, and task 2.2's never does).

Each formula is safe for the complex step (exact.py): the row maximum that softmax
subtracts is taken over real parts. Options model known mistakes (a mask filled with 0,
a causal mask off by one, softmax over the wrong axis, ...) for the messages.
"""

import numpy as np

from course.grader import exact


def attention_forward(q, k, v, allowed=None, scale=None, fill=-np.inf, axis=-1):
    """softmax(q k^T scale) v and the weights; masked scores (allowed False) are set to
    `fill`, and a query with every key masked gets all-zero weights."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale  # (..., T, S)
    if allowed is not None:
        scores = np.where(allowed, scores, fill)
    top = np.max(scores.real, axis=axis, keepdims=True)
    e = np.exp(scores - np.where(np.isfinite(top), top, 0))
    total = e.sum(axis=axis, keepdims=True)
    weights = e / np.where(total == 0, 1, total)
    return weights @ v, weights  # (..., T, dv), (..., T, S)


def allowed_keys(mask, causal, T, S, diagonal=0, flip=False):
    """Which keys each query may look at: the boolean mask and, if causal, keys s <= t
    (`diagonal` and `flip` model a causal mask off by one or flipped)."""
    allowed = None if mask is None else np.asarray(mask, dtype=bool)
    if causal:
        tri = np.triu(np.ones((T, S), bool)) if flip else \
            np.tril(np.ones((T, S), bool), k=diagonal)
        allowed = tri if allowed is None else allowed & tri
    return allowed


def _exact_attention_op():
    """The stand-in's op, made on first use (minigrad is imported only where checks run)."""
    global ExactAttention
    if ExactAttention is None:
        import minigrad as mg

        class _ExactAttention(mg.Function):
            """softmax(q k^T scale) v as one op: the NumPy formula forward, its exact
            derivative (the complex step) backward."""

            name = "exact_attention"

            @staticmethod
            def forward(ctx, q, k, v, allowed, scale):
                ctx.arrays, ctx.allowed, ctx.scale = (q, k, v), allowed, scale
                return attention_forward(q, k, v, allowed, scale)[0]

            @staticmethod
            def backward(ctx, grad):
                q, k, v = ctx.arrays
                grads = exact.gradients(
                    lambda q, k, v: attention_forward(q, k, v, ctx.allowed, ctx.scale)[0],
                    {"q": q, "k": k, "v": v}, ("q", "k", "v"), grad)
                return grads["grad_q"], grads["grad_k"], grads["grad_v"], None, None

        _ExactAttention.__qualname__ = "ExactAttention"
        ExactAttention = _ExactAttention
    return ExactAttention


ExactAttention = None  # the op class, once made; found here by name when a graph is replayed


def stand_in_attention():
    """scaled_dot_product_attention as a minigrad op whose forward is the NumPy formula and
    whose backward is its exact derivative: multi-head attention built on it runs none of
    the student's own attention, softmax or their backwards."""
    import minigrad as mg

    op = _exact_attention_op()

    def attend(q, k, v, mask=None, causal=False, scale=None):
        allowed = allowed_keys(mask, causal, q.shape[-2], k.shape[-2])
        out = op.apply(q, k, v, allowed, scale)
        weights = attention_forward(q.data, k.data, v.data, allowed, scale)[1]
        return out, mg.tensor(weights)
    return attend
