"""Notebook 11: training the "bank" model from scratch."""

import numpy as np

import minigrad as mg
from exercise_checks import say, unanswered, unanswered_yes_or_no


def check_attention_step(step, snapshots: dict, words: list) -> bool:
    """Exercise: the first snapshot step at which bank gives more than half of its attention
    to the context word. Judged on the notebook's own snapshots of bank's attention row."""
    if unanswered(step):
        return False
    from attention.tasks import MONEY, RIVER

    steps = sorted(snapshots)
    if not isinstance(step, (int, np.integer)) or isinstance(step, bool) or step not in steps:
        return say(False, "", f"give one of the snapshot steps {steps} (an int); you gave "
                              f"{step!r}.")
    at = next(i for i, word in enumerate(words) if word in RIVER + MONEY)  # the context word
    found = next((s for s in steps if snapshots[s][at] > 0.5), None)
    return say(step == found, "Within a few steps attention gathers on the context word, and "
                              "the training loss falls with it: once bank reads that word, "
                              "the classifier has what it needs.",
               f"look at the column of {words[at]!r} in the picture of bank's attention: in "
               "which row does it first pass 0.5?")


# The notebook's run: its data, model, optimizer and batches, with another learning rate.
# Like the notebook, it looks at the held-out accuracy every 4 steps, and it stops as soon
# as that is 100%.
def _steps_to_perfect(lr: float, task, train_set, held_out, steps: int = 150):
    """(the first step, of every 4th, after which held-out accuracy is 100%, or None;
    the last accuracy seen)."""
    from attention import AttentionModel
    from attention.train import TrainConfig, optimizer_step
    from minigrad.optim import Adam

    ids, targets, mask = held_out
    mg.manual_seed(0)
    model = AttentionModel(vocab_size=len(task.vocab), n_classes=len(task.classes),
                           d_model=32, n_heads=1, positional="none", residual=True)
    config = TrainConfig(task="context", batch_size=64, clip=1.0).resolved()
    optimizer = Adam(model.parameters(), lr=lr)
    batches = np.random.default_rng(1)
    accuracy = 0.0
    for step in range(steps):
        optimizer_step(config, model, optimizer, batches, train_set)
        if step % 4 == 0 or step == steps - 1:
            with mg.no_grad():
                accuracy = (model(ids).data.argmax(axis=-1) == targets)[mask].mean()
            if accuracy == 1.0:
                return step, accuracy
    return None, accuracy


def check_learning_rates(answer) -> bool:
    """Exercise: with lr 0.001 and 0.1 instead of 0.01, does held-out accuracy reach 100%
    "sooner", "later" or "never" (within 150 steps)? Judged by training the notebook's
    model with each (about a second)."""
    if unanswered(answer):
        return False
    words = ("sooner", "later", "never")
    if not isinstance(answer, dict) or set(answer) != {0.001, 0.1} or \
            any(value not in words for value in answer.values()):
        return say(False, "", f"give a dict with the keys 0.001 and 0.1, each mapped to one "
                              f"of {words}; you gave {answer!r}.")
    from attention.tasks import make_splits, make_task

    task = make_task("context")
    data = (task, *make_splits(task, 4000, 1000, seed=0))
    reference, _ = _steps_to_perfect(0.01, *data)
    print(f"lr=0.01, the notebook's: 100% held-out after step {reference}")
    measured = {}
    for lr in (0.001, 0.1):
        step, accuracy = _steps_to_perfect(lr, *data)
        measured[lr] = "never" if step is None else "sooner" if step < reference else "later"
        print(f"lr={lr}: " + (f"100% held-out after step {step}" if step is not None else
                              f"not 100% in 150 steps (it ends at {accuracy:.0%})"))
    return say(answer == measured, "Smaller steps get there, only later. Steps ten times "
                                   "too big make the scores huge within a few steps: bank's "
                                   "attention goes all onto one word, often not the context "
                                   "word, where softmax is saturated and sends back almost no "
                                   "gradient, so the attention cannot move off it.",
               "think of what a step ten times bigger does to the scores inside the softmax "
               "in the first few steps, and what a step ten times smaller does to the number "
               "of steps needed.")


def check_word_order(answer, model) -> bool:
    """Exercise: shuffle the words of a sentence (bank too): do the logits at bank change?
    Judged by shuffling held-out-like sentences and comparing the model's logits at bank."""
    if unanswered_yes_or_no(answer):
        return False
    from attention.tasks import make_task

    task = make_task("context")
    rng = np.random.default_rng(4)
    ids, _, mask = task.generate(rng, 8)
    order = np.argsort(rng.random(ids.shape), axis=1)  # a different shuffle for each row
    shuffled = np.take_along_axis(ids, order, axis=1)
    with mg.no_grad():
        before = model(ids).data[mask]  # (8, classes): the logits at each row's bank
        after = model(shuffled).data[np.take_along_axis(mask, order, axis=1)]
    changes = not np.allclose(before, after, atol=1e-5)
    print(f"largest change of a logit at bank: {np.abs(before - after).max():.2g}")
    praise = ("Without positions attention sees a set of words: each word's weight depends "
              "on what it is, never on where it stands, so any order gives bank the same mix "
              "of values." if not changes else "This model knows where each word stands (it "
              "has positions), so an order changes what bank reads.")
    return say(bool(answer) is changes, praise,
               "the model was built with positional=\"none\": what, in an embedding, a score "
               "q . k or a weighted sum of values, depends on where a word stands?")
