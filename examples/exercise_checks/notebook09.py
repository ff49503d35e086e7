"""Notebook 09: a gradient by hand, backward, gradcheck and the graph."""

import numpy as np

import minigrad as mg
from exercise_checks import as_numbers, say, unanswered


def _is_number(answer) -> bool:
    return isinstance(answer, (int, float, np.integer, np.floating)) and \
        not isinstance(answer, (bool, np.bool_))


def check_dL_dx(answer) -> bool:
    """Exercise: dL/dx of the notebook's neuron, worked out by hand. Judged against the
    gradient backward() leaves in x.grad when x is made a tensor that requires grad."""
    if unanswered(answer):
        return False
    if isinstance(answer, mg.Tensor):
        answer = answer.data  # a 0-d tensor, like x.grad, counts as its number
    if isinstance(answer, np.ndarray) and answer.ndim == 0:
        answer = answer.item()
    if not _is_number(answer):
        return say(False, "", f"give one number, such as 0.123; you gave "
                              f"{type(answer).__name__}.")
    # The notebook's neuron (x, w, b, t = 1.5, 0.8, -0.3, 0.2), this time asking for x.
    x = mg.tensor(np.float64(1.5), requires_grad=True)
    w, b, t = 0.8, -0.3, 0.2
    loss = ((w * x + b).tanh() - t) ** 2
    loss.backward()
    measured = float(x.grad)
    right = abs(float(answer) - measured) <= 1e-3
    return say(right, f"backward() agrees: dL/dx = {measured:.6f}, the same chain as for w "
                      "with its last factor dz/dx = w.",
               "the path from L to x runs through the same y and z as the path to w; only "
               "the last factor, dz/dx, is different. Write z = w x + b and differentiate "
               "it with respect to x.")


def _your_op(name: str, forward, backward_fn, keep):
    """A Function whose forward is `forward` and whose backward is the learner's:
    backward_fn(*kept arrays, grad), where keep(inputs, output) says which arrays forward
    saves for it. check_function then judges it against finite differences."""

    def fwd(ctx, *arrays):
        out = forward(*arrays)
        ctx.save_for_backward(*keep(arrays, out))
        return out

    def bwd(ctx, grad):  # copies: a backward that writes into its arrays spoils no check
        grads = backward_fn(*(a.copy() for a in ctx.saved_arrays), grad.copy())
        # A list of numbers, or tensors, is the learner's array written another way.
        if isinstance(grads, tuple):
            return tuple(as_numbers(g) for g in grads)
        return as_numbers(grads)

    return type(name, (mg.Function,), {"name": name, "forward": staticmethod(fwd),
                                       "backward": staticmethod(bwd)})


def _run(fn, *arrays):
    """fn(*arrays), or the error it raised, as (result, error message)."""
    try:
        return fn(*(a.copy() for a in arrays)), None
    except Exception as error:  # the learner's code: any error is reported, not raised
        return None, f"{type(error).__name__}: {error}"


def check_tanh_backward(tanh_backward) -> bool:
    """Exercise: tanh's backward, tanh_backward(y, grad) with y = tanh(a) the saved output.
    Judged by the gradients it sends, against finite differences of tanh."""
    rng = np.random.default_rng(0)
    y = np.tanh(rng.standard_normal((3, 4)))
    grad = rng.standard_normal((3, 4))
    answer, error = _run(tanh_backward, y, grad)
    if error is None and unanswered(answer):
        return False
    if error is not None:
        return say(False, "", f"your function raised {error}")
    if np.shape(answer) != y.shape or isinstance(answer, mg.Tensor):
        return say(False, "", f"return a NumPy array of y's shape {y.shape} (backward works "
                              f"on plain arrays); yours is {type(answer).__name__} of shape "
                              f"{np.shape(answer)}.")
    twice, _ = _run(tanh_backward, y, 2 * grad)
    if twice is None or not np.allclose(np.asarray(twice), 2 * np.asarray(answer)):
        return say(False, "", "when the gradient that arrives doubles, the gradient sent back "
                              "must double too: multiply the local derivative by grad.")
    op = _your_op("YourTanh", np.tanh, tanh_backward, lambda inputs, out: (out,))
    try:
        mg.check_function(op, rng.standard_normal((3, 4)))
    except mg.GradcheckError as wrong:
        return say(False, "", f"finite differences disagree ({wrong}). The local derivative "
                              "d tanh(a)/da can be written with y = tanh(a) alone: differentiate "
                              "tanh = sinh / cosh, or recall the notebook's dy/dz.")
    except Exception as error:  # the learner's code: any error is reported, not raised
        return say(False, "", f"your function raised {type(error).__name__}: {error}")
    return say(True, "The chain rule at one op: the local derivative 1 - y^2, read from the "
                     "saved output, times the gradient that arrived.", "")


def check_mul_backward(mul_backward) -> bool:
    """Exercise: the backward of a * b, mul_backward(a, b, grad) -> (grad_a, grad_b).
    Judged by the gradients it sends, against finite differences of a * b."""
    rng = np.random.default_rng(1)
    a, b, grad = (rng.standard_normal((2, 3)) for _ in range(3))
    answer, error = _run(mul_backward, a, b, grad)
    if error is None and unanswered(answer):
        return False
    if error is not None:
        return say(False, "", f"your function raised {error}")
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or \
            any(np.shape(g) != a.shape for g in answer):
        return say(False, "", "return a pair (gradient for a, gradient for b), each a NumPy "
                              f"array of shape {a.shape}: one gradient per input.")
    op = _your_op("YourMul", np.multiply, mul_backward, lambda inputs, out: inputs)
    try:
        mg.check_function(op, a, b)
    except mg.GradcheckError as wrong:
        return say(False, "", f"finite differences disagree ({wrong}). Ask how much a * b "
                              "moves when a moves a little and b stays still, and then the same "
                              "for b.")
    except Exception as error:  # the learner's code: any error is reported, not raised
        return say(False, "", f"your function raised {type(error).__name__}: {error}")
    return say(True, "Each input's gradient is the incoming gradient times the local "
                     "derivative, and the local derivative of a * b by a is b (and by b, a).", "")
