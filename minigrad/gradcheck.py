"""Checking gradients against finite differences.

For a function f of tensors, the analytic Jacobian (what backward computes) must match the
numeric one, column by column:  dy/dx_k ~ (f(x + eps e_k) - f(x - eps e_k)) / (2 eps).
Central differences have error O(eps^2), and float64 keeps rounding error near 1e-16 / eps,
so inputs are cast to float64 before checking; in float32 the check would mostly measure
rounding.

For big inputs the full Jacobian costs one forward pass per input element, so the fast mode
compares random projections instead: v . J . u for random directions u and v, which needs
two forward passes and one backward per direction. It detects a wrong gradient with
probability 1, but cannot say which element is wrong; rerun with fast=False for that.
"""

import numpy as np

from minigrad.grad_mode import no_grad
from minigrad.tensor import Tensor, describe


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree. Attributes say where and by how much."""

    def __init__(self, message, input_index=None, element=None, output_element=None,
                 analytic=None, numeric=None):
        super().__init__(message)
        self.input_index = input_index
        self.element = element
        self.output_element = output_element
        self.analytic = analytic
        self.numeric = numeric


def _label(index: int, tensor: Tensor) -> str:
    name = f" {describe(tensor, noun=False)}" if tensor.name else ""
    return f"input {index}{name} (shape {tensor.shape})"


def _evaluate(fn, arrays, template):
    """fn at the given input arrays, without recording a graph, as a float64 array."""
    with no_grad():
        tensors = [Tensor(a, name=t.name) if isinstance(t, Tensor) else t
                   for a, t in zip(arrays, template)]
        return np.asarray(fn(*tensors).data, dtype=np.float64)


def _analytic_vjp(fn, inputs, vector):
    """Gradients of (vector . fn(inputs)) for every input that requires grad."""
    tensors = [Tensor(x.data, requires_grad=x.requires_grad, name=x.name)
               if isinstance(x, Tensor) else x for x in inputs]
    out = fn(*tensors)
    if not isinstance(out, Tensor) or not np.issubdtype(out.dtype, np.floating):
        raise TypeError(f"gradcheck: the function must return a float Tensor, got {out!r}")
    if not out.requires_grad:
        raise ValueError("gradcheck: the output does not depend on any input that requires grad")
    out.backward(vector.reshape(out.shape))
    return [
        (t.grad if t.grad is not None else np.zeros(t.shape)) if isinstance(t, Tensor)
        and t.requires_grad else None
        for t in tensors
    ], out.shape


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast=None, n_directions=3,
              seed=0):
    """Check fn's backward against central differences; raise GradcheckError if they differ.

    inputs: tensors (those with requires_grad=True are checked; they are cast to float64)
    and any other arguments fn takes. fast=None picks the fast mode when the inputs or the
    output have more than 1,000 elements. Returns True when the check passes.
    """
    inputs = [
        Tensor(x.data.astype(np.float64), requires_grad=True, name=x.name)
        if isinstance(x, Tensor) and x.requires_grad else x
        for x in inputs
    ]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
    out_size = _evaluate(fn, arrays, inputs).size
    if fast is None:
        fast = max(out_size, *(inputs[i].size for i in checked)) > 1000
    if fast:
        _check_projections(fn, inputs, arrays, checked, eps, atol, rtol, n_directions, seed)
    else:
        _check_full_jacobian(fn, inputs, arrays, checked, eps, atol, rtol)
    return True


def _perturbed(arrays, i, delta):
    moved = list(arrays)
    moved[i] = arrays[i] + delta
    return moved


def jacobians(forward, vjp, arrays, checked, eps, difference=np.subtract):
    """The analytic and the numeric Jacobian of `forward` at `arrays`, for each input in
    `checked`: {i: (analytic, numeric)}, each (output size, size of input i).

    forward(arrays) -> the output as a float64 array.
    vjp(v) -> {i: the gradient of sum(v * output) with respect to input i}, what backward
    computes; with v one-hot at output element j, that is row j of the Jacobian.
    The numeric Jacobian is built a column per input element, by central differences.
    This one routine serves gradcheck (whole functions) and check_function (one op)."""
    out = forward(arrays)
    analytic = {i: np.zeros((out.size, arrays[i].size)) for i in checked}
    for j in range(out.size):
        onehot = np.zeros(out.shape)
        onehot.flat[j] = 1.0
        grads = vjp(onehot)
        for i in checked:
            analytic[i][j] = np.asarray(grads[i], dtype=np.float64).reshape(-1)
    result = {}
    for i in checked:
        numeric = np.zeros((out.size, arrays[i].size))
        for k in range(arrays[i].size):
            delta = np.zeros(arrays[i].shape)
            delta.flat[k] = eps
            change = difference(forward(_perturbed(arrays, i, delta)),
                                forward(_perturbed(arrays, i, -delta)))
            numeric[:, k] = np.reshape(change, -1) / (2 * eps)
        result[i] = (analytic[i], numeric)
    return out.shape, result


def positions(j, k, in_shape, out_shape) -> tuple:
    """Jacobian entry (j, k) as (the input element, the output element) it relates."""
    element = tuple(int(n) for n in np.unravel_index(k, in_shape))
    out_element = tuple(int(n) for n in np.unravel_index(j, out_shape))
    return element, out_element


def _check_full_jacobian(fn, inputs, arrays, checked, eps, atol, rtol):
    def forward(moved):
        return _evaluate(fn, moved, inputs)

    def vjp(v):
        grads, _ = _analytic_vjp(fn, inputs, v)
        return grads

    out_shape, pairs = jacobians(forward, vjp, arrays, checked, eps)
    for i, (analytic, numeric) in pairs.items():
        x = inputs[i]
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        # NaN or inf on either side is a mismatch too (NaN > 0 would be False).
        excess = np.where(np.isfinite(excess), excess, np.inf)
        if np.any(excess > 0):
            j, k = np.unravel_index(np.argmax(excess), excess.shape)
            element, out_element = positions(j, k, x.shape, out_shape)
            a, n = analytic[j, k], numeric[j, k]
            bad = int(np.sum(excess > 0))
            raise GradcheckError(
                f"gradcheck: wrong gradient for {_label(i, x)} at element {element}, "
                f"output element {out_element}: analytic {a:.6g} vs numeric {n:.6g} "
                f"(difference {abs(a - n):.3g}; {bad} of {excess.size} Jacobian entries "
                f"exceed atol={atol} + rtol={rtol} * |numeric|)",
                input_index=i, element=element, output_element=out_element,
                analytic=a, numeric=n,
            )


def _check_projections(fn, inputs, arrays, checked, eps, atol, rtol, n_directions, seed):
    rng = np.random.default_rng(seed)
    out_shape = _evaluate(fn, arrays, inputs).shape
    for _ in range(n_directions):
        v = rng.standard_normal(out_shape)
        grads, _ = _analytic_vjp(fn, inputs, v)
        for i in checked:
            u = rng.standard_normal(inputs[i].shape)
            analytic = float(np.sum(grads[i] * u))
            plus = _evaluate(fn, _perturbed(arrays, i, eps * u), inputs)
            minus = _evaluate(fn, _perturbed(arrays, i, -eps * u), inputs)
            numeric = float(np.sum((plus - minus) * v) / (2 * eps))
            if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck (fast mode): wrong gradient for {_label(i, inputs[i])}: the "
                    f"random projection v.J.u is analytic {analytic:.6g} vs numeric "
                    f"{numeric:.6g}; rerun with fast=False to find the element",
                    input_index=i, analytic=analytic, numeric=numeric,
                )
