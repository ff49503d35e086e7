"""A gradient of a broadcast copy summed back to the copied array's shape, by definition.

The judge uses it to compare a gradient returned in the output's broadcast shape
(compare.py), and the engine's checks (task 1.4) run it in place of task 1.2's answer, so
that only the engine decides them. It answers task 1.2's checks, so that task's child never
holds it.
"""

import numpy as np


def sum_back(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """A gradient of a broadcast copy, taken back to the copied array's shape by definition:
    element e receives the sum of the gradients of every position that copies it. (One
    pass per element: a judge's definition, slow on purpose and no model for task 1.2.)"""
    grad = np.asarray(grad, dtype=np.float64)
    result = np.empty(shape)
    for index in np.ndindex(*shape):
        basis = np.zeros(shape)
        basis[index] = 1.0
        result[index] = np.sum(np.broadcast_to(basis, grad.shape) * grad)
    return result
