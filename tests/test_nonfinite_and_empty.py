"""Infinite, NaN and empty values: the gradients and results PyTorch gives.

Where an infinite upstream gradient meets a 0/1 mask (relu, clip, maximum, minimum), the
masked element gets 0, not inf * 0 = NaN; a NaN input passes its gradient on; empty axes
give empty results and empty gradients.
"""

import numpy as np
import pytest

import minigrad as mg
from attention import MultiHeadAttention

KINKED = {
    "relu": (lambda t: t.relu(), lambda t: t.relu()),
    "clip": (lambda t: t.clip(0.0, 2.0), lambda t: t.clamp(0.0, 2.0)),
    "maximum": (lambda t: t.maximum(mg.tensor([0.0, 0.0], dtype="float64")),
                lambda t: t.maximum(t.new_zeros(2))),
    "minimum": (lambda t: -t.minimum(mg.tensor([0.0, 0.0], dtype="float64")),
                lambda t: -t.minimum(t.new_zeros(2))),
}
MASKED = {"relu": 0, "clip": 0, "maximum": 0, "minimum": 1}  # the element the mask stops



@pytest.mark.parametrize("op", KINKED)
def test_an_infinite_gradient_stops_at_a_mask_as_in_pytorch(op):
    # sqrt's gradient at 0 is inf; where the mask is 0 the result must be 0, not inf * 0.
    x = mg.tensor([-1.0, 4.0], dtype="float64", requires_grad=True)
    (KINKED[op][0](x) ** 0.5).sum().backward()
    assert np.isfinite(x.grad).all() and x.grad[MASKED[op]] == 0, x.grad


@pytest.mark.oracle
@pytest.mark.parametrize("op", KINKED)
def test_an_infinite_gradient_at_a_mask_matches_pytorch(op, torch_oracle):
    torch = torch_oracle
    values = [-1.0, 4.0]
    ours = mg.tensor(values, dtype="float64", requires_grad=True)
    theirs = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (KINKED[op][0](ours) ** 0.5).sum().backward()
    (KINKED[op][1](theirs) ** 0.5).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


@pytest.mark.oracle
@pytest.mark.parametrize("op", ["relu", "maximum", "minimum"])
def test_a_nan_input_passes_its_gradient_on_as_in_pytorch(op, torch_oracle):
    torch = torch_oracle
    values = [np.nan, 1.0, -1.0]
    ours = mg.tensor(values, dtype="float64", requires_grad=True)
    theirs = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    if op == "relu":
        ours.relu().sum().backward()
        theirs.relu().sum().backward()
    else:
        zero = mg.tensor([0.0, 0.0, 0.0], dtype="float64")
        getattr(ours, op)(zero).sum().backward()
        getattr(torch, op)(theirs, torch.zeros(3, dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_softmax_and_attention_over_empty_axes_give_empty_results():
    from attention import log_softmax, softmax

    for f in (softmax, log_softmax):
        x = mg.ones(2, 0, requires_grad=True)
        y = f(x)
        y.sum().backward()
        assert y.shape == (2, 0) and x.grad.shape == (2, 0)
    x = mg.ones(2, 0, 8, requires_grad=True)
    y = MultiHeadAttention(8, 2)(x)
    y.sum().backward()
    assert y.shape == (2, 0, 8) and x.grad.shape == (2, 0, 8)


def test_a_max_over_a_non_empty_axis_of_an_empty_tensor_is_empty_as_in_pytorch():
    x = mg.zeros(0, 3, requires_grad=True)
    y = x.max(axis=1)
    y.sum().backward()
    assert y.shape == (0,) and x.grad.shape == (0, 3)
