"""gradcheck itself: it passes on right gradients and catches planted wrong ones."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import minigrad as mg
from tests.op_cases import OPS
from tests.strategies import case_for


class DoubledMul(mg.Function):
    """a * b with a planted fault: b's gradient is doubled."""

    name = "doubled_mul"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        return grad * b, 2 * grad * a


def test_passes_on_correct_gradients():
    a = mg.randn(3, 4, requires_grad=True)
    b = mg.randn(4, requires_grad=True)
    assert mg.gradcheck(lambda a, b: ((a * b).tanh() @ b).sum(), a, b)


def test_catches_a_doubled_gradient_and_names_input_element_and_values():
    a = mg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, name="a")
    b = mg.tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True, name="b")
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda a, b: DoubledMul.apply(a, b), a, b)
    error = info.value
    message = str(error)
    assert "input 1 'b'" in message and "(shape (2, 2))" in message
    assert error.input_index == 1
    assert error.element == error.output_element  # elementwise: d out_ij / d b_ij
    # The analytic value is twice the numeric one, which is a at that element.
    expected = float(a.data[error.element])
    assert error.numeric == pytest.approx(expected, rel=1e-6)
    assert error.analytic == pytest.approx(2 * expected, rel=1e-9)
    assert f"analytic {error.analytic:.6g}" in message
    assert f"numeric {error.numeric:.6g}" in message


def test_fast_mode_catches_a_doubled_gradient_on_a_large_input():
    a = mg.randn(50, 50, requires_grad=True)
    b = mg.randn(50, 50, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"fast mode.*input 1.*\(shape \(50, 50\)\)"):
        mg.gradcheck(lambda a, b: DoubledMul.apply(a, b), a, b)  # 2,500 elements: fast
    assert mg.gradcheck(lambda a, b: (a * b).tanh(), a, b, fast=True)


def test_checks_in_float64_even_for_float32_inputs():
    # In float32, central differences with eps=1e-6 would be pure rounding noise.
    x = mg.randn(5, requires_grad=True)
    assert x.dtype == np.float32
    assert mg.gradcheck(lambda x: (x * x).exp(), x)


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="no input has requires_grad"):
        mg.gradcheck(lambda x: x * 2, mg.randn(3))


def _plant_fault(monkeypatch, function):
    """Patch `function`'s backward so its first gradient is 10% (and 0.01) off everywhere:
    more than gradcheck's rtol=1e-3 and atol=1e-5 allow, whatever the gradient's size."""
    original = function.backward

    def wrong_backward(ctx, grad):
        grads = original(ctx, grad)
        grads = list(grads) if isinstance(grads, tuple) else [grads]
        first = next(i for i, g in enumerate(grads) if g is not None)
        grads[first] = grads[first] * 1.1 + 0.01
        return tuple(grads)

    monkeypatch.setattr(function, "backward", staticmethod(wrong_backward))


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
def test_catches_a_planted_fault_in_every_op(spec, monkeypatch):
    _plant_fault(monkeypatch, spec.function)

    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow,
              HealthCheck.function_scoped_fixture])
    @given(case=case_for(spec))
    def check(case):
        arrays, params = case
        tensors = [mg.Tensor(a, requires_grad=True) for a in arrays]
        # An empty output (say, a mask selecting nothing) has no gradient to get wrong.
        assume(spec.call(*tensors, **params).size > 0)
        with pytest.raises(mg.GradcheckError):
            mg.gradcheck(lambda *xs: spec.call(*xs, **params), *tensors)

    check()


def test_gradcheck_treats_a_nan_finite_difference_as_a_mismatch():
    class ZeroGradSqrt(mg.Function):
        name = "zero_grad_sqrt"

        @staticmethod
        def forward(ctx, a):
            return np.sqrt(a)

        @staticmethod
        def backward(ctx, grad):
            return grad * 0.0

    x = mg.tensor(np.array([5e-7]), requires_grad=True)  # x - eps < 0: sqrt gives NaN
    with np.errstate(invalid="ignore"), pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda a: ZeroGradSqrt.apply(a), x, fast=False)
