"""Selecting elements: indexing (getitem), where, masked_fill.

Indexing is where repeated indices matter: `x[[0, 0, 1]]` reads row 0 twice, so row 0 must
receive the sum of both gradients. Plain assignment `g[index] = grad` would keep only the
last one; `np.add.at` adds every one of them. (An embedding lookup is exactly this.)
"""

import numpy as np

from minigrad.broadcast import fits
from minigrad.function import Function


def _has_integer_array(index) -> bool:
    """True if the index holds an integer array or list, which may repeat positions."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, (list, np.ndarray)) and np.asarray(part).dtype != bool:
            return True
    return False


class GetItem(Function):
    """a[index];  each selected element passes its gradient back to where it came from."""

    name = "getitem"
    kind = "index"
    returns_view = True  # slices are views (integer-array indexing copies; harmless)

    @staticmethod
    def forward(ctx, a, index=None):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        full = np.zeros(ctx.shape, dtype=grad.dtype)
        if _has_integer_array(ctx.index):
            np.add.at(full, ctx.index, grad)  # accumulates over repeated indices
        else:
            full[ctx.index] = grad  # slices and boolean masks never repeat a position
        return full


class Where(Function):
    """cond ? a : b elementwise;  a gets the gradient where cond holds, b elsewhere."""

    name = "where"
    kind = "select"

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond)
        if cond.dtype != bool:
            raise TypeError(f"where: condition must be boolean, got dtype {cond.dtype}")
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_arrays
        return None, np.where(cond, grad, 0), np.where(cond, 0, grad)


class MaskedFill(Function):
    """a with `value` written where mask is True;  a's gradient is zero at those places."""

    name = "masked_fill"
    kind = "mask"

    @staticmethod
    def forward(ctx, a, mask, value=0.0):
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"masked_fill: mask must be boolean, got dtype {mask.dtype}")
        if not fits(mask.shape, a.shape):  # a bigger mask: a bigger output
            raise ValueError(
                f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                f"tensor's shape {a.shape}"
            )
        value = np.asarray(value, dtype=a.dtype)
        if not fits(value.shape, a.shape):
            raise ValueError(f"masked_fill: value of shape {value.shape} does not fit the "
                             f"tensor's shape {a.shape} (it would make the result bigger)")
        ctx.save_for_backward(mask)
        return np.where(mask, value, a)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_arrays
        return np.where(mask, 0, grad), None
