"""Notebook 15: three heads, three relations, one output."""

import numpy as np

import minigrad as mg
from attention import MultiHeadAttention
from attention.heads import head_contributions
from exercise_checks import as_numbers, run_learners_function, say, unanswered


def check_rows_of_a_head(rows) -> bool:
    """Exercise: the rows of a (30, 30) out_proj weight that read head 3 of 5. Judged by
    removing those rows: exactly head 3's contribution must go."""
    if unanswered(rows):
        return False
    if not isinstance(rows, slice):
        return say(False, "", f"give a slice, such as slice(3, 7); you gave {type(rows).__name__}.")
    mg.manual_seed(0)
    layer = MultiHeadAttention(30, 5).to("float64")
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 4, 30)))
    with mg.no_grad():
        parts, full = head_contributions(layer, x)  # (5, 1, 4, 30): each head's term
        W = layer.out_proj.weight.data
        kept = W.copy()
        try:
            W[rows] = 0
        except (TypeError, IndexError) as error:
            W[...] = kept
            return say(False, "", f"that slice does not index the rows ({error}); use whole "
                                  "numbers, such as slice(3, 7).")
        cut = layer(x).data
        W[...] = kept
    right = np.allclose(cut, full - parts[3])  # head 3's term gone, the others' kept
    return say(right, "Head h fills channels h*hs to (h+1)*hs - 1 of the concatenation, and "
               "only those rows of W_O multiply them.",
               "each head has hs = C / heads channels; head 0 has the first hs channels of "
               "the concatenation, and row i of W_O multiplies channel i.")


def check_concatenation(concatenate) -> bool:
    """Exercise: (B, nh, T, hs) -> (B, T, nh * hs), heads side by side. Judged on an array
    whose every entry says which head, position and channel it is."""
    B, nh, T, hs = 2, 3, 4, 5
    heads = np.zeros((B, nh, T, hs))
    heads += np.arange(nh)[None, :, None, None] * 100  # hundreds: the head
    heads += np.arange(T)[None, None, :, None] * 10  # tens: the position
    heads += np.arange(hs)[None, None, None, :]  # units: the channel
    answer, error = run_learners_function(concatenate, heads.copy())
    if error:
        return say(False, "", f"{error}. The check uses heads of its own shape, {heads.shape}: "
                              "read B, nh, T, hs from heads.shape inside the function.")
    if unanswered(answer):
        return False
    answer = as_numbers(answer)
    if answer.shape != (B, T, nh * hs):
        return say(False, "", f"the result should be (B, T, nh * hs) = {(B, T, nh * hs)}; "
                              f"yours is {answer.shape}.")
    # Channel c of position t holds head c // hs's channel c % hs at position t.
    t, c = np.meshgrid(np.arange(T), np.arange(nh * hs), indexing="ij")
    wanted = (c // hs) * 100 + t * 10 + c % hs  # (T, nh * hs)
    right = bool(np.all(answer == wanted[None]))
    return say(right, "Move the head axis next to the channels, then merge them: "
               "transpose, then reshape.",
               "each position's channels must hold head 0's hs channels, then head 1's, and "
               "so on: bring the axes into the order (B, T, nh, hs) before merging the last "
               "two.")


def check_two_heads_removed(staying, run_dir) -> bool:
    """Exercise: with heads 0 and 2 of the seed-1 run removed together, which answers are
    still right (at least 95% of them)? Judged by removing them and measuring."""
    if unanswered(staying):
        return False
    from three_heads import answer_accuracy

    from attention.heads import without_heads
    from attention.tasks import RELATIONS, make_splits
    from attention.train import load_run

    staying = [staying] if isinstance(staying, str) else list(staying)
    if any(name not in RELATIONS for name in staying):
        return say(False, "", f"give a list of relation names from {RELATIONS} (possibly "
                              "empty).")
    model, task, config = load_run(run_dir)
    ids, targets, _ = make_splits(task, config.n_train, config.n_test, config.seed)[1]
    with without_heads(model.blocks[0].attn, [0, 2]):
        accuracy = answer_accuracy(model, task, ids, targets)
    measured = {name for name, a in zip(RELATIONS, accuracy) if a >= 0.95}
    right = set(staying) == measured
    if right:
        print("Measured, answers right: " + ", ".join(
            f"{name} {a:.0%}" for name, a in zip(RELATIONS, accuracy)))
    return say(right, "Each answer needs the head that looks at its word; with that head "
               "gone, nothing else carries it.", "look at the table of attention: which "
               "relation does each head follow, and which head is left?")
