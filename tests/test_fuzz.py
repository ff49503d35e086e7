"""A differential fuzz against PyTorch: random expression graphs over every op family
(elementwise, broadcasting binary, reductions, matmul, shape, indexing, joining, softmax),
built twice, once with minigrad and once with torch, and differentiated with a random
upstream gradient. Inputs include 0-d tensors, size-1 axes, exact zeros and ties (the
kinks of relu, abs, max, clip) and gradients that reach a kink as inf.

The graphs are drawn from fixed seeds, so every run checks the same ones; set
MINIGRAD_FUZZ_GRAPHS=64000 for a larger run.
"""

import os

import numpy as np
import pytest

import minigrad as mg
from attention.softmax import log_softmax, softmax

N_GRAPHS = int(os.environ.get("MINIGRAD_FUZZ_GRAPHS", "400"))
SHAPES = [(), (1,), (3,), (2, 3), (3, 1), (1, 3), (2, 1, 3), (2, 3, 4)]


class Pair:
    """A value built in both libraries."""

    def __init__(self, ours, theirs):
        self.ours, self.theirs = ours, theirs

    @property
    def shape(self):
        return self.ours.shape


def _values(rng, shape, dtype):
    kind = rng.integers(3)
    if kind == 0:  # exact zeros and ties: the kinks
        return rng.integers(-2, 3, shape).astype(dtype)
    if kind == 1:
        return rng.uniform(-2, 2, shape).astype(dtype)
    return (rng.standard_normal(shape) * 0.5).astype(dtype)


def _broadcastable(rng, shape):
    """A shape that broadcasts against `shape` without making it bigger."""
    out = [1 if rng.random() < 0.4 else n for n in shape]
    drop = int(rng.integers(0, len(out) + 1))
    return tuple(out[drop:])


