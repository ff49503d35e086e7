"""Shape ops: reshape, permute, swapaxes, broadcast_to. No arithmetic, only rearranging.

Each backward applies the inverse rearrangement to the gradient: reshape back, permute by
the inverse permutation, swap the same two axes again, sum over what broadcasting copied.
"""

import numpy as np

from minigrad.function import Function
from minigrad.ops.reduce import normalize_axes


class Reshape(Function):
    """a viewed with a new shape;  the gradient is reshaped back."""

    name = "reshape"
    kind = "reshape"
    returns_view = True

    @staticmethod
    def forward(ctx, a, shape=None):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                f"into shape {tuple(shape)}"
            ) from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Permute(Function):
    """a with its axes reordered;  the gradient is reordered by the inverse permutation."""

    name = "permute"
    kind = "permute"
    returns_view = True

    @staticmethod
    def forward(ctx, a, axes=None):
        axes = tuple(int(x) for x in axes)
        in_range = all(-a.ndim <= ax < a.ndim for ax in axes)
        if not in_range or sorted(ax % a.ndim for ax in axes) != list(range(a.ndim)):
            raise ValueError(
                f"permute: axes {axes} are not a permutation of the {a.ndim} axes of a "
                f"tensor of shape {a.shape}"
            )
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort([ax % grad.ndim for ax in ctx.axes]))


class SwapAxes(Function):
    """a with two axes exchanged;  the gradient has the same two axes exchanged back."""

    name = "swapaxes"
    kind = "swapaxes"
    returns_view = True

    @staticmethod
    def forward(ctx, a, axis0=-2, axis1=-1):
        normalize_axes("swapaxes", (axis0,), a.ndim, a.shape)
        normalize_axes("swapaxes", (axis1,), a.ndim, a.shape)
        ctx.axis0, ctx.axis1 = axis0, axis1
        return np.swapaxes(a, axis0, axis1)

    @staticmethod
    def backward(ctx, grad):
        return np.swapaxes(grad, ctx.axis0, ctx.axis1)


class BroadcastTo(Function):
    """a copied (virtually) to a larger shape;  the engine sums the gradient back."""

    name = "broadcast_to"
    kind = "broadcast"
    returns_view = True

    @staticmethod
    def forward(ctx, a, shape=None):
        shape = tuple(shape)
        # -1 keeps an axis as it is, as in torch.Tensor.expand
        offset = len(shape) - a.ndim
        if any(n == -1 for n in shape[:offset]):
            raise ValueError(
                f"broadcast_to: -1 (keep the size) is not allowed for a new leading axis: "
                f"shape {shape} for a tensor of shape {a.shape}"
            )
        shape = tuple(a.shape[i - offset] if n == -1 else n for i, n in enumerate(shape))
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ValueError(
                f"broadcast_to: a tensor of shape {a.shape} cannot be broadcast to "
                f"shape {shape}"
            ) from None

    @staticmethod
    def backward(ctx, grad):
        return grad  # unbroadcast, in the engine, does the summing
