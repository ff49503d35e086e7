"""softmax and log_softmax: the worked example of extending minigrad with a new op.

softmax(x)_i = exp(x_i) / sum_j exp(x_j). Written as a Function, forward and backward are
one short formula each, computed on NumPy arrays. `softmax_composite` builds the same thing
from primitive ops (exp, sum, divide); the tests gradcheck both and show they agree. The
Function version is faster and keeps the graph one node deep.

Stability: exp overflows float32 above x = 88. Subtracting the row maximum first changes
nothing mathematically (the factor exp(-max) cancels between numerator and denominator)
and makes the largest exponent exactly 0, so nothing overflows for any finite input.
"""

import numpy as np

import minigrad as mg
from minigrad.ops.reduce import normalize_axes


def row_max(x: np.ndarray, axis: int) -> np.ndarray:
    """Max along axis, with rows that are entirely -inf (fully masked) shifted by 0 instead.
    An empty axis has no max: its (empty) rows are shifted by 0 too.

    A row holding +inf keeps it as its max: inf - inf is NaN, and the whole row comes out
    NaN, as in PyTorch. (Shifting it by 0 would give [0, nan, 0], a row that looks half
    valid.)"""
    if x.shape[axis] == 0:
        return np.zeros(x.shape[:axis % x.ndim] + (1,) + x.shape[axis % x.ndim + 1:], x.dtype)
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(m == -np.inf, 0.0, m).astype(x.dtype, copy=False)


class Softmax(mg.Function):
    """y = exp(x - max) / sum(exp(x - max));  dx = y * (dy - sum(dy * y)).

    A row whose entries are all -inf (every position masked out) gives all zeros rather
    than NaN: there is nothing to attend to, so it contributes nothing."""

    name = "softmax"

    @staticmethod
    def forward(ctx, x, axis=-1):
        if x.ndim == 0:
            raise ValueError("softmax: needs a tensor with at least one axis, got a 0-d one")
        (axis,) = normalize_axes("softmax", axis, x.ndim, x.shape)
        e = np.exp(x - row_max(x, axis))
        total = np.sum(e, axis=axis, keepdims=True)
        y = e / np.where(total == 0, 1, total)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        # BEGIN SOLUTION task2_1: the backward of softmax
        # Jacobian of softmax is diag(y) - y y^T; applied to grad without building it:
        return y * (grad - np.sum(grad * y, axis=ctx.axis, keepdims=True))
        # END SOLUTION


class LogSoftmax(mg.Function):
    """y = x - max - log(sum(exp(x - max)));  dx = dy - softmax(x) * sum(dy)."""

    name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis=-1):
        if x.ndim == 0:
            raise ValueError("log_softmax: needs a tensor with at least one axis, got a 0-d one")
        (axis,) = normalize_axes("log_softmax", axis, x.ndim, x.shape)
        shifted = x - row_max(x, axis)
        with np.errstate(divide="ignore"):  # log(0) = -inf: an empty or fully masked row
            y = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        # BEGIN SOLUTION task2_1: the backward of log_softmax
        return grad - np.exp(y) * np.sum(grad, axis=ctx.axis, keepdims=True)
        # END SOLUTION


def softmax(x, axis=-1):
    """Probabilities along `axis`: non-negative, summing to 1."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """log(softmax(x)), computed without ever forming softmax (no log(0) for tiny probs)."""
    return LogSoftmax.apply(x, axis=axis)


def softmax_composite(x, axis=-1):
    """softmax from primitive ops: the same function, with backward derived by the engine."""
    shift = x.max(axis=axis, keepdims=True).detach()  # a constant: it cancels out anyway
    e = (x - shift).exp()
    return e / e.sum(axis=axis, keepdims=True)
