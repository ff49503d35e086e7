"""Every op as a plain function: mg.exp(x), mg.where(c, a, b), mg.concat([a, b]) ...

Each is a one-line call of the op's Function.apply; the math is in minigrad/ops/.
"""

from minigrad.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub
from minigrad.ops.elementwise import (
    Abs, Clip, Exp, Log, Maximum, Minimum, Relu, Sigmoid, Sqrt, Tanh,
)
from minigrad.ops.index import MaskedFill, Where
from minigrad.ops.join import concat, split, stack
from minigrad.ops.matmul import MatMul
from minigrad.ops.reduce import Max, Mean, Min, Sum, Var
from minigrad.ops.shape import BroadcastTo, Permute, Reshape, SwapAxes
from minigrad.tensor import _unwrap

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "tanh", "sigmoid",
    "relu", "abs", "clip", "maximum", "minimum", "sum", "mean", "max", "min", "var",
    "matmul", "reshape", "permute", "transpose", "swapaxes", "broadcast_to", "where",
    "masked_fill", "concat", "stack", "split",
]


def add(a, b):
    return Add.apply(a, b)


def sub(a, b):
    return Sub.apply(a, b)


def mul(a, b):
    return Mul.apply(a, b)


def div(a, b):
    return Div.apply(a, b)


def neg(a):
    return Neg.apply(a)


def pow(a, b):  # noqa: A001 - mirrors torch.pow
    return Pow.apply(a, b)


def exp(a):
    return Exp.apply(a)


def log(a):
    return Log.apply(a)


def sqrt(a):
    return Sqrt.apply(a)


def tanh(a):
    return Tanh.apply(a)


def sigmoid(a):
    return Sigmoid.apply(a)


def relu(a):
    return Relu.apply(a)


def abs(a):  # noqa: A001 - mirrors torch.abs
    return Abs.apply(a)


def clip(a, min=None, max=None):  # noqa: A002
    return Clip.apply(a, low=_unwrap(min), high=_unwrap(max))


def maximum(a, b):
    return Maximum.apply(a, b)


def minimum(a, b):
    return Minimum.apply(a, b)


def sum(a, axis=None, keepdims=False):  # noqa: A001
    return Sum.apply(a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    return Mean.apply(a, axis=axis, keepdims=keepdims)


def max(a, axis=None, keepdims=False):  # noqa: A001
    return Max.apply(a, axis=axis, keepdims=keepdims)


def min(a, axis=None, keepdims=False):  # noqa: A001
    return Min.apply(a, axis=axis, keepdims=keepdims)


def var(a, axis=None, keepdims=False, correction=1):
    return Var.apply(a, axis=axis, keepdims=keepdims, correction=correction)


def matmul(a, b):
    return MatMul.apply(a, b)


def reshape(a, shape):
    return Reshape.apply(a, shape=tuple(shape))


def permute(a, axes):
    return Permute.apply(a, axes=tuple(axes))


def transpose(a, axis0=-2, axis1=-1):
    return SwapAxes.apply(a, axis0=axis0, axis1=axis1)


def swapaxes(a, axis0, axis1):
    return SwapAxes.apply(a, axis0=axis0, axis1=axis1)


def broadcast_to(a, shape):
    return BroadcastTo.apply(a, shape=tuple(shape))


def where(cond, a, b):
    """a where cond is True, else b; cond is boolean and carries no gradient."""
    return Where.apply(_unwrap(cond), a, b)


def masked_fill(a, mask, value):
    """a with `value` where mask is True (mask broadcasts to a's shape)."""
    return MaskedFill.apply(a, _unwrap(mask), value=_unwrap(value))