def _unary(rng, torch):
    return [
        ("neg", lambda a: -a, lambda a: -a),
        ("exp", lambda a: (a * 0.5).exp(), lambda a: (a * 0.5).exp()),
        ("log", lambda a: (a * a + 1.0).log(), lambda a: (a * a + 1.0).log()),
        ("tanh", lambda a: a.tanh(), lambda a: a.tanh()),
        ("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid()),
        ("relu", lambda a: a.relu(), lambda a: a.relu()),
        ("abs", lambda a: a.abs(), lambda a: a.abs()),
        ("sqrt of relu", lambda a: a.relu() ** 0.5, lambda a: a.relu() ** 0.5),  # inf at 0
        ("square", lambda a: a ** 2, lambda a: a ** 2),
        ("clip", lambda a: a.clip(-0.5, 1.0), lambda a: a.clamp(-0.5, 1.0)),
    ]


def _step(rng, torch, nodes, leaves, dtype):
    """Apply one random op to random nodes; returns the new Pair."""
    a = nodes[int(rng.integers(len(nodes)))]
    family = rng.integers(7)
    if family == 0:
        _, f, g = _unary(rng, torch)[int(rng.integers(10))]
        return Pair(f(a.ours), g(a.theirs))
    if family == 1:  # binary, with broadcasting against a new leaf or an earlier node
        fitting = [n for n in nodes if _fits(n.shape, a.shape)]
        b = fitting[int(rng.integers(len(fitting)))] if fitting and rng.random() < 0.5 \
            else _leaf(rng, torch, _broadcastable(rng, a.shape), leaves, dtype)
        op = int(rng.integers(6))
        if op == 0:
            return Pair(a.ours + b.ours, a.theirs + b.theirs)
        if op == 1:
            return Pair(a.ours - b.ours, a.theirs - b.theirs)
        if op == 2:
            return Pair(a.ours * b.ours, a.theirs * b.theirs)
        if op == 3:
            return Pair(a.ours / (b.ours * b.ours + 1.0), a.theirs / (b.theirs * b.theirs + 1.0))
        if op == 4:
            return Pair(a.ours.maximum(b.ours), torch.maximum(a.theirs, b.theirs))
        return Pair(a.ours.minimum(b.ours), torch.minimum(a.theirs, b.theirs))
    if family == 2 and a.ours.ndim:  # reductions over an axis, or all
        axis = int(rng.integers(-1, a.ours.ndim))
        keep = bool(rng.integers(2))
        op = int(rng.integers(4))
        if axis < 0:
            ours = [a.ours.sum(), a.ours.mean(), a.ours.max(), a.ours.min()][op]
            theirs = [a.theirs.sum(), a.theirs.mean(), a.theirs.amax(), a.theirs.amin()][op]
            return Pair(ours, theirs)
        ours = [a.ours.sum, a.ours.mean, a.ours.max, a.ours.min][op](axis=axis, keepdims=keep)
        theirs = [a.theirs.sum, a.theirs.mean, a.theirs.amax, a.theirs.amin][op](
            dim=axis, keepdim=keep)
        return Pair(ours, theirs)
    if family == 3 and a.ours.ndim:  # matmul with a new leaf
        n = a.shape[-1]
        b = _leaf(rng, torch, (n,) if rng.random() < 0.3 else (n, int(rng.integers(1, 4))),
                  leaves, dtype)
        return Pair(a.ours @ b.ours, a.theirs @ b.theirs)
    if family == 4 and a.ours.ndim >= 1:  # shape and indexing
        op = int(rng.integers(4))
        if op == 0:
            return Pair(a.ours.reshape(-1), a.theirs.reshape(-1))
        if op == 1 and a.ours.ndim >= 2:
            return Pair(a.ours.swapaxes(0, -1), a.theirs.transpose(0, -1))
        if op == 2:
            return Pair(a.ours[..., ::2], a.theirs[..., ::2])
        return Pair(a.ours[:1], a.theirs[:1])
    if family == 5 and a.ours.ndim >= 1:  # joining a node with itself: a diamond
        axis = int(rng.integers(a.ours.ndim))
        if rng.random() < 0.5:
            return Pair(mg.concat([a.ours, a.ours * 2.0], axis=axis),
                        torch.cat([a.theirs, a.theirs * 2.0], dim=axis))
        return Pair(mg.stack([a.ours, -a.ours], axis=axis),
                    torch.stack([a.theirs, -a.theirs], dim=axis))
    if a.ours.ndim >= 1:  # softmax families
        axis = int(rng.integers(a.ours.ndim))
        if rng.random() < 0.5:
            return Pair(softmax(a.ours, axis=axis), torch.softmax(a.theirs, dim=axis))
        return Pair(log_softmax(a.ours, axis=axis), torch.log_softmax(a.theirs, dim=axis))
    _, f, g = _unary(rng, torch)[int(rng.integers(10))]
    return Pair(f(a.ours), g(a.theirs))


def _fits(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _leaf(rng, torch, shape, leaves, dtype):
    values = _values(rng, shape, dtype)
    pair = Pair(mg.tensor(values, requires_grad=True),
                torch.tensor(values, requires_grad=True))
    leaves.append(pair)
    return pair


def _check_graph(seed, torch):
    rng = np.random.default_rng(seed)
    dtype = np.float64 if rng.random() < 0.75 else np.float32
    leaves = []
    nodes = [_leaf(rng, torch, SHAPES[int(rng.integers(len(SHAPES)))], leaves, dtype)
             for _ in range(int(rng.integers(1, 3)))]
    ops = []
    for _ in range(int(rng.integers(1, 7))):
        nodes.append(_step(rng, torch, nodes, leaves, dtype))
        ops.append(nodes[-1])
    out = nodes[-1]
    np.testing.assert_allclose(out.ours.data, out.theirs.detach().numpy(), rtol=1e-5,
                               atol=1e-6, equal_nan=True, err_msg=f"forward, seed {seed}")
    upstream = rng.standard_normal(out.shape).astype(dtype)
    if not out.ours.requires_grad:
        return
    # An earlier node joins the loss too, so gradients meet from two directions.
    other = ops[int(rng.integers(len(ops)))]
    loss_ours = (out.ours * upstream).sum() + other.ours.sum() * 0.5
    loss_theirs = (out.theirs * torch.tensor(upstream)).sum() + other.theirs.sum() * 0.5
    loss_ours.backward()
    loss_theirs.backward()
    tolerance = dict(rtol=1e-6, atol=1e-8) if dtype == np.float64 else dict(rtol=1e-3,
                                                                             atol=1e-4)
    for i, leaf in enumerate(leaves):
        theirs = leaf.theirs.grad
        if theirs is None:
            assert leaf.ours.grad is None or not np.any(leaf.ours.grad), (seed, i)
            continue
        assert leaf.ours.grad is not None, f"seed {seed}: leaf {i} got no gradient"
        np.testing.assert_allclose(leaf.ours.grad, theirs.numpy(), equal_nan=True,
                                   err_msg=f"seed {seed}, leaf {i}", **tolerance)


@pytest.mark.oracle
def test_random_graphs_match_pytorch_values_and_gradients(torch_oracle):
    for seed in range(N_GRAPHS):
        _check_graph(seed, torch_oracle)
