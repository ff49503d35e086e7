"""Every op in minigrad/ops against PyTorch: the same forward values and gradients (float64)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import minigrad as mg
from tests.op_cases import OPS
from tests.strategies import case_for

pytestmark = pytest.mark.oracle


def _dims(x, axis):
    if axis is None:
        return tuple(range(x.dim()))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def _torch_index(torch, index):
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(torch.from_numpy(p) if isinstance(p, np.ndarray) else p for p in parts)
    return parts if isinstance(index, tuple) else parts[0]


def torch_call(torch, name, xs, params):
    """The PyTorch expression that the case `name` computes: from the table below, else,
    for a one- or two-input op, torch's (or torch.nn.functional's) function of that name."""
    t = torch
    p = params
    table = {
        "add": lambda: xs[0] + xs[1],
        "sub": lambda: xs[0] - xs[1],
        "mul": lambda: xs[0] * xs[1],
        "div": lambda: xs[0] / xs[1],
        "neg": lambda: -xs[0],
        "pow": lambda: t.pow(xs[0], xs[1]),
        "pow_scalar": lambda: xs[0] ** 3,
        "rpow_scalar": lambda: 2.0 ** xs[0],
        "exp": lambda: t.exp(xs[0]),
        "log": lambda: t.log(xs[0]),
        "sqrt": lambda: t.sqrt(xs[0]),
        "tanh": lambda: t.tanh(xs[0]),
        "sigmoid": lambda: t.sigmoid(xs[0]),
        "relu": lambda: t.relu(xs[0]),
        "abs": lambda: t.abs(xs[0]),
        "clip": lambda: t.clamp(xs[0], -0.5, 0.5),
        "maximum": lambda: t.maximum(xs[0], xs[1]),
        "minimum": lambda: t.minimum(xs[0], xs[1]),
        "cast": lambda: xs[0].to(t.float64) * 1.0,
        "sum": lambda: t.sum(xs[0], dim=_dims(xs[0], p["axis"]), keepdim=p["keepdims"]),
        "mean": lambda: t.mean(xs[0], dim=_dims(xs[0], p["axis"]), keepdim=p["keepdims"]),
        "max": lambda: t.amax(xs[0], dim=_dims(xs[0], p["axis"]), keepdim=p["keepdims"]),
        "min": lambda: t.amin(xs[0], dim=_dims(xs[0], p["axis"]), keepdim=p["keepdims"]),
        "var": lambda: t.var(xs[0], dim=_dims(xs[0], p["axis"]), keepdim=p["keepdims"],
                             correction=1),
        "matmul": lambda: t.matmul(xs[0], xs[1]),
        "reshape": lambda: xs[0].reshape(p["shape"]),
        "permute": lambda: xs[0].permute(p["axes"]),
        "swapaxes": lambda: t.swapaxes(xs[0], p["axis0"], p["axis1"]),
        "broadcast_to": lambda: xs[0].broadcast_to(p["shape"]),
        "getitem": lambda: xs[0][_torch_index(t, p["index"])],
        "where": lambda: t.where(t.from_numpy(p["cond"]), xs[0], xs[1]),
        "masked_fill": lambda: xs[0].masked_fill(t.from_numpy(p["mask"]), 0.5),
        "concat": lambda: t.cat(xs, dim=p["axis"]),
        "stack": lambda: t.stack(xs, dim=p["axis"]),
        "split": lambda: t.cat([piece * (i + 1) for i, piece in
                                enumerate(t.split(xs[0], 1, dim=p["axis"]))], dim=p["axis"]),
    }
    if name in table:
        return table[name]()
    for namespace in (t, t.nn.functional):
        if callable(getattr(namespace, name, None)):
            return getattr(namespace, name)(*xs)
    raise AssertionError(f"{name}: add the PyTorch expression it computes to torch_call")


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
def test_matches_torch(spec, torch_oracle):
    torch = torch_oracle

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=case_for(spec))
    def check(case):
        arrays, params = case
        ours = [mg.Tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = spec.call(*ours, **params)
        expected = torch_call(torch, spec.name, theirs, params)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
        assert out.shape == tuple(expected.shape)

        upstream = np.random.default_rng(1).standard_normal(out.shape)
        out.backward(upstream)
        expected.backward(torch.from_numpy(upstream))
        for i, (x, y) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(x.grad, y.grad.numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{spec.name}: gradient of input {i}")

    check()
