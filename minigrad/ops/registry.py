"""The one list of every differentiable op, for the tests that check them all.

Each entry says how to call the op and what kind of inputs it takes; the tests draw
shapes and parameters for each kind (tests/strategies.py), gradcheck every entry in
float64, and compare each with PyTorch. A test also checks that every Function subclass in
minigrad.ops appears here, so a new op cannot skip the checks.

kinds:
  unary        f(x)                          x of any shape
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
  select       f(a, b, cond=)                cond a boolean array broadcastable with a, b
  mask         f(x, mask=)                   mask a boolean array broadcastable to x

domain: "any" (standard normal), "positive" (log, sqrt, a base of pow), "nonzero" (kept away
from the kinks at 0 of relu/abs), "distinct" (no ties, for max/min).
"""

from dataclasses import dataclass
from collections.abc import Callable

from minigrad import functional as F
from minigrad.function import Function
from minigrad.ops import arithmetic, elementwise, index, join, matmul, reduce, shape


@dataclass(frozen=True)
class OpSpec:
    name: str
    function: type  # the Function subclass this entry exercises
    kind: str
    call: Callable
    domain: str = "any"


def _split_and_join(x, axis=0):
    # Scale each piece differently, so a backward that routes a gradient to the wrong piece
    # changes the result and gradcheck notices.
    pieces = F.split(x, 1, axis=axis)
    return F.concat([p * (i + 1) for i, p in enumerate(pieces)], axis=axis)


OPS = [
    OpSpec("add", arithmetic.Add, "binary", lambda a, b: a + b),
    OpSpec("sub", arithmetic.Sub, "binary", lambda a, b: a - b),
    OpSpec("mul", arithmetic.Mul, "binary", lambda a, b: a * b),
    OpSpec("div", arithmetic.Div, "binary", lambda a, b: a / b, "positive"),
    OpSpec("neg", arithmetic.Neg, "unary", lambda x: -x),
    OpSpec("pow", arithmetic.Pow, "binary", lambda a, b: a ** b, "positive"),
    OpSpec("pow_scalar", arithmetic.Pow, "unary", lambda x: x ** 3),
    OpSpec("rpow_scalar", arithmetic.Pow, "unary", lambda x: 2.0 ** x),
    OpSpec("exp", elementwise.Exp, "unary", F.exp),
    OpSpec("log", elementwise.Log, "unary", F.log, "positive"),
    OpSpec("sqrt", elementwise.Sqrt, "unary", F.sqrt, "positive"),
    OpSpec("tanh", elementwise.Tanh, "unary", F.tanh),
    OpSpec("sigmoid", elementwise.Sigmoid, "unary", F.sigmoid),
    OpSpec("relu", elementwise.Relu, "unary", F.relu, "nonzero"),
    OpSpec("abs", elementwise.Abs, "unary", F.abs, "nonzero"),
    OpSpec("clip", elementwise.Clip, "unary", lambda x: F.clip(x, -0.5, 0.5), "nonzero"),
    OpSpec("maximum", elementwise.Maximum, "binary", F.maximum, "distinct"),
    OpSpec("minimum", elementwise.Minimum, "binary", F.minimum, "distinct"),
    OpSpec("cast", elementwise.Cast, "unary", lambda x: x.astype("float64") * 1.0),
    OpSpec("sum", reduce.Sum, "reduce", F.sum),
    OpSpec("mean", reduce.Mean, "reduce", F.mean),
    OpSpec("max", reduce.Max, "reduce", F.max, "distinct"),
    OpSpec("min", reduce.Min, "reduce", F.min, "distinct"),
    OpSpec("var", reduce.Var, "reduce", F.var),
    OpSpec("matmul", matmul.MatMul, "matmul", F.matmul),
    OpSpec("reshape", shape.Reshape, "reshape", F.reshape),
    OpSpec("permute", shape.Permute, "permute", F.permute),
    OpSpec("swapaxes", shape.SwapAxes, "swapaxes", F.swapaxes),
    OpSpec("broadcast_to", shape.BroadcastTo, "broadcast", F.broadcast_to),
    OpSpec("getitem", index.GetItem, "index", lambda x, index: x[index]),
    OpSpec("where", index.Where, "select", lambda a, b, cond: F.where(cond, a, b)),
    OpSpec("masked_fill", index.MaskedFill, "mask", lambda x, mask: F.masked_fill(x, mask, 0.5)),
    OpSpec("concat", join.Concat, "concat", lambda *xs, axis: F.concat(xs, axis=axis)),
    OpSpec("stack", join.Stack, "stack", lambda *xs, axis: F.stack(xs, axis=axis)),
    OpSpec("split", index.GetItem, "split", _split_and_join),
]

BY_NAME = {spec.name: spec for spec in OPS}


def all_functions() -> set:
    """Every Function subclass defined in minigrad.ops (and below)."""
    found, todo = set(), list(Function.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("minigrad.ops") and cls not in found:
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return found
