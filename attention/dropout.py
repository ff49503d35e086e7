"""Dropout: while training, zero each activation with probability p and scale the rest by
1 / (1 - p); in eval() mode, pass the input through unchanged.

Zeroing a random part of the activations at every step keeps a network from leaning on any
single unit. The scale keeps the expected value of every activation what it is in eval
mode, so the layers after it see the same magnitudes in training and in use.

The backward must drop the same units the forward dropped: the gradient of y = x * keep / (1
- p) is grad * keep / (1 - p), with the very mask drawn in forward. So the mask is drawn
once, saved for backward, and never drawn again.
"""

import numbers

import numpy as np

import minigrad as mg
from minigrad.nn import Module


class DropoutFunction(mg.Function):
    """y = x * keep / (1 - p);  dx = dy * keep / (1 - p), with forward's own `keep`."""

    name = "dropout"

    @staticmethod
    def forward(ctx, x, keep, *, p):
        scale = np.asarray(1.0 / (1.0 - p), dtype=x.dtype)  # a float32 input stays float32
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x * keep * scale

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_arrays
        return grad * keep * ctx.scale, None  # the mask takes no gradient


class Dropout(Module):
    """x -> x with a random fraction p of its entries zeroed (training only).

    The mask comes from minigrad's seeded generator (mg.manual_seed), so a run repeats."""

    def __init__(self, p: float = 0.1):
        super().__init__()
        self.p = p  # checked by the setter below, now and whenever it is changed

    @property
    def p(self) -> float:
        return self._p

    @p.setter
    def p(self, p):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be a number in [0, 1), got {p!r}")
        self._p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x  # eval mode: the identity, and no node in the graph
        if not np.issubdtype(x.dtype, np.floating):
            # The kept entries are scaled by 1 / (1 - p): an integer or boolean cannot hold
            # that, and truncating it would change the expected value dropout keeps.
            raise TypeError(f"Dropout: input must be floating point, got {x.dtype} of shape "
                            f"{x.shape}; convert it first (x.astype('float32'))")
        scale = 1.0 / (1.0 - self.p)
        if scale > float(np.finfo(x.dtype).max):
            raise ValueError(f"Dropout(p={self.p}): the kept entries would be scaled by "
                             f"1 / (1 - p) = {scale:.4g}, more than {x.dtype} holds "
                             f"({np.finfo(x.dtype).max:.4g}); use a smaller p or float32")
        keep = mg.default_generator().random(x.shape) >= self.p  # (same shape as x) bool
        return DropoutFunction.apply(x, keep, p=self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
