"""Positional information: fixed sinusoids or learned vectors, added to token embeddings.

Attention by itself treats its input as a set: permute the positions and the output is
permuted the same way. Adding a different vector at each position breaks that symmetry, so
a model can tell "first" from "last" (needed to reverse a sequence, for example).
"""

import numpy as np

import minigrad as mg
from minigrad.nn import Module, Parameter, check_sizes


def sinusoidal_table(max_len: int, d_model: int) -> np.ndarray:
    """(max_len, d_model): sin and cos waves of geometrically spaced wavelengths.

    Even columns hold sin(pos / 10000^(2i/d)), odd columns the matching cos, so every
    position gets a distinct pattern and nearby positions get similar ones."""
    positions = np.arange(max_len)[:, None]  # (max_len, 1)
    rates = 1.0 / 10000 ** (np.arange(0, d_model, 2) / d_model)  # (ceil(d/2),)
    table = np.zeros((max_len, d_model))
    table[:, 0::2] = np.sin(positions * rates)
    table[:, 1::2] = np.cos(positions * rates[: d_model // 2])
    return table.astype(np.float32)


def _check_length(layer: str, x, max_len: int, d_model: int):
    if x.ndim < 2 or x.shape[-2] > max_len or x.shape[-1] != d_model:
        raise ValueError(
            f"{layer}: input of shape {x.shape} needs shape (..., T, {d_model}) with "
            f"T <= max_len={max_len}"
        )


class SinusoidalPositionalEncoding(Module):
    """x + table[:T]: fixed (not trained) positional encodings."""

    def __init__(self, d_model: int, max_len: int = 512):
        super().__init__()
        check_sizes("SinusoidalPositionalEncoding", d_model=d_model, max_len=max_len)
        self.d_model, self.max_len = d_model, max_len
        self.register_buffer("table", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x):
        _check_length("SinusoidalPositionalEncoding", x, self.max_len, self.d_model)
        return x + self.table[: x.shape[-2]]  # (B, T, C) + (T, C)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"


class LearnedPositionalEmbedding(Module):
    """x + weight[:T]: one trained vector per position."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        check_sizes("LearnedPositionalEmbedding", max_len=max_len, d_model=d_model)
        self.d_model, self.max_len = d_model, max_len
        rng = mg.default_generator()
        self.weight = Parameter(rng.standard_normal((max_len, d_model)).astype(np.float32))

    def forward(self, x):
        _check_length("LearnedPositionalEmbedding", x, self.max_len, self.d_model)
        return x + self.weight[: x.shape[-2]]  # (B, T, C) + (T, C)

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, d_model={self.d_model}"
