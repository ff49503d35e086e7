"""Check cells for the notebooks' exercises, one module per notebook (notebook13.py holds
notebook 13's). Each check says whether an answer is right and, when it is not, gives a
hint. They judge an answer by what it does (a mask by the outputs it gives, a backward by
the gradients it sends, a prediction by a measurement), so reading them does not give the
answer away.
"""

import numpy as np

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


def unanswered_yes_or_no(answer) -> bool:
    """True (after saying what is wrong) unless the answer is True or False."""
    if unanswered(answer):
        return True
    if not isinstance(answer, (bool, np.bool_)):
        say(False, "", f"answer True or False; you gave {answer!r}.")
        return True
    return False


def as_numbers(answer):
    """The learner's answer as a NumPy array: a minigrad Tensor counts as its .data, a list
    or a NumPy scalar as the array it makes."""
    from minigrad import Tensor

    return np.asarray(answer.data if isinstance(answer, Tensor) else answer)


def run_learners_function(function, *args):
    """(the result of the learner's function, None), or (None, what went wrong in words):
    an error in the learner's code is reported, never raised out of the check cell."""
    try:
        return function(*args), None
    except Exception as error:
        return None, f"your function raised {type(error).__name__}: {error}"
