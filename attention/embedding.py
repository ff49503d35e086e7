"""Embedding: a learned vector per token id, looked up by integer indexing.

The lookup is `weight[ids]`, an integer-array getitem, so when a token appears several
times in a batch its row receives the sum of all their gradients (np.add.at in getitem's
backward).
"""

import numpy as np

import minigrad as mg
from minigrad.nn import Module, Parameter, check_sizes


class Embedding(Module):
    """ids (any shape, integers in [0, num_embeddings)) -> vectors (..., embedding_dim)."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        rng = mg.default_generator()
        self.weight = Parameter(rng.standard_normal((num_embeddings, embedding_dim))
                                .astype(np.float32))

    def forward(self, ids):
        ids = np.asarray(ids.data if isinstance(ids, mg.Tensor) else ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"Embedding: ids must be integers, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            bad = ids.max() if ids.max() >= self.num_embeddings else ids.min()
            raise IndexError(
                f"Embedding: token id {bad} is out of range for {self.num_embeddings} "
                f"embeddings (ids of shape {ids.shape})"
            )
        return self.weight[ids]  # (...,) -> (..., embedding_dim)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
