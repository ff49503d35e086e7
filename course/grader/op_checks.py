"""Checks of an op's backward (tasks 1.1, 1.3 and 2.1): the op's own forward and backward
on arrays, with an upstream gradient drawn at grading time. No engine and no other op is
involved, so only the task's own answer decides.

Each input array the op differentiates gets an output `grad_<input>`: what backward
returned for it, summed back to the input's shape where the engine would do that too.
"""

import numpy as np

from course.grader import exact
from course.grader.checks import Check, Mistake, load_attr


def run_backward(op_path: str, inputs: dict, names: tuple, attrs: dict) -> dict:
    """Forward then backward of one op on arrays; {grad_<name>: array or None}."""
    from minigrad.function import Context
    from minigrad.tensor import Tensor

    op = load_attr(op_path)
    arrays = [inputs[name] for name in names]
    floats = [a.dtype.kind == "f" for a in arrays]
    ctx = Context(op)
    ctx.inputs = tuple(Tensor(a, requires_grad=True) if f else None
                       for a, f in zip(arrays, floats))
    op.forward(ctx, *arrays, **attrs)
    grads = op.backward(ctx, inputs["upstream"])
    grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
    if len(grads) != len(arrays):
        raise ValueError(f"{op.__name__}.backward returned {len(grads)} gradient(s) for "
                         f"{len(arrays)} input(s) (one per input, None for a non-float one)")
    result = {}
    for name, is_float, grad in zip(names, floats, grads):
        if is_float:
            # As returned: where it has the output's broadcast shape, the judge sums it back
            # to the input's shape, as the engine would (the child has no unbroadcast of its
            # own that works: that is task 1.2).
            result[f"grad_{name}"] = None if grad is None else np.asarray(grad, np.float64)
    return result


def op_check(task, name, op_path, make, formula, attrs=None, mistakes=(), weight=1.0):
    """A check of `op_path`'s backward on the arrays `make(rng)` returns (a dict, in the
    order forward takes them; float arrays are differentiated, the rest passed through).

    `formula(**arrays, **attrs)` is the op's forward in NumPy: the expected gradients are its
    exact derivatives (exact.gradients), so the check needs no solution to judge by."""
    attrs = attrs or {}

    def draw(rng):
        from minigrad.function import Context

        arrays = make(rng)
        op = load_attr(op_path)
        out = op.forward(Context(op), *arrays.values(), **attrs)
        return {**arrays, "upstream": rng.standard_normal(np.shape(out))}

    def compute(inputs):
        names = tuple(k for k in inputs if k != "upstream")
        return run_backward(op_path, inputs, names, attrs)

    def reference(inputs):
        arrays = {k: v for k, v in inputs.items() if k != "upstream"}
        wrt = [k for k, v in arrays.items() if v.dtype.kind == "f"]
        return exact.gradients(lambda **a: formula(*a.values(), **attrs), arrays, wrt,
                               inputs["upstream"])

    op_name = op_path.rpartition(".")[2]
    return Check(task, name, draw, compute, reference=reference, weight=weight,
                 mistakes=tuple(mistakes), summed_back=True,
                 labels={"grad_a": f"{op_name}.backward's gradient for a",
                         "grad_b": f"{op_name}.backward's gradient for b",
                         "grad_logits": f"{op_name}.backward's gradient for the logits"},
                 missing={"grad_a": f"{op_name}.backward returned None for a, which needs "
                                    "a gradient"})


# ---- mistakes: what a known wrong answer returns -------------------------------------------

def _each(fn):
    """A model applied to every gradient: fn(expected gradient, inputs) -> wrong one."""
    return lambda inputs, expected: {k: fn(v, inputs) for k, v in expected.items()}


UPSTREAM_UNCHANGED = Mistake(
    "it returns the incoming gradient unchanged: the chain rule multiplies it by the op's "
    "local derivative", _each(lambda g, i: np.broadcast_to(i["upstream"], g.shape)))
LOCAL_ONLY = Mistake(
    "it returns the local derivative alone: multiply it by the incoming gradient (the chain "
    "rule)", _each(lambda g, i: g / i["upstream"]))
SIGN = Mistake("the sign is flipped", _each(lambda g, i: -g))
ELEMENTWISE = (UPSTREAM_UNCHANGED, LOCAL_ONLY, SIGN)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- each op's forward in NumPy, safe for the complex step (exact.py) ------------------------

