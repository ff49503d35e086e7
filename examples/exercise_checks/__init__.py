"""Check cells for the notebooks' exercises, one module per notebook (notebook13.py holds
notebook 13's). Each check says whether an answer is right and, when it is not, gives a
hint. They judge an answer by what it does (a mask by the outputs it gives, a backward by
the gradients it sends, a prediction by a measurement), so reading them does not give the
answer away.
"""

UNANSWERED = "Not yet. Write your answer in the cell (it is still None), then run it again."


def say(right: bool, praise: str, hint: str) -> bool:
    """Print the verdict (with the praise or the hint) and return it."""
    print(("Right. " + praise) if right else ("Not yet. " + hint))
    return bool(right)


def unanswered(answer) -> bool:
    """True (after saying so) when the learner has not written an answer yet."""
    if answer is None:
        print(UNANSWERED)
        return True
    return False
