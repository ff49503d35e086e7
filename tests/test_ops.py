"""Every op in the registry, gradchecked in float64 on hypothesis-drawn shapes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import minigrad as mg
from minigrad.ops.registry import OPS, all_functions
from tests.strategies import case_for

CHECK = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def as_tensors(arrays):
    return [mg.Tensor(a, requires_grad=True, name=f"x{i}") for i, a in enumerate(arrays)]


def test_registry_covers_every_op():
    """A new Function in minigrad.ops must be added to the registry (and so be checked)."""
    covered = {spec.function for spec in OPS}
    missing = sorted(cls.__name__ for cls in all_functions() - covered)
    assert not missing, f"ops missing from minigrad/ops/registry.py: {missing}"


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
def test_gradcheck(spec):
    @CHECK
    @given(case=case_for(spec))
    def check(case):
        arrays, params = case
        mg.gradcheck(lambda *xs: spec.call(*xs, **params), *as_tensors(arrays))

    check()


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
def test_grad_has_the_input_shape_and_dtype(spec):
    @settings(max_examples=10, deadline=None)
    @given(case=case_for(spec))
    def check(case):
        arrays, params = case
        tensors = [mg.Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
        out = spec.call(*tensors, **params)
        out.backward(np.ones(out.shape))
        for t in tensors:
            assert t.grad is not None
            assert t.grad.shape == t.shape
            assert t.grad.dtype == t.dtype

    check()
