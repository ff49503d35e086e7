"""Notebook 10: finding a wrong gradient with the per-node check."""

import numpy as np

import minigrad as mg
from exercise_checks import as_numbers, say, unanswered
from minigrad.ops.arithmetic import Mul, Pow
from minigrad.ops.elementwise import Sigmoid, Tanh
from minigrad.ops.reduce import Mean

# Classic slips, one per op of the mystery graph: each op's own forward, with a backward
# that forgets one piece of the derivative. mystery_loss plants exactly one of them.


class _TanhSlip(Tanh):
    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        return grad * (1 - out)  # the square of 1 - tanh^2 forgotten


class _SigmoidSlip(Sigmoid):
    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        return out * grad  # the factor (1 - s) forgotten


class _MulSlip(Mul):
    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        return grad * a, grad * b  # each input given its own value instead of the other's


class _PowSlip(Pow):
    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_arrays
        return grad * b * out, None  # b * a**b: the power not lowered by one


class _MeanSlip(Mean):
    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(grad, ctx.shape)  # the sum's backward: 1 / n forgotten


_SLIPS = (_TanhSlip, _SigmoidSlip, _MulSlip, _PowSlip, _MeanSlip)


def mystery_loss(seed: int = 10):
    """A small network's loss, (sigmoid(tanh(x @ w) * s) ** 2).mean(), in which one op has
    a wrong backward. Every forward is right, so the loss is right; which op's backward is
    wrong is drawn from `seed`."""
    rng = np.random.default_rng(seed)
    planted = _SLIPS[rng.integers(len(_SLIPS))]
    op = {cls.name: (planted if planted.name == cls.name else cls)
          for cls in (Tanh, Sigmoid, Mul, Pow, Mean)}
    x = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True, name="x")
    w = mg.tensor(rng.standard_normal((3, 5)), requires_grad=True, name="w")
    s = mg.tensor(rng.standard_normal(5), requires_grad=True, name="s")
    with mg.record_sources():  # lets check_graph name the line of each node
        h = op["tanh"].apply(x @ w)
        g = op["sigmoid"].apply(op["mul"].apply(h, s))
        return op["mean"].apply(op["pow"].apply(g, 2.0))


def check_wrong_op(answer, seed: int = 10) -> bool:
    """Exercise: name the op of mystery_loss() whose backward is wrong. Judged by running
    the per-node check on the same graph."""
    if unanswered(answer):
        return False
    if not isinstance(answer, str):
        return say(False, "", f"give the op's name as a string, such as \"matmul\"; you gave "
                              f"{type(answer).__name__}.")
    report = mg.check_graph(mystery_loss(seed))
    right = {answer.strip().lower()} == report.failing_ops()
    return say(right, "check_graph tests each node against finite differences of its own "
                      "forward, so the wrong backward fails at its own node and nowhere else.",
               "gradcheck(loss) can only say that some gradient is wrong. Run "
               "mg.check_graph(loss) and print its report: a failing node's line begins with "
               "the op's name.")


def _jacobians(scores: np.ndarray):
    """The true Jacobian of softmax at scores (central differences, dy_i/ds_j in row i,
    column j) and the one HastySoftmax's backward applies (its column j: backward of e_j)."""
    def softmax(s):
        e = np.exp(s - s.max())
        return e / e.sum()

    n, eps = len(scores), 1e-6
    true = np.stack([(softmax(scores + eps * e) - softmax(scores - eps * e)) / (2 * eps)
                     for e in np.eye(n)], axis=1)
    y = softmax(scores)
    hasty = np.stack([e * y * (1 - y) for e in np.eye(n)], axis=0)  # row i: backward of e_i
    return true, hasty


def check_wrong_entries(answer) -> bool:
    """Exercise: of the 16 entries of softmax's Jacobian for a row of 4 scores, how many
    does HastySoftmax's backward get wrong? Judged by comparing both Jacobians."""
    if unanswered(answer):
        return False
    if not isinstance(answer, (int, np.integer)) or isinstance(answer, bool):
        return say(False, "", f"give a whole number of entries, from 0 to 16; you gave "
                              f"{type(answer).__name__}.")
    true, hasty = _jacobians(np.random.default_rng(0).standard_normal(4))
    wrong = int(np.sum(~np.isclose(true, hasty, atol=1e-6)))
    return say(answer == wrong, f"{wrong} of 16: the hasty backward keeps the diagonal, "
                                "y_i (1 - y_i), which is right, and sets every off-diagonal "
                                "entry -y_i y_j to zero.",
               "write the 4 x 4 Jacobian dy_i/ds_j = y_i (delta_ij - y_j) and the one the hasty "
               "backward uses, grad * y * (1 - y): which entries agree?")


def _your_softmax(backward_fn):
    """Softmax along the last axis, with the learner's backward_fn(y, grad) as backward."""

    class YourSoftmax(mg.Function):
        name = "your_softmax"

        @staticmethod
        def forward(ctx, s):
            e = np.exp(s - s.max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):  # copies: a backward that writes into them spoils no check
            (y,) = ctx.saved_arrays
            return as_numbers(backward_fn(y.copy(), grad.copy()))  # a list: an array too

    return YourSoftmax


def _verdict(op, scores):
    """None if op's backward agrees with finite differences at scores, else the reason."""
    try:
        mg.check_function(op, scores)
    except mg.GradcheckError as wrong:
        return str(wrong)
    except Exception as error:  # the learner's code: any error is reported, not raised
        return f"your function raised {type(error).__name__}: {error}"
    return None


def check_softmax_backward(softmax_backward) -> bool:
    """Exercise: softmax's backward along the last axis, softmax_backward(y, grad). Judged
    by check_function, on one row and on several."""
    rng = np.random.default_rng(3)
    y = rng.dirichlet(np.ones(4), size=1)  # one row of weights, summing to 1
    try:
        answer = softmax_backward(y.copy(), rng.standard_normal((1, 4)))
    except Exception as error:  # the learner's code: any error is reported, not raised
        return say(False, "", f"your function raised {type(error).__name__}: {error}")
    if unanswered(answer):
        return False
    if isinstance(answer, mg.Tensor) or np.shape(answer) != y.shape:
        return say(False, "", f"return a NumPy array shaped like y, {y.shape}; yours is "
                              f"{type(answer).__name__} of shape {np.shape(answer)}.")
    op = _your_softmax(softmax_backward)
    one_row = _verdict(op, rng.standard_normal((1, 4)))
    if one_row is not None:
        return say(False, "", f"{one_row}. Apply the full Jacobian y_i (delta_ij - y_j) to "
                              "grad: the notebook's formula has a sum over j.")
    rows = _verdict(op, rng.standard_normal((3, 4)))
    if rows is not None:
        return say(False, "", f"right for one row, wrong for three ({rows}). Each row's sum "
                              "must stay in its own row: sum along the last axis, with "
                              "keepdims=True.")
    return say(True, "Raising one score lowers every other weight: the sum over j carries "
                     "the off-diagonal terms that HastySoftmax forgot.", "")
