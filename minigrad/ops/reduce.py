"""Reductions: sum, mean, max, min, var over an axis, a tuple of axes, or everything.

Their backward must spread the output gradient back over the reduced axes and return an
array of the input's full shape. With keepdims=False those axes are gone from the
gradient, so put them back as size-1 axes first (`_restore_axes`), then expand to the
input's shape (np.broadcast_to, or an arithmetic op with an array of that shape). The
engine never does this for you: it only sums gradients down, never spreads them out.
"""

import numpy as np

from minigrad.function import Function


def normalize_axes(op: str, axis, ndim: int, shape: tuple) -> tuple:
    """`axis` (None, int or tuple, negatives allowed) as a sorted tuple of valid axes."""
    if axis is None:
        return tuple(range(ndim))
    def is_axis(a):  # True is an int to Python, and would quietly mean axis 1
        return isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))

    if is_axis(axis):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)) and all(is_axis(a) for a in axis):
        axes = tuple(axis)
    else:
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    bound = max(ndim, 1)  # a 0-d tensor accepts axis 0 and -1, as in PyTorch
    result = []
    for ax in axes:
        if not -bound <= ax < bound:
            raise ValueError(
                f"{op}: axis {ax} is out of range for a tensor of {ndim} dimensions "
                f"(shape {shape})"
            )
        result.append(ax % bound)
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: axis {axis} repeats an axis (shape {shape})")
    return tuple(sorted(result)) if ndim else ()


def _restore_axes(grad: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes as size 1, so grad broadcasts against the input."""
    return grad if keepdims else np.expand_dims(grad, axes)


class Sum(Function):
    """sum(a) over axes;  d/da_i = 1 for every element that was summed.

    backward returns the incoming gradient copied to every summed element: an array of
    a's shape (ctx.shape), from the reduced axes (ctx.axes) and ctx.keepdims.

    axis=() sums over no axis, as NumPy does (PyTorch's sum(dim=()) sums over all)."""

    name = "sum"
    kind = "reduce"

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = normalize_axes("sum", axis, a.ndim, a.shape)
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, axes, keepdims
        return np.sum(a, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        axes, keepdims, shape = ctx.axes, ctx.keepdims, ctx.shape  # what forward kept
        # BEGIN SOLUTION task1_3: the backward of sum
        return np.broadcast_to(_restore_axes(grad, axes, keepdims), shape)
        # END SOLUTION


class Mean(Function):
    """mean(a) over axes;  d/da_i = 1 / n, n the number of elements averaged.

    backward returns the incoming gradient divided by n (ctx.count) at every averaged
    element: an array of a's shape (ctx.shape)."""

    name = "mean"
    kind = "reduce"

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = normalize_axes("mean", axis, a.ndim, a.shape)
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, axes, keepdims
        ctx.count = int(np.prod([a.shape[i] for i in axes]))
        return np.mean(a, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        axes, keepdims, shape, count = ctx.axes, ctx.keepdims, ctx.shape, ctx.count
        # BEGIN SOLUTION task1_3: the backward of mean
        return np.broadcast_to(_restore_axes(grad, axes, keepdims) / count, shape)
        # END SOLUTION


class Max(Function):
    """max(a) over axes;  the gradient goes to the maximum, split evenly among ties.

    backward returns an array of a's shape: the incoming gradient at each maximum of its
    reduced slice, divided by the number of tied maxima there, and 0 elsewhere (forward
    saved a and the kept-dims maximum)."""

    name = "max"
    kind = "reduce"
    domain = "distinct"
    _reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, a, axis=None, keepdims=False):
        axes = normalize_axes(cls.name, axis, a.ndim, a.shape)
        empty = [i for i in axes if a.shape[i] == 0]
        if empty or (a.size == 0 and not axes):
            raise ValueError(f"{cls.name}: cannot reduce over an empty axis (axis "
                             f"{empty[0] if empty else 0} of shape {a.shape}): it has no "
                             f"{cls.name}imum")
        out = cls._reduce(a, axis=axes, keepdims=True)
        ctx.save_for_backward(a, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_arrays
        # BEGIN SOLUTION task1_3: the backward of max (ties share the gradient)
        # Ties share the gradient (as torch.amax does), so the sum over them is unchanged.
        winners = a == out
        count = np.sum(winners, axis=ctx.axes, keepdims=True)
        return _restore_axes(grad, ctx.axes, ctx.keepdims) * winners / count
        # END SOLUTION


class Min(Max):
    """min(a) over axes;  the gradient goes to the minimum, split evenly among ties."""

    name = "min"
    _reduce = staticmethod(np.min)


class Var(Function):
    """Variance over axes with `correction` (1: unbiased, as torch.var; 0: as np.var);
    d/da_i = 2 (a_i - mean) / (n - correction)."""

    name = "var"
    kind = "reduce"

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, correction=1):
        axes = normalize_axes("var", axis, a.ndim, a.shape)
        count = int(np.prod([a.shape[i] for i in axes]))
        if count - correction <= 0:
            raise ValueError(
                f"var: {count} element(s) over axis {axis} with correction={correction} "
                f"leaves no degrees of freedom (shape {a.shape})"
            )
        centered = a - np.mean(a, axis=axes, keepdims=True)
        ctx.save_for_backward(centered)
        ctx.axes, ctx.keepdims, ctx.dof = axes, keepdims, count - correction
        return np.sum(centered * centered, axis=axes, keepdims=keepdims) / ctx.dof

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_arrays
        return _restore_axes(grad, ctx.axes, ctx.keepdims) * (2 / ctx.dof) * centered
