"""Matrix multiplication, with NumPy's rules: 1-D vectors, 2-D matrices, batched stacks.

For C = A @ B on matrices, dL/dA = dL/dC @ B^T and dL/dB = A^T @ dL/dC. Vectors are
handled by making them matrices first (a row for the left operand, a column for the right),
so one formula covers every case; batch dimensions that broadcast are summed back by the
engine.
"""

import numpy as np

from minigrad.function import Function
from minigrad.ops.arithmetic import same_float


class MatMul(Function):
    """a @ b;  d/da = grad @ b^T, d/db = a^T @ grad.

    backward returns (grad_a, grad_b) in a's and b's shapes (None for an operand that needs
    no gradient, ctx.needs_grad). A 1-d a acts as a (1, n) row and a 1-d b as an (n, 1)
    column, so the gradient gains that axis first and loses it at the end; batched
    operands (..., n, m) transpose their last two axes (np.swapaxes), and a batch axis
    that broadcasting added is summed by the engine."""

    name = "matmul"
    kind = "matmul"

    @staticmethod
    def forward(ctx, a, b):
        a, b = same_float(np.asarray(a), np.asarray(b))  # a plain list works as an operand too
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(
                f"matmul: both operands need at least one dimension, got shapes "
                f"{np.shape(a)} and {np.shape(b)}"
            )
        inner_a = a.shape[-1]
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if inner_a != inner_b:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                f"({inner_a} != {inner_b})"
            )
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied (batch "
                f"dimensions {a.shape[:-2]} and {b.shape[:-2]} do not broadcast)"
            ) from None
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        # BEGIN SOLUTION task1_3: the backward of matmul
        # Treat a vector as a 1-row (left) or 1-column (right) matrix, so grad gains that axis.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        if b.ndim == 1:
            grad = np.expand_dims(grad, -1)  # first: vector @ vector gives a 0-d grad
        if a.ndim == 1:
            grad = np.expand_dims(grad, -2)
        grad_a = grad_b = None
        if ctx.needs_grad(0):
            grad_a = np.matmul(grad, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if ctx.needs_grad(1):
            grad_b = np.matmul(np.swapaxes(a2, -1, -2), grad)
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b
        # END SOLUTION
