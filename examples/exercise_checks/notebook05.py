"""Notebook 5: multi-head attention."""

import numpy as np

import minigrad as mg
from attention import MultiHeadAttention
from exercise_checks import as_numbers, say, unanswered


def _is_shape(value) -> bool:
    """A tuple (or list) of integers."""
    return isinstance(value, (tuple, list)) and all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in value)


def check_head_shapes(shapes) -> bool:
    """Exercise: with B=3, T=6, C=12 and four heads, the shapes of the queries split into
    heads and of the attention weights. Judged by running such a layer."""
    if unanswered(shapes):
        return False
    if not (isinstance(shapes, (tuple, list)) and len(shapes) == 2 and
            all(map(_is_shape, shapes))):
        return say(False, "", "give two shapes, each a tuple of integers: (shape of q_heads, "
                              "shape of the attention weights).")
    B, T, C, n_heads = 3, 6, 12, 4
    mg.manual_seed(0)
    mha = MultiHeadAttention(d_model=C, n_heads=n_heads)
    x = mg.randn(B, T, C)
    with mg.no_grad():
        q_heads = mha._split_heads(mha.q_proj(x))  # the layer's own split
        mha(x)
    measured = (tuple(q_heads.shape), tuple(mha.attention_weights.shape))
    q_shape, w_shape = (tuple(int(n) for n in shape) for shape in shapes)
    if q_shape != measured[0]:
        return say(False, "", f"the shape of q_heads {q_shape} is not right: its axes are "
                              "(B, nh, T, hs), and the head width hs is the model width shared "
                              "out among the heads.")
    if w_shape != measured[1]:
        return say(False, "", f"q_heads is right, the weights' shape {w_shape} is not: each "
                              "head has one weight for every (query, key) pair, so its axes "
                              "are (B, nh, T, T).")
    return say(True, "Each of the 4 heads gets hs = 12 / 4 = 3 channels of every position, "
               "and makes its own T x T table of weights.", "")


def check_split_heads(split_heads) -> bool:
    """Exercise: split_heads(q, n_heads) in NumPy, (B, T, C) -> (B, nh, T, hs), head h
    holding channels h*hs to (h+1)*hs - 1. Judged on an array whose every entry says which
    batch row, position and channel it is."""
    B, T, C, n_heads = 2, 4, 6, 3
    hs = C // n_heads
    b, t, c = np.indices((B, T, C))
    labels = 1000.0 * b + 100 * t + c  # thousands: the row, hundreds: the position, units: channel
    try:
        answer = split_heads(labels, n_heads)
    except Exception as error:  # the learner's code: reported, never raised from the check
        if "axes don't match array" in str(error):  # a PyTorch-style transpose(1, 2)
            return say(False, "", f"your function raised \"{error}\". NumPy's transpose "
                                  "takes the new order of all the axes: a.transpose(2, 0, 1) "
                                  "moves a 3-D array's last axis to the front.")
        return say(False, "", f"your function raised {type(error).__name__}: {error}. The "
                              f"check calls it on q of its own shape, {labels.shape}, with "
                              f"{n_heads} heads: read B, T, C from q.shape, and use whole "
                              "numbers (C // n_heads).")
    if unanswered(answer):
        return False
    answer = as_numbers(answer)
    if answer.shape != (B, n_heads, T, hs):
        return say(False, "", f"for q of shape (B, T, C) = {(B, T, C)} and {n_heads} heads the "
                              f"result should be (B, nh, T, hs) = {(B, n_heads, T, hs)}; "
                              f"yours is {answer.shape}.")
    # What entry [b, h, t, j] must hold: row b, position t, channel h * hs + j.
    b, h, t, j = np.indices((B, n_heads, T, hs))
    right = bool(np.array_equal(answer, 1000.0 * b + 100 * t + h * hs + j))
    return say(right, "Split the channel axis into (nh, hs) where it stands, then swap the "
               "position and head axes: every head keeps all positions, with its own channels.",
               "try it on an array whose entries are 100 * position + channel and print "
               "result[0, 0]: head 0 must hold every position, each with channels 0 to "
               "hs - 1. A reshape straight to (B, nh, T, hs) cuts the positions into groups.")


def check_previous_digit_head(head, run_dir: str) -> bool:
    """Exercise: which head of the two-head pair model looks one step back. Judged by
    measuring, on held-out rows, the weight each head puts on the previous position (the
    run is trained, about two seconds, if run_dir holds none)."""
    if unanswered(head):
        return False
    if isinstance(head, bool) or not isinstance(head, (int, np.integer)) or head not in (0, 1):
        return say(False, "", "give the head's number, 0 or 1, as an integer.")
    import os

    from attention.tasks import make_splits
    from attention.train import TrainConfig, load_run, train
    from minigrad.nn import evaluating

    if not os.path.exists(os.path.join(run_dir, "checkpoint.npz")):
        train(TrainConfig(task="pair", n_heads=2, out=run_dir), progress=False, plots=False,
              overwrite=True)
    model, task, config = load_run(run_dir)
    _, (ids, _, _) = make_splits(task, config.n_train, config.n_test, config.seed)
    with evaluating(model), mg.no_grad():
        model(ids[:200])
    weights = model.attention_maps()[-1]  # (rows, heads, T, T)
    T = weights.shape[-1]
    back = weights[:, :, np.arange(1, T), np.arange(T - 1)].mean(axis=(0, 2))  # per head
    print("mean weight on the previous position, per head:", np.round(back, 2))
    return say(int(head) == int(back.argmax()), "Its weights sit on the diagonal just below "
               "the main one: query t looks at key t - 1.",
               "in the first figure, find the panel whose bright squares sit one column left "
               "of the main diagonal; the head's number is in the label of that row of panels.")
