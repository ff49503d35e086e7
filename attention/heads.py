"""Reading what each head of a trained multi-head attention does.

A multi-head layer's output is out_proj(concat_h y_h): the heads' outputs y_h (B, T, hs)
side by side, then one (C, C) matrix. Cutting that matrix into nh blocks of hs rows shows
the output as a sum, one term per head, plus the bias:

    concat_h(y_h) @ W + b  =  sum_h  y_h @ W[h*hs:(h+1)*hs]  +  b

So each head's contribution can be read on its own (head_contributions), and a head can be
removed exactly by zeroing its block of rows (without_heads): the other heads' terms and
the bias are untouched. Shapes: B batch, nh heads, T queries, S keys, C model width,
hs = C // nh the head width.
"""

from contextlib import contextmanager

import numpy as np

import minigrad as mg


def head_contributions(mha, x, context=None, **forward_kwargs):
    """Run `mha` on x (and context, mask, ...) without recording a graph; return
    (contributions (nh, B, T, C), output (B, T, C)). The contributions summed over heads,
    plus out_proj's bias, are the output."""
    with mg.no_grad():
        output = mha(x, context=context, **forward_kwargs)  # (B, T, C)
        values = mha._split_heads(mha.v_proj(x if context is None else context))  # (B, nh, S, hs)
    heads = mha.attention_weights @ values.data  # (B, nh, T, S) @ (B, nh, S, hs): each y_h
    hs = mha.head_dim
    W = mha.out_proj.weight.data  # (C, C): rows h*hs:(h+1)*hs read head h
    blocks = [heads[:, h] @ W[h * hs:(h + 1) * hs] for h in range(mha.n_heads)]  # (B, T, C)
    return np.stack(blocks), output.data  # (nh, B, T, C), (B, T, C)


@contextmanager
def without_heads(mha, heads):
    """Run `mha` (and any model around it) with the given heads removed: their rows of
    out_proj's weight are zero inside the block and restored after it, even on an error."""
    heads = [heads] if isinstance(heads, int) else list(heads)
    for h in heads:
        if not 0 <= h < mha.n_heads:
            raise ValueError(f"without_heads: head {h} does not exist; the layer has "
                             f"{mha.n_heads} heads (0 to {mha.n_heads - 1})")
    W = mha.out_proj.weight.data
    kept = W.copy()
    try:
        for h in heads:
            W[h * mha.head_dim:(h + 1) * mha.head_dim] = 0
        yield mha
    finally:
        W[...] = kept


def specialisation(masses) -> np.ndarray:
    """masses (nh, R): each head's mean attention on the token of each of R relations.

    Returns (nh,): of the attention a head gives to the R relations' tokens, the share on
    its main one. 1 means the head follows one relation only; 1 / R means it spreads evenly
    over all of them."""
    masses = np.asarray(masses, dtype=float)
    return masses.max(axis=1) / np.maximum(masses.sum(axis=1), 1e-12)
