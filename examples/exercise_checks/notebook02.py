"""Notebook 2: similarity as a dot product, and softmax."""

import warnings

import numpy as np

import minigrad as mg
from attention import softmax
from exercise_checks import say, unanswered


def weights_of(scores) -> np.ndarray:
    """minigrad's softmax of a list of scores, in float64: the measurement the checks use."""
    return softmax(mg.tensor(np.asarray(scores, dtype=np.float64))).data


def pair_of_weights(answer, n: int, what: str):
    """The answer as two float arrays of shape (n,), or None after saying what was expected."""
    example = ", ".join(["0.1"] * n)
    expected = f"a pair ({what}), each a list of {n} numbers, such as ([{example}], [{example}])"
    try:
        first, second = (np.asarray(part, dtype=float) for part in answer)
    except (TypeError, ValueError):
        say(False, "", f"give {expected}.")
        return None
    if first.shape != (n,) or second.shape != (n,) or \
            not (np.all(np.isfinite(first)) and np.all(np.isfinite(second))):
        say(False, "", f"give {expected}; yours have shapes {first.shape} and {second.shape}.")
        return None
    return first, second


def check_powers(answer) -> bool:
    """Exercise: for s = log([1, 2, 3]), the weights softmax(s) and softmax(2 s), worked out
    without running softmax. Judged by running minigrad's softmax on both."""
    if unanswered(answer):
        return False
    pair = pair_of_weights(answer, 3, "softmax(s), softmax(2 * s)")
    if pair is None:
        return False
    s = np.log([1.0, 2.0, 3.0])
    # Two decimals are enough: 0.17 for 1/6 is the idea, not a slip.
    once = np.allclose(pair[0], weights_of(s), atol=6e-3)
    twice = np.allclose(pair[1], weights_of(2 * s), atol=6e-3)
    if once and twice:
        return say(True, "e^(c log a) = a^c: multiplying the scores by c raises the weights to "
                   "the power c before they are normalised again, so the largest one gains "
                   "and the smallest one loses.", "")
    if not once:
        return say(False, "", "e^(log a) = a, so e^s is [1, 2, 3]; softmax divides each by "
                              "their sum.")
    return say(False, "", "softmax(s) is right. For 2 * s, what is e^(2 log a)? Divide by the "
                          "sum of the three again.")


def check_limits(answer) -> bool:
    """Exercise: for s = [3, 1, 3, 2], softmax(c * s) as c grows without bound and as c
    shrinks to 0. Judged by running minigrad's softmax at a very large and a tiny c."""
    if unanswered(answer):
        return False
    pair = pair_of_weights(answer, 4, "weights as c grows without bound, weights as c -> 0")
    if pair is None:
        return False
    s = np.array([3.0, 1.0, 3.0, 2.0])
    large = np.allclose(pair[0], weights_of(1e4 * s), atol=1e-3)
    small = np.allclose(pair[1], weights_of(1e-9 * s), atol=1e-3)
    if large and small:
        return say(True, "A huge factor makes the largest scores win outright (and two equal "
                   "ones share equally); a tiny one makes every score nearly 0, so all weights "
                   "are equal: attention's average becomes a hard choice, or a plain mean.", "")
    if not large:
        if not np.isclose(pair[0].sum(), 1.0, atol=1e-3):
            return say(False, "", "whatever c is, the weights still sum to 1.")
        return say(False, "", "as c grows, e^(c s_j) / e^(c s_max) = e^(c (s_j - s_max)): what "
                              "happens to it for a score below the largest, and for one equal "
                              "to it? Look at s again: how many scores are the largest?")
    return say(False, "", "as c shrinks to 0, every c * s_j goes to 0: what is e^0, and what "
                          "do four equal numbers become after dividing by their sum?")


def check_stable_softmax(stable_softmax) -> bool:
    """Exercise: a softmax of a 1-D NumPy array that gives the right weights for scores of
    any size a float holds. Judged on scores of its own, against minigrad's softmax."""
    cases = [
        np.array([1.0, 2.0, 0.5, 3.0]),  # ordinary scores
        np.array([1000.0, 1001.0, 1002.0], dtype=np.float32),  # e^1000 overflows
        np.array([-1000.0, -1001.0, -1002.0]),  # e^-1000 underflows to 0 for all three
        np.array([0.0, 200.0], dtype=np.float32),  # a wide range in float32 (e^89 overflows)
        np.array([-5.0, 5.0, 700.0, 710.0]),
    ]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the overflow of a naive version is the lesson
        try:
            answers = [stable_softmax(scores.copy()) for scores in cases]
        except Exception as error:  # the learner's code: any error is a hint, not a crash
            return say(False, "", f"your function raised {type(error).__name__}: {error}")
    if unanswered(answers[0]):
        return False
    for scores, answer in zip(cases, answers):
        try:
            weights = np.asarray(answer, dtype=np.float64)
        except (TypeError, ValueError):
            weights = None
        if weights is None or weights.shape != scores.shape:
            return say(False, "", f"return one weight per score, an array of shape "
                                  f"{scores.shape} for scores of shape {scores.shape}.")
        if not np.allclose(weights, weights_of(scores), atol=1e-6):
            return say(False, "", f"for scores {scores.tolist()} your function gives "
                                  f"{weights.round(4).tolist()}. Which number can you subtract "
                                  "from every score without changing the weights, so that no "
                                  "e^x overflows and the largest is exactly e^0 = 1?")
    return say(True, "Adding the same number to every score cancels out, so subtracting the "
               "largest changes nothing, and then no exponent is above 0 and the largest term "
               "of the sum is 1: nothing overflows and the sum is never 0.", "")
