"""Hypothesis strategies: a valid case (input arrays and parameters) for each kind of op.

A case is `(arrays, params)`: the op is called as `spec.call(*tensors, **params)`. Shapes
include 0-d tensors and size-1 axes, and binary ops get every broadcasting pattern.
Values come from a seeded NumPy generator shaped by the op's domain (see tests/op_cases.py).
"""

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
NONEMPTY_DIMS = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def values(rng, shape, domain, offset=0.0):
    """Float64 values for `shape`, kept where the op is differentiable."""
    if domain == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if domain == "nonzero":
        x = rng.standard_normal(shape)
        return np.sign(x) * (np.abs(x) + 0.1) + 0.0  # away from relu/abs kinks at 0
    if domain == "distinct":
        # No two values closer than 0.05, so max/min have no ties within eps.
        size = int(np.prod(shape))
        return (rng.permutation(size) * 0.1 + offset).reshape(shape) - 1.0
    return rng.standard_normal(shape)


@st.composite
def _axis_for(draw, ndim):
    if ndim == 0:
        return draw(st.sampled_from([None, 0, -1]))
    return draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
        .map(tuple),
    ))


@st.composite
def _matmul_shapes(draw):
    n = draw(st.integers(1, 4))
    left_vector, right_vector = draw(st.booleans()), draw(st.booleans())
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    left = (n,) if left_vector else batch.input_shapes[0] + (draw(st.integers(1, 4)), n)
    right = (n,) if right_vector else batch.input_shapes[1] + (n, draw(st.integers(1, 4)))
    return [left, right]


@st.composite
def _index_for(draw, shape, rng):
    choice = draw(st.sampled_from(["slice", "integers", "mask", "mixed"]))
    first = shape[0]
    if choice == "slice":
        start = draw(st.integers(0, first - 1))
        return slice(start, draw(st.integers(start + 1, first)), draw(st.integers(1, 2)))
    if choice == "integers":
        # Repeats on purpose: their gradients must add up.
        return rng.integers(0, first, size=draw(st.integers(1, 6)))
    if choice == "mask":
        return rng.random(shape) < 0.5
    column = (slice(None),) if len(shape) == 1 else (slice(None), 0)
    return (rng.integers(0, first, size=3),) + column[1:]


@st.composite
def _mask_shape_for(draw, shape):
    """A shape that broadcasts to `shape`: a suffix of it with some sides set to 1."""
    suffix = shape[draw(st.integers(0, len(shape))):]
    return tuple(n if draw(st.booleans()) else 1 for n in suffix)


@st.composite
def case_for(draw, spec):
    """(arrays, params) for one call of `spec`."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind, domain = spec.kind, spec.domain
    params = {}
    if kind == "unary":
        shapes = [draw(SHAPES)]
    elif kind in ("binary", "select"):
        n = 2 if kind == "binary" else 3
        shapes = list(draw(mutually_broadcastable_shapes(num_shapes=n, max_dims=3,
                                                         max_side=3)).input_shapes)
        if kind == "select":
            cond_shape = shapes.pop(0)
            params["cond"] = np.asarray(rng.random(cond_shape) < 0.5)
    elif kind == "reduce":
        shapes = [draw(SHAPES)]
        params["axis"] = draw(_axis_for(len(shapes[0])))
        params["keepdims"] = draw(st.booleans())
        if spec.name == "var":
            reduced = np.sum(np.ones(shapes[0]), axis=params["axis"] if shapes[0] else None)
            assume(np.size(np.ones(shapes[0])) // max(np.size(reduced), 1) >= 2)
    elif kind == "matmul":
        shapes = draw(_matmul_shapes())
    elif kind == "reshape":
        shapes = [draw(SHAPES)]
        params["shape"] = draw(st.sampled_from([(-1,), shapes[0][::-1], (1,) + shapes[0]]))
    elif kind == "permute":
        shapes = [draw(SHAPES)]
        params["axes"] = tuple(draw(st.permutations(range(len(shapes[0])))))
    elif kind == "swapaxes":
        shapes = [draw(NONEMPTY_DIMS)]
        ndim = len(shapes[0])
        params["axis0"] = draw(st.integers(-ndim, ndim - 1))
        params["axis1"] = draw(st.integers(-ndim, ndim - 1))
    elif kind == "broadcast":
        pair = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
        shapes = [pair.input_shapes[0]]
        params["shape"] = pair.result_shape
    elif kind == "index":
        shapes = [draw(NONEMPTY_DIMS)]
        params["index"] = draw(_index_for(shapes[0], rng))
    elif kind == "mask":
        shapes = [draw(SHAPES)]
        params["mask"] = np.asarray(rng.random(draw(_mask_shape_for(shapes[0]))) < 0.5)
    elif kind in ("concat", "stack", "split"):
        base = draw(NONEMPTY_DIMS)
        axis = draw(st.integers(-len(base), len(base) - 1))
        params["axis"] = axis
        if kind == "split":
            shapes = [base]
        elif kind == "stack":
            shapes = [base] * draw(st.integers(1, 3))
        else:
            sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
            shapes = [base[:axis % len(base)] + (n,) + base[axis % len(base) + 1:]
                      for n in sizes]
    else:
        raise AssertionError(f"no strategy for kind {kind!r}")
    arrays = [values(rng, shape, domain, offset=0.05 * i) for i, shape in enumerate(shapes)]
    return arrays, params
