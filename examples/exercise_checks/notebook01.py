"""Notebook 1: attention by hand, what does "bank" mean?"""

import numpy as np

from exercise_checks import say, unanswered

# The notebook's made-up word vectors (riverish, moneyish, place, grammar word) and its
# first sentence, so that the checks compute with the same numbers the learner sees.
VECTORS = {
    "the": [0.0, 0.0, 0.0, 1.0],
    "was": [0.0, 0.0, 0.0, 1.0],
    "bank": [0.5, 0.5, 1.0, 0.0],
    "steep": [1.0, 0.0, 0.6, 0.0],
    "closed": [0.0, 1.0, 0.6, 0.0],
}
SENTENCE = ["the", "bank", "was", "steep"]


def attend(X: np.ndarray, i: int) -> tuple:
    """Word i's weights (T,) and new vector (4,), as the notebook's attend computes them."""
    scores = X @ X[i]
    e = np.exp(scores - scores.max())
    weights = e / e.sum()
    return weights, weights @ X


def four_numbers(answer, what: str):
    """The answer as a float array of shape (4,), or None after saying what was expected."""
    try:
        numbers = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        numbers = None
    if numbers is None or numbers.shape != (4,) or not np.all(np.isfinite(numbers)):
        say(False, "", f"give {what}: four numbers, such as [0.1, 0.2, 0.3, 0.4].")
        return None
    return numbers


def check_steep_weights(answer) -> bool:
    """Exercise: the attention weights of "steep" (the query) over the four words of "the
    bank was steep". Judged by computing them from the word vectors."""
    if unanswered(answer):
        return False
    weights = four_numbers(answer, "one weight per word of the sentence, in its order")
    if weights is None:
        return False
    X = np.array([VECTORS[w] for w in SENTENCE])
    expected, _ = attend(X, SENTENCE.index("steep"))
    right = bool(np.allclose(weights, expected, atol=0.006))
    if right:
        return say(True, "steep scores 1.36 with itself and 1.1 with bank (they share the "
                   "riverish and place features) and 0 with the grammar words; softmax keeps "
                   "that order and makes the weights sum to 1.", "")
    if not np.isclose(weights.sum(), 1.0, atol=0.01):
        return say(False, "", f"your numbers sum to {weights.sum():.3f}, and softmax weights "
                              "sum to 1: are these still the scores, before softmax?")
    bank_weights, _ = attend(X, SENTENCE.index("bank"))
    if np.allclose(weights, bank_weights, atol=0.006):
        return say(False, "", "those are bank's weights, from the notebook; here the query is "
                              "steep, so each score is x_steep . x_j.")
    return say(False, "", "score each word j with the dot product x_steep . x_j, then turn the "
                          "four scores into weights with e^s_j / sum_k e^s_k.")


def check_louder_steep(answer) -> bool:
    """Exercise: a new vector for "steep" that makes "bank" give more weight to steep than to
    itself in "the bank was steep". Judged by recomputing bank's weights with it."""
    if unanswered(answer):
        return False
    steep = four_numbers(answer, "a vector for steep")
    if steep is None:
        return False
    vectors = dict(VECTORS, steep=list(steep))
    X = np.array([vectors[w] for w in SENTENCE])
    weights, _ = attend(X, SENTENCE.index("bank"))
    on_bank, on_steep = weights[SENTENCE.index("bank")], weights[SENTENCE.index("steep")]
    print(f"with your steep, bank gives bank={on_bank:.3f}, steep={on_steep:.3f}")
    return say(on_steep > on_bank,
               "The dot product grows with the vectors' lengths as well as with their "
               "agreement, so a longer steep is louder to bank than bank itself.",
               f"bank scores itself x_bank . x_bank = {X[1] @ X[1]:.2f}; its score for steep is "
               "x_bank . x_steep. Which of steep's features does bank multiply by something "
               "non-zero, and what happens to the score when they grow?")


def check_reversed_sentence(answer) -> bool:
    """Exercise: does bank's new vector change when the sentence is reversed ("steep was
    bank the")? True or False. Judged by computing both."""
    if unanswered(answer):
        return False
    if not isinstance(answer, (bool, np.bool_)):
        return say(False, "", f"answer True (it changes) or False (it stays the same); you gave "
                              f"{type(answer).__name__}.")
    reversed_sentence = SENTENCE[::-1]
    X = np.array([VECTORS[w] for w in SENTENCE])
    X_reversed = np.array([VECTORS[w] for w in reversed_sentence])
    _, bank = attend(X, SENTENCE.index("bank"))
    _, bank_reversed = attend(X_reversed, reversed_sentence.index("bank"))
    changes = not np.allclose(bank, bank_reversed)
    right = bool(answer) == changes
    if right:  # the measurement, shown once it no longer gives the answer away
        print("bank's new vector, in order:", bank.round(3), " reversed:", bank_reversed.round(3))
    return say(right,
               "Every score depends only on the two words' vectors, and a weighted sum does "
               "not care in which order it adds: attention alone cannot see word order "
               "(notebook 6 adds positions).",
               "look at what each of bank's scores is made of, x_bank . x_j: does any of them "
               "depend on where word j stands? And does the weighted average?")
