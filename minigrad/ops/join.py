"""Joining and splitting: concat, stack, split.

concat and stack take any number of inputs, so their backward returns one gradient per
input: the slice of the output gradient that came from it. split is built from getitem
slices, so each piece is an ordinary node of the graph.
"""

import numpy as np

from minigrad.function import Function
from minigrad.ops.reduce import normalize_axes


def _check_some(op, arrays):
    if not arrays:
        raise ValueError(f"{op}: needs at least one tensor")


class Concat(Function):
    """Join tensors along an existing axis;  each input gets its own slice of the gradient."""

    name = "concat"
    kind = "concat"

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        _check_some("concat", arrays)
        if any(np.ndim(a) == 0 for a in arrays):
            raise ValueError("concat: cannot join 0-d tensors; use stack to make a new axis")
        (axis,) = normalize_axes("concat", axis, arrays[0].ndim, arrays[0].shape)
        for a in arrays[1:]:
            rest = [n for i, n in enumerate(a.shape) if i != axis]
            expected = [n for i, n in enumerate(arrays[0].shape) if i != axis]
            if a.ndim != arrays[0].ndim or rest != expected:
                raise ValueError(
                    f"concat: shapes {[x.shape for x in arrays]} differ outside axis {axis}"
                )
        ctx.axis = axis
        ctx.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    """Join same-shaped tensors along a new axis;  input i gets the gradient's slice i."""

    name = "stack"
    kind = "stack"

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        _check_some("stack", arrays)
        if any(a.shape != arrays[0].shape for a in arrays):
            raise ValueError(
                f"stack: all tensors need the same shape, got {[a.shape for a in arrays]}"
            )
        (axis,) = normalize_axes("stack", axis, arrays[0].ndim + 1, arrays[0].shape)
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.axis, 0))


def concat(tensors, axis=0):
    return Concat.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    return Stack.apply(*tensors, axis=axis)


def split(tensor, split_size_or_sections, axis=0):
    """Pieces of `tensor` along `axis`: of equal size n (the last may be smaller) for an
    int, or of the given sizes for a list, as torch.split."""
    (axis,) = normalize_axes("split", axis, tensor.ndim, tensor.shape)
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: size must be positive, got {split_size_or_sections}")
        sizes = [split_size_or_sections] * (length // split_size_or_sections)
        if length % split_size_or_sections:
            sizes.append(length % split_size_or_sections)
    elif isinstance(split_size_or_sections, (list, tuple)):
        sizes = list(split_size_or_sections)
        bad = [n for n in sizes if isinstance(n, bool) or not isinstance(n, (int, np.integer))
               or n < 0]
        if bad:
            raise ValueError(f"split: sizes must be non-negative integers, got {sizes}")
        if sum(sizes) != length:
            raise ValueError(
                f"split: sizes {sizes} add up to {sum(sizes)}, but axis {axis} of shape "
                f"{tensor.shape} has length {length}"
            )
    else:
        raise TypeError(f"split: give a size (an int) or a list of sizes, got "
                        f"{split_size_or_sections!r}")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * axis + (slice(start, start + size),)
        pieces.append(tensor[index])
        start += size
    return pieces
