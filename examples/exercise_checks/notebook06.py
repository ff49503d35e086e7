"""Notebook 6: attention has no sense of order, positional encodings."""

import numpy as np

import minigrad as mg
from attention import MultiHeadAttention
from attention.positional import sinusoidal_table
from exercise_checks import say, unanswered, unanswered_yes_or_no


def check_shuffle_with_positions(answer) -> bool:
    """Exercise: with sinusoidal positions added to x, is the output of the shuffled input
    still the shuffled output? Judged against a measurement."""
    if unanswered_yes_or_no(answer):
        return False
    mg.manual_seed(0)
    layer = MultiHeadAttention(d_model=8, n_heads=2).to("float64")
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 5, 8)))
    order = np.array([3, 0, 4, 1, 2])
    positions = sinusoidal_table(5, 8).astype(np.float64)  # one vector per place, not per word
    with mg.no_grad():
        y = layer(x + positions).data
        y_shuffled = layer(x[:, order] + positions).data
    still = bool(np.allclose(y_shuffled, y[:, order]))
    print("measured: the output of the shuffled input == the shuffled output:", still)
    return say(answer == still, "The position vectors stay in place while the words move, so "
               "a moved word arrives with a different position added: the layer sees a "
               "different input, not a reordered one.",
               "the table is added by place: after the shuffle, is word 3 (now first) still "
               "added to the same position vector as before?")


def check_encoding(encoding) -> bool:
    """Exercise: encoding(pos, channel, d_model), one entry of the sinusoidal table, from
    the formula. Judged against attention.positional.sinusoidal_table at many entries."""
    cases = [(pos, channel, d_model) for d_model in (8, 32)
             for pos in (0, 1, 3, 17, 40) for channel in range(d_model)]
    got = encoding(3, 5, 32)
    if unanswered(got):
        return False
    if np.ndim(got) != 0:
        return say(False, "", f"return one number, the entry at (pos, channel); yours has "
                              f"shape {np.shape(got)}.")
    tables = {d_model: sinusoidal_table(41, d_model) for d_model in (8, 32)}
    wrong = [(pos, channel, d_model) for pos, channel, d_model in cases
             if not np.isclose(float(encoding(pos, channel, d_model)),
                               tables[d_model][pos, channel], atol=1e-5)]
    if not wrong:
        return say(True, "Channels 2i and 2i + 1 share the rate 1 / 10000^(2i / d): the sine "
                   "in the even one, the cosine in the odd one.", "")
    even_wrong = any(channel % 2 == 0 for _, channel, _ in wrong)
    odd_wrong = any(channel % 2 == 1 for _, channel, _ in wrong)
    pos, channel, d_model = wrong[0]
    where = ("the even channels and the odd ones" if even_wrong and odd_wrong else
             "the even channels" if even_wrong else "the odd channels")
    return say(False, "", f"{where} are not right yet (for example pos={pos}, "
               f"channel={channel}, d_model={d_model}). Find i from the channel first: channel "
               "2i holds the sine, channel 2i + 1 the cosine, and both use 2i in the exponent.")


def check_self_similarity(answer) -> bool:
    """Exercise: the value on the diagonal of `similarity` (a position's encoding dotted
    with itself) for d_model = 32. Judged by computing it."""
    if unanswered(answer):
        return False
    if isinstance(answer, bool) or np.ndim(answer) != 0 or \
            not isinstance(answer, (int, float, np.number)):
        return say(False, "", f"give one number; you gave {type(answer).__name__}.")
    table = sinusoidal_table(max_len=64, d_model=32).astype(np.float64)
    diagonal = (table * table).sum(axis=1)  # every position's dot product with itself
    right = bool(np.allclose(diagonal, answer, atol=1e-3))
    return say(right, "The 32 channels are 16 pairs (sin a, cos a), and sin^2 a + cos^2 a = 1 "
               "for each pair, whatever the position: every row has the same squared length, "
               "d / 2.",
               "write the dot product of a row with itself as a sum of squares, and add them "
               "in pairs: channels 2i and 2i + 1 hold the sine and cosine of the same angle.")
