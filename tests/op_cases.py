"""The op-wide test cases, derived from the ops themselves: one per op in minigrad/ops.

Each op class says what inputs it takes (`kind`) and where it is differentiable
(`domain`); tests/strategies.py draws shapes and values for each kind, and the op-wide
tests gradcheck every case in float64, check its gradients' shapes and dtypes, plant a
fault in its backward, and compare it with PyTorch. A new op is found by being defined:
no list here to edit. The few cases below are extra ways of calling an op that the
generic call does not reach (a Python number as an operand, split built on getitem), and
the two ops whose call needs an option (clip's bounds, cast's dtype).

kinds:
  unary        f(x)                          x of any shape (the default: kind = None)
  binary       f(a, b)                       a, b broadcastable
  reduce       f(x, axis=, keepdims=)        axis None, an int or a tuple
  matmul       f(a, b)                       1-D, 2-D or batched, batch dims broadcast
  reshape      f(x, shape=)                  a shape with the same number of elements
  permute      f(x, axes=)                   a permutation of x's axes
  swapaxes     f(x, axis0=, axis1=)
  broadcast    f(x, shape=)                  a shape x broadcasts to
  index        f(x, index=)                  slices, integer arrays (repeats), bool masks
  concat       f(*xs, axis=)                 same shapes apart from `axis`
  stack        f(*xs, axis=)                 same shapes; axis may be one past the last
  split        f(x, axis=)
  select       f(cond, a, b)                 cond a boolean array broadcastable with a, b
  mask         f(x, mask, value=)            mask a boolean array broadcastable to x

domains: "any" (standard normal), "positive" (log, sqrt, a base of pow), "nonzero" (kept
away from the kinks at 0 of relu/abs/clip), "distinct" (no ties, for max/min).
"""

from collections.abc import Callable
from dataclasses import dataclass

import minigrad as mg
from minigrad.ops import all_ops
from minigrad.ops.arithmetic import Pow
from minigrad.ops.index import GetItem


@dataclass(frozen=True)
class OpCase:
    name: str
    function: type  # the Function subclass this case exercises
    kind: str
    call: Callable  # call(*tensors, **params) -> Tensor
    domain: str = "any"


def _generic_call(op, kind):
    """How a case of `kind` calls the op: tensors first, drawn parameters by keyword."""
    if kind == "select":
        return lambda a, b, cond: op.apply(cond, a, b)
    if kind == "mask":
        return lambda x, mask: op.apply(x, mask, value=0.5)
    return lambda *xs, **params: op.apply(*xs, **params)


def _split_and_join(x, axis=0):
    # Scale each piece differently, so a backward that routes a gradient to the wrong piece
    # changes the result and gradcheck notices.
    pieces = mg.split(x, 1, axis=axis)
    return mg.concat([p * (i + 1) for i, p in enumerate(pieces)], axis=axis)


# Ops whose generic call cannot work: it needs an option only the test can choose.
_CALLS = {
    "clip": lambda x: mg.clip(x, -0.5, 0.5),
    "cast": lambda x: x.astype("float64") * 1.0,
}

EXTRA = [
    OpCase("pow_scalar", Pow, "unary", lambda x: x ** 3),
    OpCase("rpow_scalar", Pow, "unary", lambda x: 2.0 ** x),
    OpCase("split", GetItem, "split", _split_and_join),
]


def derived_cases() -> list:
    """One case per op class in minigrad/ops, from its `kind` and `domain`."""
    cases = []
    for op in all_ops():
        kind = op.kind or "unary"
        call = _CALLS.get(op.name) or _generic_call(op, kind)
        cases.append(OpCase(op.name, op, kind, call, op.domain))
    return cases


OPS = derived_cases() + EXTRA
BY_NAME = {case.name: case for case in OPS}
