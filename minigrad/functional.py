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
from minigrad.tensor import constant


def _as_function(op):
    """`op.apply` as a function with the op's name, docstring and signature (for help()).

    forward's parameters without a default are the op's inputs; those with a default are
    its options (axis, keepdims ...), which apply() takes by keyword. The arguments are
    bound to that signature first, so a missing, extra or repeated argument is a
    TypeError, as for any Python function. Options never carry gradients: a tensor given
    as one counts as its array, and one that requires grad is refused."""
    parameters = list(inspect.signature(op.forward).parameters.values())[1:]  # no ctx
    signature = inspect.Signature(parameters)

    def function(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        inputs, options = [], {}
        for p in parameters:
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                inputs.extend(bound.arguments.get(p.name, ()))
            elif p.default is inspect.Parameter.empty:
                inputs.append(bound.arguments[p.name])
            elif p.name in bound.arguments:
                options[p.name] = constant(op.name, p.name, bound.arguments[p.name])
        return op.apply(*inputs, **options)

    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = op.__doc__
    function.__signature__ = signature
    function.__wrapped__ = op  # so a reader (or inspect.unwrap) finds the class
    return function


def clip(a, min=None, max=None):  # noqa: A002  (torch's names)
    """min(max(a, min), max), elementwise; the gradient is 1 inside the bounds, else 0."""
    return Clip.apply(a, low=constant("clip", "min", min), high=constant("clip", "max", max))


def transpose(a, axis0=-2, axis1=-1):
    """a with two axes swapped, the last two by default (as torch.transpose)."""
    return SwapAxes.apply(a, axis0=axis0, axis1=axis1)


_written_out = {"clip": clip, "transpose": transpose, "concat": concat, "stack": stack,
                "split": split}
# Ops reached through Tensor syntax only: x.astype(dtype) and x[index].
_methods_only = {"cast", "getitem"}
for _op in all_ops():
    if _op.name not in _written_out and _op.name not in _methods_only:
        globals()[_op.name] = _as_function(_op)

__all__ = sorted({op.name for op in all_ops()} - _methods_only | set(_written_out))
