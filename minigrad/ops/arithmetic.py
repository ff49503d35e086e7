"""+ - * / neg and pow: the binary arithmetic ops.

Inputs may have different shapes that broadcast together; each backward returns gradients
in the output's shape and the engine sums them back (see broadcast.py). One of the two
inputs may be a Python number, which has no gradient (its slot in ctx.inputs is None).
"""

import numpy as np

from minigrad.function import Function


def same_float(a, b):
    """Give an integer operand the float operand's dtype, as PyTorch does: float32 + int64
    stays float32 (NumPy alone would widen it to float64)."""
    a_float = isinstance(a, np.ndarray) and a.dtype.kind == "f"
    b_float = isinstance(b, np.ndarray) and b.dtype.kind == "f"
    if a_float and isinstance(b, np.ndarray) and b.dtype.kind in "iub":
        b = b.astype(a.dtype)
    elif b_float and isinstance(a, np.ndarray) and a.dtype.kind in "iub":
        a = a.astype(b.dtype)
    return a, b


class Add(Function):
    """a + b;  d/da = 1, d/db = 1."""

    name = "add"
    kind = "binary"

    @staticmethod
    def forward(ctx, a, b):
        a, b = same_float(a, b)
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """a - b;  d/da = 1, d/db = -1."""

    name = "sub"
    kind = "binary"

    @staticmethod
    def forward(ctx, a, b):
        a, b = same_float(a, b)
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    """a * b;  d/da = b, d/db = a."""

    name = "mul"
    kind = "binary"

    @staticmethod
    def forward(ctx, a, b):
        a, b = same_float(a, b)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        # Skip the product nobody needs: for `x * 0.5` only x wants a gradient.
        grad_a = grad * b if ctx.needs_grad(0) else None
        grad_b = grad * a if ctx.needs_grad(1) else None
        return grad_a, grad_b


class Div(Function):
    """a / b;  d/da = 1 / b, d/db = -a / b**2."""

    name = "div"
    kind = "binary"
    domain = "positive"

    @staticmethod
    def forward(ctx, a, b):
        a, b = same_float(a, b)
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        # BEGIN SOLUTION task1_1: the backward of div (a / b)
        grad_a = grad / b
        return grad_a, -grad_a * a / b
        # END SOLUTION


class Neg(Function):
    """-a;  d/da = -1."""

    name = "neg"

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """a ** b;  d/da = b * a**(b - 1), d/db = a**b * log(a)."""

    name = "pow"
    kind = "binary"
    domain = "positive"

    @staticmethod
    def forward(ctx, a, b):
        a, b = same_float(a, b)
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_arrays
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_grad(0):
                # b * a**(b-1) is 0 * inf at a == 0, b == 0; a**0 is constant, so it is 0.
                grad_a = grad * np.where(b == 0, 0.0, b * np.power(a, b - 1))
            if ctx.needs_grad(1):
                # log(a) is -inf at a == 0, but there a**b is 0 (for b > 0): the product is 0.
                grad_b = np.where((a == 0) & (b >= 0), 0.0, grad * out * np.log(a))
        return grad_a, grad_b
