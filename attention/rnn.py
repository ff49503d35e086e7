"""A recurrent network to compare attention with: one tanh cell, run over the sequence.

    h_t = tanh(x_t W_x + h_(t-1) W_h + b),   logits_t = h_t W_out + b_out

Each step needs the one before it, so a row of T tokens takes T steps one after another,
and a token T positions back reaches the end only through T multiplications by W_h (whose
gradients shrink, or blow up, on the way). Attention compares every pair of positions in
one step, whatever their distance: that is the lecture's "parallel computation, unlike
RNNs". Same interface as AttentionModel, so the same training loop trains both.
"""

import numpy as np

import minigrad as mg
from attention.embedding import Embedding
from attention.linear import Linear
from minigrad.nn import Module, Parameter, check_sizes


class RNNModel(Module):
    """Token ids (B, T) -> per-position class logits (B, T, n_classes), left to right."""

    def __init__(self, vocab_size: int, n_classes: int, d_model: int = 32):
        super().__init__()
        check_sizes("RNNModel", vocab_size=vocab_size, n_classes=n_classes, d_model=d_model)
        self.config = dict(vocab_size=vocab_size, n_classes=n_classes, d_model=d_model)
        self.d_model = d_model
        self.embed = Embedding(vocab_size, d_model)
        self.input = Linear(d_model, d_model)  # x_t W_x + b
        rng = mg.default_generator()
        # Orthogonal W_h keeps the state's size on the way (no early vanishing).
        q, _ = np.linalg.qr(rng.standard_normal((d_model, d_model)))
        self.recurrent = Parameter(q.astype(np.float32))  # W_h (C, C)
        self.head = Linear(d_model, n_classes)

    def forward(self, ids, mask=None, key_padding_mask=None):
        x = self.input(self.embed(ids))  # (B, T, C): every step's input at once
        B, T, C = x.shape
        h = mg.zeros(B, C, dtype=x.dtype)
        states = []
        for t in range(T):  # one step after another: step t needs step t - 1
            h = (x[:, t] + h @ self.recurrent).tanh()  # (B, C)
            states.append(h)
        return self.head(mg.stack(states, axis=1))  # (B, T, C) -> (B, T, n_classes)

    def attention_maps(self):
        """None: a recurrent network has no attention weights to show."""
        return []

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}"
