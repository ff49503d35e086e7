"""Every op as a plain function: mg.exp(x), mg.sum(x, axis=1), mg.where(c, a, b) ...

Each is written out, so that "go to definition" on `mg.exp` lands here, one step from the
op's class, and grep finds it. Inputs come first (the tensors that get gradients), then the
options (axis, keepdims ...), which never carry gradients: a tensor given as an option
counts as its array, and one that requires grad is refused (see `constant`).

A new op in minigrad/ops gets its function here too; tests/test_ops.py checks that the
functions and the ops agree. Ops reached only through Tensor syntax have none:
x.astype(dtype) (cast) and x[index] (getitem). concat, stack and split take or give a
list of tensors and are written beside their ops, in minigrad/ops/join.py.
"""

from minigrad.convert import constant
from minigrad.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub
from minigrad.ops.elementwise import (
    Abs,
    Clip,
    Exp,
    Log,
    Maximum,
    Minimum,
    Relu,
    Sigmoid,
    Sqrt,
    Tanh,
)
from minigrad.ops.index import MaskedFill, Where
from minigrad.ops.join import concat, split, stack  # noqa: F401 (exported: __all__)
from minigrad.ops.matmul import MatMul
from minigrad.ops.reduce import Max, Mean, Min, Sum, Var
from minigrad.ops.shape import BroadcastTo, Permute, Reshape, SwapAxes


def _documented_by(op):
    """Give the function its op's docstring (help(mg.exp) shows Exp's formula) and a way
    back to the class (mg.exp.op is Exp)."""
    def document(function):
        function.__doc__, function.op = op.__doc__, op
        return function
    return document


def _options(op: str, **options) -> dict:
    return {name: constant(op, name, value) for name, value in options.items()}


# Elementwise, one input.
@_documented_by(Abs)
def abs(a):  # noqa: A001 (NumPy's and PyTorch's name)
    return Abs.apply(a)

@_documented_by(Exp)
def exp(a):
    return Exp.apply(a)

@_documented_by(Log)
def log(a):
    return Log.apply(a)

@_documented_by(Neg)
def neg(a):
    return Neg.apply(a)

@_documented_by(Relu)
def relu(a):
    return Relu.apply(a)

@_documented_by(Sigmoid)
def sigmoid(a):
    return Sigmoid.apply(a)

@_documented_by(Sqrt)
def sqrt(a):
    return Sqrt.apply(a)

@_documented_by(Tanh)
def tanh(a):
    return Tanh.apply(a)


# Two inputs that broadcast against each other.
@_documented_by(Add)
def add(a, b):
    return Add.apply(a, b)

@_documented_by(Sub)
def sub(a, b):
    return Sub.apply(a, b)

@_documented_by(Mul)
def mul(a, b):
    return Mul.apply(a, b)

@_documented_by(Div)
def div(a, b):
    return Div.apply(a, b)

@_documented_by(Pow)
def pow(a, b):  # noqa: A001 (NumPy's and PyTorch's name)
    return Pow.apply(a, b)

@_documented_by(Maximum)
def maximum(a, b):
    return Maximum.apply(a, b)

@_documented_by(Minimum)
def minimum(a, b):
    return Minimum.apply(a, b)

@_documented_by(MatMul)
def matmul(a, b):
    return MatMul.apply(a, b)

@_documented_by(Where)
def where(cond, a, b):
    return Where.apply(cond, a, b)


# Reductions over `axis` (None: all of them).
@_documented_by(Sum)
def sum(a, axis=None, keepdims=False):  # noqa: A001 (NumPy's and PyTorch's name)
    return Sum.apply(a, **_options("sum", axis=axis, keepdims=keepdims))

@_documented_by(Mean)
def mean(a, axis=None, keepdims=False):
    return Mean.apply(a, **_options("mean", axis=axis, keepdims=keepdims))

@_documented_by(Max)
def max(a, axis=None, keepdims=False):  # noqa: A001 (NumPy's and PyTorch's name)
    return Max.apply(a, **_options("max", axis=axis, keepdims=keepdims))

@_documented_by(Min)
def min(a, axis=None, keepdims=False):  # noqa: A001 (NumPy's and PyTorch's name)
    return Min.apply(a, **_options("min", axis=axis, keepdims=keepdims))

@_documented_by(Var)
def var(a, axis=None, keepdims=False, correction=1):
    return Var.apply(a, **_options("var", axis=axis, keepdims=keepdims, correction=correction))


# Shapes: the values stay, their arrangement changes.
@_documented_by(Reshape)
def reshape(a, shape=None):
    return Reshape.apply(a, **_options("reshape", shape=shape))

@_documented_by(Permute)
def permute(a, axes=None):
    return Permute.apply(a, **_options("permute", axes=axes))

@_documented_by(BroadcastTo)
def broadcast_to(a, shape=None):
    return BroadcastTo.apply(a, **_options("broadcast_to", shape=shape))

@_documented_by(SwapAxes)
def swapaxes(a, axis0=-2, axis1=-1):
    return SwapAxes.apply(a, **_options("swapaxes", axis0=axis0, axis1=axis1))


# A value as an option.
@_documented_by(MaskedFill)
def masked_fill(a, mask, value=0.0):
    return MaskedFill.apply(a, mask, **_options("masked_fill", value=value))


def transpose(a, axis0=-2, axis1=-1):
    """a with two axes swapped, the last two by default (as torch.transpose)."""
    return SwapAxes.apply(a, **_options("transpose", axis0=axis0, axis1=axis1))


def clip(a, min=None, max=None):  # noqa: A002 (PyTorch's names)
    """min(max(a, min), max), elementwise; the gradient is 1 inside the bounds, else 0."""
    return Clip.apply(a, low=constant("clip", "min", min), high=constant("clip", "max", max))


# Every public function here, and the three from join.py: what `import minigrad` exports.
__all__ = sorted(name for name, value in list(globals().items())
                 if not name.startswith("_") and callable(value) and name != "constant"
                 and getattr(value, "__module__", "") in (__name__, "minigrad.ops.join"))
