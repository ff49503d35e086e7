"""Undoing broadcasting: the one place where a gradient is summed back to an input's shape.

When NumPy broadcasts `a` of shape (3, 1) against `b` of shape (4,), the result has shape
(3, 4): `a` was copied along axis 1 and `b` along a new leading axis 0. Every copy of an
input element received its own gradient, so the input's gradient is the *sum* of those
gradients over the copied axes. The engine calls `unbroadcast` on every gradient an op
returns, so no op has to think about broadcasting in its backward.
"""

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """`grad` summed back to `shape`, the shape of an input that broadcasting stretched."""
    if grad.shape == shape:
        return grad
    _check_reducible(grad.shape, shape)
    return np.asarray(sum_to_shape(grad, shape))  # summing to shape () gives a NumPy scalar


def sum_to_shape(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` over the axes that broadcasting added or stretched, giving `shape`.

    Broadcasting lines the shapes up from the right: it prepends the axes the input lacks
    (sum those away), and stretches the input's size-1 axes (sum those, keeping the axis).
    For grad (2, 3, 4) and shape (3, 1): sum axis 0, then axis 2 with keepdims."""
    # BEGIN SOLUTION task1_2: sum_to_shape, which unbroadcast uses
    # Axes that broadcasting prepended: the input did not have them at all.
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    # Axes where the input had size 1 and broadcasting stretched it.
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad
    # END SOLUTION


def _check_reducible(grad_shape: tuple, shape: tuple):
    """Refuse a gradient that broadcasting `shape` could not have produced."""
    if len(grad_shape) < len(shape):
        raise ValueError(
            f"unbroadcast: gradient of shape {grad_shape} has fewer dimensions "
            f"than the input shape {shape}"
        )
    trailing = grad_shape[len(grad_shape) - len(shape):]
    if any(n != 1 and n != g for n, g in zip(shape, trailing)):
        raise ValueError(
            f"unbroadcast: gradient of shape {grad_shape} cannot be reduced to shape {shape}"
        )


def fits(shape: tuple, target: tuple) -> bool:
    """Whether an array of `shape` broadcasts to `target` without making it bigger (a
    clip bound, a mask or a fill value for a tensor of shape `target`)."""
    try:
        return np.broadcast_shapes(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False
