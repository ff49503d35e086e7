"""Undoing broadcasting: the one place where a gradient is summed back to an input's shape.

When NumPy broadcasts `a` of shape (3, 1) against `b` of shape (4,), the result has shape
(3, 4): `a` was copied along axis 1 and `b` along a new leading axis 0. Every copy of an
input element received its own gradient, so the input's gradient is the *sum* of those
gradients over the copied axes. The engine calls `unbroadcast` on every gradient an op
returns, so no op has to think about broadcasting in its backward.
"""

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` over the axes that broadcasting added or stretched, giving `shape`."""
    if grad.shape == shape:
        return grad
    # BEGIN SOLUTION task1_2: unbroadcast: sum a gradient back to an input's shape
    # Axes that broadcasting prepended: the input did not have them at all.
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(
            f"unbroadcast: gradient of shape {grad.shape} has fewer dimensions "
            f"than the input shape {shape}"
        )
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    # Axes where the input had size 1 and broadcasting stretched it.
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ValueError(
            f"unbroadcast: gradient of shape {grad.shape} cannot be reduced to shape {shape}"
        )
    return np.asarray(grad)  # summing to shape () gives a NumPy scalar
    # END SOLUTION
