"""Notebook 12: a tiny language model, and why it needs the causal mask."""

import numpy as np

import minigrad as mg
from exercise_checks import say, unanswered
from minigrad.nn import evaluating


def check_dropout_backward(dropout_backward) -> bool:
    """Exercise: dropout's backward, dropout_backward(keep, p, grad), with keep the boolean
    mask the forward drew. Judged by check_function, against finite differences of the
    forward with that same mask."""
    rng = np.random.default_rng(0)
    keep = rng.random((3, 4)) >= 0.3
    try:
        answer = dropout_backward(keep.copy(), 0.3, rng.standard_normal((3, 4)))
    except Exception as error:  # the learner's code: any error is reported, not raised
        return say(False, "", f"your function raised {type(error).__name__}: {error}")
    if unanswered(answer):
        return False
    if isinstance(answer, mg.Tensor) or np.shape(answer) != keep.shape:
        return say(False, "", f"return a NumPy array shaped like grad, {keep.shape}; yours is "
                              f"{type(answer).__name__} of shape {np.shape(answer)}.")
    class YourDropout(mg.Function):
        name = "your_dropout"

        @staticmethod
        def forward(ctx, x, p):
            ctx.p = p
            return x * keep / (1 - p)  # the same mask at every call, as a node keeps it

        @staticmethod
        def backward(ctx, grad):
            return dropout_backward(keep.copy(), ctx.p, grad.copy())

    for p in (0.3, 0.75):  # two rates: a scale written as a number fits only one of them
        try:
            mg.check_function(YourDropout, rng.standard_normal((3, 4)), p=p)
        except Exception as wrong:  # a GradcheckError, or an error in the learner's code
            return say(False, "", f"with p = {p}: {wrong}. Backward applies to grad what the "
                                  "forward did to x: the same mask, and the same scale.")
    return say(True, "The forward multiplied each entry by keep / (1 - p), a constant once "
                     "the mask is drawn, so backward multiplies grad by the same: zero where "
                     "the entry was dropped, 1 / (1 - p) where it was kept.", "")


def check_positions_computed(answer) -> bool:
    """Exercise: to complete "12+35=", how many positions' logits does the model compute in
    all? Judged by counting them while complete() runs."""
    if unanswered(answer):
        return False
    if not isinstance(answer, (int, np.integer)) or isinstance(answer, bool):
        return say(False, "", f"give a whole number; you gave {type(answer).__name__}.")
    from attention import CausalLM
    from attention.generate import complete
    from attention.tasks import make_task

    task = make_task("sums")
    model = CausalLM(len(task.vocab), max_len=task.seq_len)  # untrained: the count is the same
    calls = []
    forward = model.forward

    def counted(ids, *args, **kwargs):
        calls.append(np.shape(ids)[1])  # positions in this call
        return forward(ids, *args, **kwargs)

    model.forward = counted
    complete(model, task, "12+35=")
    counted_positions = sum(calls)
    return say(answer == counted_positions,
               f"{len(calls)} calls, on {' + '.join(map(str, calls))} positions: each new token "
               "is one call on the whole row so far, and only the last position's logits are "
               "used.",
               "each appended token needs one call of the model; the notebook says what each "
               "call is given. Count the tokens in each call and add them up.")


def check_earlier_predictions(answer, model, cheater) -> bool:
    """Exercise: when generation appends a token and runs the model again, do the logits at
    the positions before it change? (model, cheater) as a pair of booleans. Judged by running
    each model on a row and on the same row one token longer."""
    if unanswered(answer):
        return False
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or \
            not all(isinstance(a, (bool, np.bool_)) for a in answer):
        return say(False, "", f"give a pair of booleans, (for model, for cheater), such as "
                              f"(True, True); you gave {answer!r}.")
    T = min(model.max_len, cheater.max_len)
    row = np.random.default_rng(5).integers(0, model.config["vocab_size"], size=(4, T))
    changes = []
    for m in (model, cheater):
        with evaluating(m):  # as in generation: no dropout, no graph
            shorter = m(row[:, :-1]).data
            longer = m(row).data[:, :-1]  # the same positions, now with one more token after
        changes.append(not np.allclose(shorter, longer, atol=1e-5))
    print(f"logits before the new token change: model {changes[0]}, cheater {changes[1]}")
    return say([bool(a) for a in answer] == changes,
               "With the causal mask no position can see a later token, so appending one "
               "changes nothing before it (a generator may keep those results); without the "
               "mask every position attends to the new token, and all of them change.",
               "ask, for each model, whether position t's attention can reach the token at "
               "position t + 1 and later.")
