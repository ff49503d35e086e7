"""Notebook 14: the verb, the distance and the length."""

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
                         plots=False)["held_out_accuracy"]
    can = accuracy > 0.9
    print(f"Without positions: {accuracy:.0%} held-out.")
    return say(prediction is can, "The subject and the object are the same kind of word: "
                "only where they stand tells them apart, and attention without positions "
                "sees the sentence as a set.", "look at the held-out accuracy above, and ask "
                "what, besides their place, tells a subject from an object here.")
