"""Notebook 7: self-attention, cross-attention and causal attention."""

import numpy as np

import minigrad as mg
from attention import MultiHeadAttention
from exercise_checks import say, unanswered, unanswered_yes_or_no


def _is_shape(value) -> bool:
    """A tuple (or list) of integers."""
    return isinstance(value, (tuple, list)) and all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in value)


def check_causal_mask(make_mask) -> bool:
    """Exercise: make_mask(T), the (T, T) causal mask, True where query t may look at key s.
    Judged by its effect: with it, every position's output must be the output the layer
    gives the sequence cut just after that position (nothing later exists yet)."""
    first = make_mask(4)
    if unanswered(first):
        return False
    mg.manual_seed(0)
    layer = MultiHeadAttention(d_model=8, n_heads=2).to("float64")
    rng = np.random.default_rng(0)
    for T in (4, 6):
        mask = np.asarray(first if T == 4 else make_mask(T))
        if mask.shape != (T, T) or mask.dtype != bool:
            return say(False, "", f"make_mask({T}) should be a boolean array of shape ({T}, "
                                  f"{T}), True where attention is allowed; yours is "
                                  f"{mask.dtype} {mask.shape}.")
        x = mg.tensor(rng.standard_normal((1, T, 8)))
        with mg.no_grad():
            out = layer(x, mask=mask).data[0]
            for t in range(T):
                so_far = layer(x[:, :t + 1]).data[0, t]  # position t, with nothing after it
                if not np.allclose(out[t], so_far, atol=1e-10):
                    return say(False, "", f"with T = {T}, the output at position {t} is not "
                               f"the one the layer gives the tokens 0 to {t} alone: row {t} "
                               f"of the mask must allow exactly the keys that exist when "
                               f"position {t} is read. Print your mask with .astype(int).")
    return say(True, "Row t allows the keys 0 to t: a lower triangle, diagonal included, so "
               "each output depends only on what comes before it and on itself.", "")


def check_cross_shapes(shapes) -> bool:
    """Exercise: the shapes of the output and of the attention weights when 4 queries
    attend to a memory of 9 positions (B=2, C=8, two heads). Judged by running it."""
    if unanswered(shapes):
        return False
    if not (isinstance(shapes, (tuple, list)) and len(shapes) == 2 and
            all(map(_is_shape, shapes))):
        return say(False, "", "give two shapes, each a tuple of integers: (shape of the "
                              "output, shape of the attention weights).")
    mg.manual_seed(0)
    layer = MultiHeadAttention(d_model=8, n_heads=2)
    x, memory = mg.randn(2, 4, 8), mg.randn(2, 9, 8)
    with mg.no_grad():
        out = layer(x, context=memory)
    out_shape, weights_shape = (tuple(int(n) for n in shape) for shape in shapes)
    if out_shape != tuple(out.shape):
        return say(False, "", f"the output's shape {out_shape} is not right: which sequence "
                              "gives the output its rows, the queries or the memory?")
    if weights_shape != tuple(layer.attention_weights.shape):
        return say(False, "", f"the output is right, the weights' shape {weights_shape} is "
                              "not: each head has one weight per (query, memory position) "
                              "pair, (B, nh, T, S).")
    return say(True, "One output row per query, whatever the memory's length; the memory's "
               "length S shows only in the weights, (B, nh, T, S).", "")


def check_memory_shuffle(answer) -> bool:
    """Exercise: shuffle the memory's positions and keep the queries: do the cross-attention
    outputs stay the same? Judged against a measurement."""
    if unanswered_yes_or_no(answer):
        return False
    mg.manual_seed(0)
    layer = MultiHeadAttention(d_model=8, n_heads=2).to("float64")
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((1, 3, 8)))  # 3 queries
    memory = mg.tensor(rng.standard_normal((1, 6, 8)))  # 6 memory positions
    order = np.array([4, 2, 0, 5, 1, 3])
    with mg.no_grad():
        out = layer(x, context=memory).data
        shuffled = layer(x, context=memory[:, order]).data
    same = bool(np.allclose(out, shuffled))
    print("measured: outputs unchanged when the memory is shuffled:", same)
    return say(answer == same, "Each query's output is a weighted sum over the memory's (key, "
               "value) pairs; shuffling the pairs reorders the terms of the sum, not its value. "
               "Without positions the memory is a set: that is why lookup needs none.",
               "a query's output is a sum over the memory positions, each term a weight times a "
               "value; the weight of a key depends on what, besides the query?")
