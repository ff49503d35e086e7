"""Notebook 15: three heads, three relations, one output."""

import numpy as np

import minigrad as mg
from attention import MultiHeadAttention
from exercise_checks import say, unanswered


def check_rows_of_a_head(rows) -> bool:
    """Exercise: the rows of a (24, 24) out_proj weight that read head 2 of 3. Judged by
    removing those rows: exactly head 2's contribution must go."""
    if unanswered(rows):
        return False
    if not isinstance(rows, slice):
        return say(False, "", f"give a slice, such as slice(3, 7); you gave {type(rows).__name__}.")
    mg.manual_seed(0)
    layer = MultiHeadAttention(24, 3).to("float64")
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 5, 24)))
    W = layer.out_proj.weight.data
    with mg.no_grad():
        full = layer(x).data
        kept = W.copy()
        W[rows] = 0
        cut = layer(x).data
        W[...] = kept
        others = kept.copy()
        others[16:24] = 0  # measured: what zeroing head 2's block does
        W[...] = others
        expected = layer(x).data
        W[...] = kept
    right = np.allclose(cut, expected) and not np.allclose(cut, full)
    return say(right, "Head h fills channels h*hs to (h+1)*hs - 1 of the concatenation, and "
               "only those rows of W_O multiply them.",
               "each head has hs = C / heads = 8 channels; head 0 has channels 0 to 7 of the "
               "concatenation, and row i of W_O multiplies channel i.")


def check_concatenation(concatenate) -> bool:
    """Exercise: (B, nh, T, hs) -> (B, T, nh * hs), heads side by side. Judged on an array
    whose every entry says which head, position and channel it is."""
    B, nh, T, hs = 2, 3, 4, 5
    heads = np.zeros((B, nh, T, hs))
    heads += np.arange(nh)[None, :, None, None] * 100  # hundreds: the head
    heads += np.arange(T)[None, None, :, None] * 10  # tens: the position
    heads += np.arange(hs)[None, None, None, :]  # units: the channel
    answer = concatenate(heads)
    if unanswered(answer):
        return False
    answer = np.asarray(answer)
    if answer.shape != (B, T, nh * hs):
        return say(False, "", f"the result should be (B, T, nh * hs) = {(B, T, nh * hs)}; "
                              f"yours is {answer.shape}.")
    # Position 1, channel 7 is head 1's channel 2 at position 1: 100 + 10 + 2.
    right = bool(np.all(answer[:, 1, 7] == 112) and np.all(answer[:, 3, 14] == 234))
    return say(right, "Move the head axis next to the channels, then merge them: "
               "transpose, then reshape.",
               "a reshape alone mixes positions into the channels: first bring the axes into "
               "the order (B, T, nh, hs), so each position's heads sit together.")


def check_removal_prediction(costs, run_dir) -> bool:
    """Exercise: which answer each head's removal costs, as relation names. Judged by
    removing each head of the trained run and measuring."""
    if unanswered(costs):
        return False
    from three_heads import measure

    from attention.tasks import RELATIONS

    costs = list(costs)
    if len(costs) != 3 or any(c not in RELATIONS for c in costs):
        return say(False, "", f"give one of {RELATIONS} for each of the three heads.")
    removed = measure(run_dir)["removed"]  # (heads, answers): accuracy with the head removed
    measured = [RELATIONS[int(row.argmin())] for row in removed]
    print("measured, removing each head in turn:", measured)
    return say(costs == measured, "A head's removal costs the answer it looks at.",
               "find, in each head's row of the attention table, the relation it gives the "
               "most weight to.")
