"""Notebook 14: the verb, the distance and the length."""

import numpy as np

import minigrad as mg
from exercise_checks import say, unanswered


def check_svo_without_positions(prediction, out: str = "runs/svo-none") -> bool:
    """Exercise: can a model without positions tell the subject from the object? Judged by
    training one (about a second)."""
    if unanswered(prediction):
        return False
    import json
    import os

    from attention.train import TrainConfig, train

    done = os.path.join(out, "metrics.json")
    if os.path.exists(done):  # trained when the cell last ran: a changed answer reuses it
        with open(done) as f:
            accuracy = json.load(f)["held_out_accuracy"]
    else:
        accuracy = train(TrainConfig(task="svo", positional="none", out=out), progress=False,
                         plots=False, overwrite=True)["held_out_accuracy"]
    can = accuracy > 0.9
    print(f"Without positions: {accuracy:.0%} held-out.")
    return say(prediction is can, "The subject and the object are the same kind of word: "
                "only where they stand tells them apart, and attention without positions "
                "sees the sentence as a set.", "look at the held-out accuracy above, and ask "
                "what, besides their place, tells a subject from an object here.")


def check_length_prediction(prediction, run_dir: str = "runs/lengths-context-none") -> bool:
    """Exercise: does the context model without positions, trained on 8 tokens, stay at
    99% or more on rows of 256? Judged by measuring it."""
    if unanswered(prediction):
        return False
    from attention.train import accuracy_at_length, load_run

    model, task, _ = load_run(run_dir)
    accuracy = accuracy_at_length(model, task, 256, n=300)
    print(f"Measured at 256 tokens: {accuracy:.0%}.")
    stays = accuracy >= 0.99
    why = ("Nothing in a model without positions depends on the row's length: the same "
           "weights compare the same pairs, only more of them." if stays else
           "Nothing limits the length, but the softmax spreads: 'bank' must now pick its "
           "context word out of 255 others, with scores learned among 7, and the neutral "
           "words' small weights add up. No limit is not the same as no cost.")
    return say(prediction is stays, why, "compare the measurement above with 99%, and think "
               "of what softmax does with 32 times as many keys.")


def _steps_one_after_another(output, op: str) -> int:
    """How many `op` nodes the graph of `output` holds: for a recurrent network, its steps,
    each of which needs the one before."""
    from minigrad.autograd import topological_order

    return sum(1 for t in topological_order(output)
               if t._ctx is not None and t._ctx.fn.name == op)


def check_sequential_steps(answer) -> bool:
    """Exercise: (the RNN's sequential steps, one attention layer's) for a row of 24 tokens.
    Judged by counting them in each model's graph: the RNN's tanh cells, attention's
    softmaxes."""
    if unanswered(answer):
        return False
    if not (isinstance(answer, tuple) and len(answer) == 2):
        return say(False, "", "give a pair of whole numbers: (rnn_steps, attention_steps).")
    from attention import AttentionModel
    from attention.rnn import RNNModel

    mg.manual_seed(0)
    ids = np.arange(24)[None, :] % 10  # one row of 24 tokens
    rnn = RNNModel(10, 10, d_model=8)
    attention = AttentionModel(10, 10, d_model=8, positional="none")
    measured = (_steps_one_after_another(rnn(ids)[:, -1].sum(), "tanh"),
                _steps_one_after_another(attention(ids)[:, -1].sum(), "softmax"))
    return say(tuple(answer) == measured, "The RNN's step t needs step t - 1, so 24 "
               "tokens are 24 steps in a row; attention scores every pair at once, in one "
               "matrix product and one softmax.",
               "the RNN's loop runs once per token and each pass needs the last one's h; "
               "how many of attention's operations depend on one another token by token?")
