"""Expected gradients without a solution: the complex step, exact to float64's precision.

For a function f that NumPy can evaluate on complex numbers (exp, log, tanh, +, *, @,
sums, ...), f(x + i h) = f(x) + i h f'(x) + O(h^2). With h = 1e-30 the O(h^2) term is far
below float64's resolution and, unlike a finite difference f(x + h) - f(x - h), nothing is
subtracted from anything, so no digits cancel: Im f(x + i h) / h is f'(x) to about 1e-16.
That is why a check can hold an analytic backward to 1e-12 while needing nothing but a
NumPy formula of the forward.

The formulas must stay complex-analytic on the path they take: compare and branch on
`.real` (relu's `x.real > 0`, the row maximum that softmax subtracts), never on the
complex values themselves.
"""

import numpy as np

STEP = 1e-30


def gradients(forward, inputs: dict, wrt, upstream) -> dict:
    """{'grad_<name>': d sum(forward(**inputs) * upstream) / d inputs[name]} for each name in
    `wrt`, one complex evaluation per element."""
    upstream = np.asarray(upstream, dtype=np.float64)
    result = {}
    for name in wrt:
        base = np.asarray(inputs[name], dtype=np.float64)
        grad = np.empty(base.shape)
        for index in np.ndindex(base.shape):
            nudged = base.astype(np.complex128)
            nudged[index] += 1j * STEP
            out = forward(**{**inputs, name: nudged})
            grad[index] = float(np.sum(np.imag(out) * upstream)) / STEP
        result[f"grad_{name}"] = grad
    return result

