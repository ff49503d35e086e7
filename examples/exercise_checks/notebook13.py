"""Notebook 13: why three matrices, and padding."""

import numpy as np

import minigrad as mg
from attention import MultiHeadAttention
from exercise_checks import say, unanswered, unanswered_yes_or_no


def check_padding_mask(lengths, padded_to: int, answer) -> bool:
    """Exercise: the key_padding_mask of a batch of sentences of `lengths`, each padded to
    `padded_to` tokens. Judged by its effect: every sentence's output must equal its output
    alone."""
    if unanswered(answer):
        return False
    answer = np.asarray(answer)
    shape = (len(lengths), padded_to)
    if answer.shape != shape or answer.dtype != bool:
        return say(False, "", f"the mask is one boolean per (sentence, position): shape "
                               f"{shape}, dtype bool (you gave {answer.dtype} {answer.shape}).")
    mg.manual_seed(0)
    mha = MultiHeadAttention(8, 2).to("float64")
    rng = np.random.default_rng(1)
    batch = mg.tensor(rng.standard_normal((len(lengths), padded_to, 8)))
    try:
        out = mha(batch, key_padding_mask=answer).data
    except (ValueError, TypeError) as error:
        return say(False, "", str(error))
    for i, n in enumerate(lengths):
        alone = mha(mg.tensor(batch.data[i:i + 1, :n])).data[0]
        if not np.allclose(out[i, :n], alone, atol=1e-10):
            return say(False, "", f"sentence {i} (length {n}) comes out different from the "
                                   "sentence alone: True marks the padding, the positions from "
                                   "its length on, which no word may attend to.")
    return say(True, "Each sentence's words see only that sentence.", "")


def check_symmetry_prediction(answer) -> bool:
    """Exercise: with share="qk", is score(i, j) equal to score(j, i) for every pair? Judged
    against a measurement on a random layer."""
    if unanswered_yes_or_no(answer):
        return False
    mg.manual_seed(2)
    layer = MultiHeadAttention(6, 1, share="qk").to("float64")
    x = mg.tensor(np.random.default_rng(3).standard_normal((1, 4, 6)))
    scores = (layer.q_proj(x) @ layer.k_proj(x).transpose(1, 2)).data[0]
    symmetric = bool(np.allclose(scores, scores.T))
    return say(bool(answer) == symmetric, "q_i . k_j = (x_i W)(x_j W)^T = q_j . k_i: the same "
                "matrix makes both sides.", "write out q_i . k_j with k made by the queries' "
                "matrix W, and swap i and j.")


def check_cycle_ceiling(answer) -> bool:
    """Exercise: on cycle, a model with symmetric scores can get at most how many of a row's
    three shapes to look at the shape it beats? (An integer.)"""
    if unanswered(answer):
        return False
    # Every order of the three pairs' scores (ties aside), and how many wishes it grants:
    # rock wants s(R,S) > s(R,P), scissors s(S,P) > s(S,R), paper s(P,R) > s(P,S).
    from itertools import permutations

    pairs = ("RS", "SP", "PR")  # symmetric: s(R,S) = s(S,R), and so on
    wishes = [("RS", "PR"), ("SP", "RS"), ("PR", "SP")]  # (wanted, rival) for R, S, P
    most = max(sum(rank[a] > rank[b] for a, b in wishes)
               for order in permutations(range(3)) for rank in [dict(zip(pairs, order))])
    right = answer == most
    return say(right, "Order the three scores of the pairs: any two wishes can hold, the "
                "third contradicts them. 2 of 3 right, and a lucky guess of 4 digits on the "
                "third, is about 75%, near what share='qk' reaches.",
                "take s(rock, scissors), s(scissors, paper), s(paper, rock) and write each "
                "shape's wish as an inequality between two of them; how many can hold at once?")
