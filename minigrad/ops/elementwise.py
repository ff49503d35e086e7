"""Elementwise math: exp, log, sqrt, tanh, sigmoid, relu, abs, clip, maximum, minimum, cast.

Where the derivative is undefined at a kink (relu and abs at 0, clip at its bounds, a tie
in maximum), we pick the value PyTorch picks, so the two agree.
"""

import numpy as np

from minigrad.broadcast import fits
from minigrad.function import Function
from minigrad.ops.arithmetic import same_float


class Exp(Function):
    """exp(a);  d/da = exp(a), which is the output, so we keep the output."""

    name = "exp"

    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        # BEGIN SOLUTION task1_1: the backward of exp
        return grad * out
        # END SOLUTION


class Log(Function):
    """log(a);  d/da = 1 / a."""

    name = "log"
    domain = "positive"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        # BEGIN SOLUTION task1_1: the backward of log
        return grad / a
        # END SOLUTION


class Sqrt(Function):
    """sqrt(a);  d/da = 1 / (2 sqrt(a))."""

    name = "sqrt"
    domain = "positive"

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        # BEGIN SOLUTION task1_1: the backward of sqrt
        return grad / (2 * out)
        # END SOLUTION


class Tanh(Function):
    """tanh(a);  d/da = 1 - tanh(a)**2."""

    name = "tanh"

    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        # BEGIN SOLUTION task1_1: the backward of tanh
        return grad * (1 - out * out)
        # END SOLUTION


class Sigmoid(Function):
    """1 / (1 + exp(-a));  d/da = s (1 - s)."""

    name = "sigmoid"

    @staticmethod
    def forward(ctx, a):
        # exp(-logaddexp(0, -a)) is 1 / (1 + exp(-a)) without overflow for very negative a.
        out = np.exp(-np.logaddexp(0, -a)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        # BEGIN SOLUTION task1_1: the backward of sigmoid
        return grad * out * (1 - out)
        # END SOLUTION


class Relu(Function):
    """max(a, 0);  d/da = 1 where a > 0, else 0 (0 at a == 0, as PyTorch)."""

    name = "relu"
    domain = "nonzero"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        # BEGIN SOLUTION task1_1: the backward of relu
        # where, not grad * mask: an inf arriving where a <= 0 must give 0, not inf * 0 = NaN
        # (and a NaN input passes its gradient on, as PyTorch's relu does)
        return np.where(a <= 0, 0, grad)
        # END SOLUTION


class Abs(Function):
    """|a|;  d/da = sign(a) (0 at a == 0, as PyTorch)."""

    name = "abs"
    domain = "nonzero"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        return grad * np.sign(a)


class Clip(Function):
    """min(max(a, low), high);  d/da = 1 where low <= a <= high, else 0."""

    name = "clip"
    domain = "nonzero"

    @staticmethod
    def forward(ctx, a, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clip: give at least one of min and max")
        # Bounds take a's dtype, so float64 bounds do not widen a float32 tensor.
        low = None if low is None else np.asarray(low, dtype=a.dtype)
        high = None if high is None else np.asarray(high, dtype=a.dtype)
        for what, bound in (("min", low), ("max", high)):
            # A bound may vary per element, but never make the result bigger than a: the
            # gradient could not be summed back, and a backward would fail half-way.
            if bound is not None and not fits(bound.shape, a.shape):
                raise ValueError(f"clip: {what} of shape {bound.shape} does not fit a tensor "
                                 f"of shape {a.shape} (it would broadcast it to a bigger "
                                 "shape)")
        ctx.save_for_backward(a)
        ctx.low, ctx.high = low, high
        return np.clip(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        inside = np.ones(a.shape, dtype=bool)
        if ctx.low is not None:
            inside &= a >= ctx.low
        if ctx.high is not None:
            inside &= a <= ctx.high
        return np.where(inside, grad, 0)  # not grad * inside: inf * 0 would be NaN


class Maximum(Function):
    """max(a, b) elementwise;  the larger input gets the gradient, a tie splits it in half."""

    name = "maximum"
    kind = "binary"
    domain = "distinct"

    @staticmethod
    def forward(ctx, a, b):
        a, b = same_float(a, b)
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        return _shares(grad, a < b, a > b, a == b)


def _shares(grad, a_loses, b_loses, tie):
    """(a's, b's) part of grad: an exact 0 to the loser (never grad * 0, which is NaN for an
    infinite grad), half each on a tie, all of it otherwise (so a NaN operand, which neither
    wins nor loses, gets the gradient, as in PyTorch)."""
    half = grad * 0.5
    return (np.where(a_loses, 0, np.where(tie, half, grad)),
            np.where(b_loses, 0, np.where(tie, half, grad)))


class Minimum(Function):
    """min(a, b) elementwise;  the smaller input gets the gradient, a tie splits it in half."""

    name = "minimum"
    kind = "binary"
    domain = "distinct"

    @staticmethod
    def forward(ctx, a, b):
        a, b = same_float(a, b)
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        return _shares(grad, a > b, a < b, a == b)


class Cast(Function):
    """a converted to another dtype;  the gradient is converted back (the engine does it)."""

    name = "cast"

    @staticmethod
    def forward(ctx, a, dtype=None):
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad
