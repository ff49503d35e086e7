"""mg.explain: one node's backward as a Jacobian, checked against finite differences of the
node's own forward for every op and for an op a user writes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import minigrad as mg
from minigrad.function import Context
from tests.op_cases import OPS
from tests.strategies import case_for


def numerical_jacobian(ctx, i, eps=1e-6):
    """d forward / d input i by central differences, from the node's inputs and options."""
    arrays = [t.data.astype(np.float64) if t is not None else a
              for t, a in zip(ctx.inputs, ctx.args or [None] * len(ctx.inputs))]

    def forward(x):
        values = list(arrays)
        values[i] = x
        return np.asarray(ctx.fn.forward(Context(ctx.fn), *values, **(ctx.attrs or {})),
                          dtype=np.float64).reshape(-1)

    base = np.asarray(arrays[i], dtype=np.float64)
    columns = []
    for index in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[index] += eps
        down[index] -= eps
        columns.append((forward(up) - forward(down)) / (2 * eps))
    return np.array(columns).T.reshape(-1, base.size)


def check_against_finite_differences(out):
    ctx = out._ctx
    explained = mg.explain(out, grad=np.random.default_rng(0).standard_normal(out.shape))
    for i, tensor in enumerate(ctx.inputs):
        if tensor is None or not tensor.requires_grad or explained.sent[i] is None:
            continue
        np.testing.assert_allclose(explained.jacobian(i), numerical_jacobian(ctx, i),
                                   rtol=1e-5, atol=1e-7, err_msg=f"{ctx.fn.name}, input {i}")
        # J^T . grad is what backward sent
        np.testing.assert_allclose(
            explained.jacobian(i).T @ explained.incoming.reshape(-1),
            explained.sent[i].reshape(-1), rtol=1e-10, atol=1e-12)
    return explained


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
def test_the_jacobian_of_every_op_matches_finite_differences(spec):
    @settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=case_for(spec))
    def check(case):
        arrays, params = case
        tensors = [mg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
                   for a in arrays]
        out = spec.call(*tensors, **params)
        assume(out.size > 0 and out._ctx is not None and out.dtype.kind == "f")
        assume(out.size * max(t.size for t in tensors) <= 400)  # small Jacobians
        check_against_finite_differences(out)

    check()


class Softplus(mg.Function):
    """log(1 + exp(a));  d/da = sigmoid(a)."""

    name = "softplus"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.logaddexp(0, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        return grad / (1 + np.exp(-a))


def test_a_user_written_op_is_explained_like_the_library_ones():
    x = mg.tensor(np.array([[-1.0, 0.5], [2.0, 0.0]]), requires_grad=True)
    y = Softplus.apply(x)
    (y * 3.0).sum().backward()  # the graph is freed: explain runs the forward again
    check_against_finite_differences(y)
    explained = mg.explain(y)  # the gradient that arrived: y.grad
    np.testing.assert_allclose(explained.incoming, np.full((2, 2), 3.0))
    np.testing.assert_allclose(explained.sent[0], x.grad)
    text = str(explained)
    assert "softplus" in text and "log(1 + exp(a));  d/da = sigmoid(a)." in text
    assert "y[1,0]" in text and "a[0,1]" in text  # rows and columns by element
    assert "equals what backward sent" in text
    assert "<table>" in explained._repr_html_()


def test_a_wrong_backward_shows_in_its_jacobian(monkeypatch):
    from minigrad.ops.elementwise import Tanh
    from tests.test_gradcheck import _plant_fault

    _plant_fault(monkeypatch, Tanh)  # its gradient 10% off
    y = mg.tensor(np.array([0.3, -1.2]), requires_grad=True).tanh()
    with pytest.raises(AssertionError, match="tanh, input 0"):
        check_against_finite_differences(y)


def test_explain_says_what_is_missing():
    x = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="not made by an op"):
        mg.explain(x)
    with pytest.raises(ValueError, match="call backward"):
        mg.explain(x * 2.0)
