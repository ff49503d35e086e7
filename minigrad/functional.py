"""Every op as a plain function: mg.exp(x), mg.where(c, a, b), mg.concat([a, b]) ...

Each op in minigrad/ops is exported under its name, as a function that calls the op's
`Function.apply`: its inputs positionally, then its options (axis, keepdims ...)
positionally or by keyword, as in `mg.sum(x, 1, keepdims=True)`. So defining an op class
is all it takes for `mg.<name>` to exist. The few functions whose call differs from their
op's (a list of tensors, torch's argument names) are written out below.
"""

import inspect

from minigrad.ops import all_ops
from minigrad.ops.elementwise import Clip
from minigrad.ops.join import concat, split, stack
from minigrad.ops.shape import SwapAxes
from minigrad.tensor import _unwrap


def _as_function(op):
    """`op.apply` as a function with the op's name, docstring and signature (for help()).

    forward's parameters without a default are the op's inputs; those with a default are
    its options, which apply() must receive by keyword, so positional ones are named here.
    Options never carry gradients, so a tensor given as one counts as its array."""
    parameters = list(inspect.signature(op.forward).parameters.values())[1:]  # no ctx
    options = [p.name for p in parameters if p.default is not inspect.Parameter.empty]
    n_inputs = len(parameters) - len(options)

    def function(*args, **attrs):
        inputs, extra = args[:n_inputs], args[n_inputs:]
        attrs.update(zip(options, extra))
        return op.apply(*inputs, **{k: _unwrap(v) for k, v in attrs.items()})

    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = op.__doc__
    function.__signature__ = inspect.Signature(parameters)
    function.__wrapped__ = op  # so a reader (or inspect.unwrap) finds the class
    return function


def clip(a, min=None, max=None):  # noqa: A002  (torch's names)
    """min(max(a, min), max), elementwise; the gradient is 1 inside the bounds, else 0."""
    return Clip.apply(a, low=_unwrap(min), high=_unwrap(max))


def transpose(a, axis0=-2, axis1=-1):
    """a with two axes swapped, the last two by default (as torch.transpose)."""
    return SwapAxes.apply(a, axis0=axis0, axis1=axis1)


_written_out = {"clip": clip, "transpose": transpose, "concat": concat, "stack": stack,
                "split": split}
for _op in all_ops():
    if _op.name not in _written_out:
        globals()[_op.name] = _as_function(_op)

__all__ = sorted({op.name for op in all_ops()} | set(_written_out))