def _relu(a):
    return np.where(a.real > 0, a, 0)


def _max(a, axis=None, keepdims=False):
    """The maximum, written as the mean of the tied maxima: the same value, and a
    derivative that shares the gradient equally between ties (what Max.backward promises)."""
    tied = a.real == np.max(a.real, axis=axis, keepdims=True)
    return np.sum(a * tied, axis=axis, keepdims=keepdims) / np.sum(tied, axis=axis,
                                                                    keepdims=keepdims)


def _log_softmax(a, axis=-1):
    shifted = a - np.max(a.real, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softmax(a, axis=-1):
    return np.exp(_log_softmax(a, axis))


def _cross_entropy(a, targets, mask):
    picked = np.take_along_axis(_log_softmax(a), np.where(mask, targets, 0)[..., None],
                                axis=-1)[..., 0]
    return -np.sum(np.where(mask, picked, 0)) / max(int(mask.sum()), 1)


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    def make(rng):
        x = rng.standard_normal(shape)
        return np.sign(x) * (np.abs(x) + 0.1)
    return make


def _with_zeros(rng):
    a = rng.standard_normal((3, 4))
    a[rng.random((3, 4)) < 0.4] = 0.0
    return {"a": a}


def inputs(**makers):
    return lambda rng: {name: make(rng) for name, make in makers.items()}


# ---- task 1.1: elementwise backward -------------------------------------------------------

OPS = "minigrad.ops."
TASK1_1 = [
    op_check("task1_1", "div", OPS + "arithmetic.Div", inputs(a=normal(2, 3), b=positive(2, 3)),
             lambda a, b: a / b,
             mistakes=ELEMENTWISE + (Mistake(
                 "d(a/b)/db is -a / b**2: the square of b is missing",
                 lambda i, e: {"grad_b": -i["upstream"] * i["a"] / i["b"]}),)),
    op_check("task1_1", "exp", OPS + "elementwise.Exp", inputs(a=normal(2, 3)), np.exp,
             mistakes=ELEMENTWISE),
    op_check("task1_1", "log", OPS + "elementwise.Log", inputs(a=positive(2, 3)), np.log,
             mistakes=ELEMENTWISE + (Mistake(
                 "d log(x)/dx is 1/x, not log(x)",
                 lambda i, e: {"grad_a": i["upstream"] * np.log(i["a"])}),)),
    op_check("task1_1", "sqrt", OPS + "elementwise.Sqrt", inputs(a=positive(2, 3)), np.sqrt,
             mistakes=ELEMENTWISE + (Mistake(
                 "d sqrt(x)/dx is 1 / (2 sqrt(x)): the factor 1/2 is missing",
                 lambda i, e: {"grad_a": i["upstream"] / np.sqrt(i["a"])}),)),
    op_check("task1_1", "tanh", OPS + "elementwise.Tanh", inputs(a=normal(2, 3)), np.tanh,
             mistakes=ELEMENTWISE + (Mistake(
                 "d tanh(x)/dx is 1 - tanh(x)**2: the square is missing",
                 lambda i, e: {"grad_a": i["upstream"] * (1 - np.tanh(i["a"]))}),)),
    op_check("task1_1", "sigmoid", OPS + "elementwise.Sigmoid",
             lambda rng: {"a": 3 * rng.standard_normal((2, 3))}, _sigmoid,
             mistakes=ELEMENTWISE + (Mistake(
                 "d sigmoid(x)/dx is s (1 - s) with s = sigmoid(x), the output, not x",
                 lambda i, e: {"grad_a": i["upstream"] * i["a"] * (1 - i["a"])}),
                 Mistake("the derivative is s (1 - s): the factor (1 - s) is missing",
                         lambda i, e: {"grad_a": i["upstream"] * _sigmoid(i["a"])}))),
    op_check("task1_1", "relu", OPS + "elementwise.Relu", inputs(a=away_from_zero(3, 4)),
             _relu,
             mistakes=ELEMENTWISE + (Mistake(
                 "relu's derivative is the mask x > 0 (1 or 0), not relu(x) itself",
                 lambda i, e: {"grad_a": i["upstream"] * np.maximum(i["a"], 0)}),)),
    op_check("task1_1", "relu at 0 (the docstring: 0 there)", OPS + "elementwise.Relu",
             _with_zeros, _relu, mistakes=(Mistake(
                 "at a == 0 the gradient is 0 (the docstring, as PyTorch): use a > 0, "
                 "not a >= 0", lambda i, e: {"grad_a": i["upstream"] * (i["a"] >= 0)}),)),
]

# ---- task 1.3: reductions and matmul ------------------------------------------------------

NOT_SPREAD = Mistake(
    "the gradient keeps the reduced shape: it must be spread back over the input's shape "
    "(np.broadcast_to, after putting the reduced axes back with np.expand_dims)",
    lambda i, e: {"grad_a": i["upstream"]})


def _matmul_transposed(i, e):
    a, b, g = i["a"], i["b"], i["upstream"]
    try:
        return {"grad_a": g @ b, "grad_b": a @ g}
    except ValueError:
        return {}


TRANSPOSED = Mistake("an operand is not transposed: for C = A @ B, dA = dC @ B^T and "
                     "dB = A^T @ dC", _matmul_transposed)


def _ties(rng):
    return {"a": rng.integers(0, 3, (3, 4)).astype(np.float64)}  # many equal maxima


def _max_ties_not_shared(i, e):
    a, g = i["a"], i["upstream"]
    return {"grad_a": (a == a.max(axis=1, keepdims=True)) * g[:, None]}


TASK1_3 = [
    op_check("task1_3", "sum of all", OPS + "reduce.Sum", inputs(a=normal(2, 3)), np.sum,
             mistakes=(NOT_SPREAD,)),
    op_check("task1_3", "sum over axis 1", OPS + "reduce.Sum", inputs(a=normal(2, 3, 4)),
             np.sum, {"axis": 1}, mistakes=(NOT_SPREAD, Mistake(
                 "the gradient is not broadcast back over the summed axis",
                 lambda i, e: {"grad_a": np.expand_dims(i["upstream"], 1)}))),
    op_check("task1_3", "sum over axes (0, 2), keepdims", OPS + "reduce.Sum",
             inputs(a=normal(2, 3, 4)), np.sum, {"axis": (0, 2), "keepdims": True},
             mistakes=(NOT_SPREAD,)),
    op_check("task1_3", "mean of all", OPS + "reduce.Mean", inputs(a=normal(2, 3)), np.mean,
             mistakes=(NOT_SPREAD, Mistake(
                 "the mean's gradient is divided by the number of averaged elements: the "
                 "division is missing", lambda i, e: {"grad_a": e["grad_a"] * i["a"].size}))),
    op_check("task1_3", "mean over the last axis", OPS + "reduce.Mean",
             inputs(a=normal(2, 3, 4)), np.mean, {"axis": -1}, mistakes=(NOT_SPREAD, Mistake(
                 "the mean's gradient is divided by the number of averaged elements (here "
                 "the last axis, 4): the division is wrong or missing",
                 lambda i, e: {"grad_a": e["grad_a"] * 4}))),
    op_check("task1_3", "max over axis 1", OPS + "reduce.Max",
             lambda rng: {"a": rng.permutation(12).reshape(3, 4) * 0.1}, _max, {"axis": 1},
             mistakes=(NOT_SPREAD,)),
    op_check("task1_3", "max with ties", OPS + "reduce.Max", _ties, _max, {"axis": 1},
             mistakes=(Mistake("tied maxima must share the gradient equally (each gets "
                               "1/count): here every tied maximum got all of it",
                               _max_ties_not_shared),)),
    op_check("task1_3", "matmul (2, 3) @ (3, 4)", OPS + "matmul.MatMul",
             inputs(a=normal(2, 3), b=normal(3, 4)), np.matmul, mistakes=(TRANSPOSED,)),
    op_check("task1_3", "matmul (3, 3) @ (3, 3)", OPS + "matmul.MatMul",
             inputs(a=normal(3, 3), b=normal(3, 3)), np.matmul, mistakes=(TRANSPOSED,)),
    op_check("task1_3", "matmul vector @ matrix", OPS + "matmul.MatMul",
             inputs(a=normal(3), b=normal(3, 4)), np.matmul),
    op_check("task1_3", "matmul matrix @ vector", OPS + "matmul.MatMul",
             inputs(a=normal(2, 3), b=normal(3)), np.matmul),
    op_check("task1_3", "matmul vector @ vector", OPS + "matmul.MatMul",
             inputs(a=normal(3), b=normal(3)), np.matmul),
    op_check("task1_3", "matmul batched", OPS + "matmul.MatMul",
             inputs(a=normal(2, 2, 3), b=normal(2, 3, 4)), np.matmul, mistakes=(TRANSPOSED,)),
    op_check("task1_3", "matmul batch @ vector", OPS + "matmul.MatMul",
             inputs(a=normal(2, 4, 3), b=normal(3)), np.matmul),
    op_check("task1_3", "matmul vector @ batch", OPS + "matmul.MatMul",
             inputs(a=normal(3), b=normal(2, 3, 4)), np.matmul),
    op_check("task1_3", "matmul with broadcast batch dimensions", OPS + "matmul.MatMul",
             inputs(a=normal(2, 1, 4, 3), b=normal(5, 3, 2)), np.matmul,
             mistakes=(TRANSPOSED,)),
]

# ---- task 2.1: softmax and cross-entropy --------------------------------------------------

def _no_off_diagonal(axis):
    def model(i, e):
        s = _softmax(i["a"], axis)
        return {"grad_a": i["upstream"] * s * (1 - s)}
    return Mistake("only the diagonal of the softmax Jacobian is used: ds_i/dx_j = -s_i s_j "
                   "for i != j is missing (dx = s * (dy - sum(dy * s)))", model)


def _log_softmax_no_sum(axis):
    def model(i, e):
        return {"grad_a": i["upstream"] - _softmax(i["a"], axis)}
    return Mistake("dx = dy - softmax(x) * sum(dy): the sum of the incoming gradient is "
                   "missing", model)


def _cross_entropy_case(rng):
    mask = np.array([True, True, False, True])
    return {"a": rng.standard_normal((4, 5)), "targets": rng.integers(0, 5, 4), "mask": mask}


def _cross_entropy_not_averaged(i, e):
    return {"grad_a": e["grad_a"] * int(i["mask"].sum())}


def _cross_entropy_all_rows(i, e):
    """The mask ignored: every row gets softmax - onehot (of the saved targets, which the
    forward set to 0 where the mask is False), still divided by the counted number."""
    p = _softmax(i["a"], -1)
    p[np.arange(len(p)), np.where(i["mask"], i["targets"], 0)] -= 1
    return {"grad_a": p * i["upstream"] / max(int(i["mask"].sum()), 1)}


TASK2_1 = [
    op_check("task2_1", "softmax over the last axis", "attention.softmax.Softmax",
             inputs(a=normal(3, 4)), _softmax, {"axis": -1}, mistakes=(_no_off_diagonal(-1),)),
    op_check("task2_1", "softmax over axis 0", "attention.softmax.Softmax",
             lambda rng: {"a": 5 * rng.standard_normal((3, 4))}, _softmax, {"axis": 0},
             mistakes=(_no_off_diagonal(0), Mistake(
                 "the sum runs over the wrong axis: use ctx.axis",
                 lambda i, e: {"grad_a": (lambda s: s * (i["upstream"] - np.sum(
                     i["upstream"] * s, axis=-1, keepdims=True)))(_softmax(i["a"], 0))}))),
    op_check("task2_1", "log_softmax", "attention.softmax.LogSoftmax", inputs(a=normal(3, 4)),
             _log_softmax, {"axis": -1}, mistakes=(_log_softmax_no_sum(-1),)),
    op_check("task2_1", "log_softmax over axis 1", "attention.softmax.LogSoftmax",
             inputs(a=normal(2, 3, 4)), _log_softmax, {"axis": 1},
             mistakes=(_log_softmax_no_sum(1),)),
    op_check("task2_1", "cross-entropy with a mask", "attention.losses.CrossEntropy",
             _cross_entropy_case, _cross_entropy, mistakes=(
                 Mistake("the loss is a mean over the counted positions: divide the "
                         "gradient by their number (ctx.count)", _cross_entropy_not_averaged),
                 Mistake("positions the mask leaves out must get zero gradient",
                         _cross_entropy_all_rows))),
]

CHECKS = TASK1_1 + TASK1_3 + TASK2_1
