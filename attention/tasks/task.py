"""What a toy task is: its tokens, its answers, its row length, the settings it trains with,
and the function that makes its rows. The tasks themselves are in sentences.py,
sequences.py and sums.py.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Settings:
    """The model and training settings that train a task in seconds: what a TrainConfig
    field left at None becomes for that task."""

    steps: int
    positional: str = "none"  # "none", "sinusoidal" or "learned"
    residual: bool = False
    d_model: int = 32
    n_heads: int = 1
    n_layers: int = 1
    ffn_hidden: int = 0  # 0: no feed-forward layer
    dropout: float = 0.0
    causal: bool = False  # the language model's causal mask
    lr: float = 0.01
    batch_size: int = 64
    eval_every: int | None = None  # None: about 30 evaluations per run


@dataclass(frozen=True)
class Task:
    """A toy task: its tokens, its answers, its row length, and what it trains with."""

    name: str
    description: str  # one sentence, for --help
    vocab: list  # token strings, indexed by id
    classes: list  # answer names, indexed by target
    seq_len: int
    settings: Settings
    # "AttentionModel" (self-attention over the row), "CrossAttentionModel" (a memory, then
    # queries that look it up) or "CausalLM" (a language model predicting every next token).
    model: str = "AttentionModel"
    digits: int | None = None  # cycle and pair: values per token; sums: digits per operand
    memory: int | None = None  # lookup: the first `memory` tokens of a row are the memory
    pad: str | None = None  # svo: the token shorter rows are padded with (masked)
    prompt_len: int | None = None  # sums: the tokens of "ab+cd=", the prompt to complete
    # make_rows(task, rng, n) -> (ids, targets, mask): the task's data generator
    make_rows: Callable | None = None

    def generate(self, rng: np.random.Generator, n: int):
        """(ids (n, T) int64, targets (n, T) int64, mask (n, T) bool)."""
        return self.make_rows(self, rng, n)

    def decode(self, ids) -> list:
        return [self.vocab[i] for i in ids]

    def encode(self, tokens) -> list:
        """Token ids of a sequence of tokens (a string, when every token is one character)."""
        return [self.vocab.index(token) for token in tokens]


def one_layer(positional: str, steps: int, residual: bool = False, n_heads: int = 1,
              d_model: int = 32) -> Settings:
    """The settings that train a one-block attention classifier on a task in seconds."""
    return Settings(steps=steps, positional=positional, residual=residual, n_heads=n_heads,
                    d_model=d_model)


def digit_tokens(n: int) -> list:
    return [str(d) for d in range(n)]
