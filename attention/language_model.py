"""A tiny causal language model: predict every next token, then generate one at a time.

    ids (B, T) -> token embedding + position embedding -> blocks -> LayerNorm -> logits
    (B, T, vocab), where the logits at position t are the model's guess for token t + 1.

Each block is pre-LayerNorm causal multi-head self-attention and a feed-forward layer, each
wrapped in a residual connection, with dropout on both branches while training.

Why the causal mask: training scores every position at once, and position t's target is
token t + 1, which sits in the same input row. Without the mask, position t can attend to
position t + 1 and copy the answer; the training loss falls almost to zero while the model
learns nothing it can use. At generation time token t + 1 does not exist yet, so that model
fails. With the mask, position t sees tokens 0..t only, exactly what it will see when it
generates, and what it learns in training is what it can do in use.
"""

import numpy as np

from attention.embedding import Embedding
from attention.layernorm import LayerNorm
from attention.linear import Linear
from attention.model import Block
from attention.positional import LearnedPositionalEmbedding
from minigrad.nn import Module, ModuleList, check_sizes, evaluating


class CausalLM(Module):
    """Token ids (B, T) -> next-token logits (B, T, vocab_size).

    causal=False builds the same model without the mask, to show what the mask is for."""

    def __init__(self, vocab_size, d_model=64, n_heads=4, n_layers=2, max_len=32,
                 ffn_hidden=128, dropout=0.1, causal=True):
        super().__init__()
        # No blocks would be a model that cannot look at any other token: refused by name.
        check_sizes("CausalLM", n_layers=n_layers)
        self.config = dict(vocab_size=vocab_size, d_model=d_model, n_heads=n_heads,
                           n_layers=n_layers, max_len=max_len, ffn_hidden=ffn_hidden,
                           dropout=dropout, causal=causal)
        self.causal, self.max_len = causal, max_len
        self.embed = Embedding(vocab_size, d_model)
        self.pos = LearnedPositionalEmbedding(max_len, d_model)
        self.blocks = ModuleList(
            Block(d_model, n_heads, residual=True, layer_norm=True, ffn_hidden=ffn_hidden,
                  dropout=dropout) for _ in range(n_layers)
        )
        self.norm = LayerNorm(d_model)
        self.head = Linear(d_model, vocab_size)

    def forward(self, ids, mask=None):
        x = self.pos(self.embed(ids))  # (B, T) -> (B, T, C), each vector knows its position
        for block in self.blocks:
            x = block(x, mask=mask, causal=self.causal)  # (B, T, C)
        return self.head(self.norm(x))  # (B, T, vocab_size)

    def attention_maps(self):
        """Attention weights of the last forward, one (B, nh, T, T) array per block."""
        return [block.attn.attention_weights for block in self.blocks]


def generate(model, prompts, n_new: int) -> np.ndarray:
    """Greedy generation: append the most likely next token, n_new times.

    prompts: (B, t) integer ids, one prompt of at least one token per row (all of length
    t). Returns (B, t + n_new). Each step runs the model on everything so far and takes
    the logits of the last position, which are its prediction for the token after it. The
    model runs in eval mode (no dropout) and records no graph; its mode is restored after.
    """
    ids = np.asarray(prompts)
    if ids.ndim != 2 or ids.shape[1] == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"generate: prompts must be (B, t) integer token ids with t >= 1, "
                         f"got shape {ids.shape} and dtype {ids.dtype}")
    if isinstance(n_new, bool) or not isinstance(n_new, (int, np.integer)) or n_new < 0:
        raise ValueError(f"generate: n_new must be a non-negative integer, got {n_new!r}")
    # The last new token is never fed back, so the longest input is t + n_new - 1 tokens.
    room = model.max_len + 1 - ids.shape[1]
    if n_new > room:
        raise ValueError(f"generate: after a prompt of {ids.shape[1]} tokens the model "
                         f"(max_len={model.max_len}) can add at most {max(room, 0)} "
                         f"tokens, not {n_new}")
    ids = ids.astype(np.int64)
    with evaluating(model):
        for _ in range(n_new):
            logits = model(ids)  # (B, t, vocab)
            next_ids = logits.data[:, -1].argmax(axis=-1)  # (B,)
            ids = np.concatenate([ids, next_ids[:, None]], axis=1)  # (B, t + 1)
    return ids


def exact_match(model, data, prompt_len: int) -> float:
    """The fraction of rows whose answer the model generates exactly, token for token.

    data is (ids, targets, mask) of a language-model task: each row's first prompt_len
    tokens are the prompt ("12+35="), the rest of the row (the last target included) is
    the answer ("047"). Only the prompt is given; the answer must be generated."""
    ids, targets, _ = data
    answers = targets[:, prompt_len - 1:]  # (N, n_new): the row after the prompt
    generated = generate(model, ids[:, :prompt_len], answers.shape[1])[:, prompt_len:]
    return float((generated == answers).all(axis=1).mean()) if len(ids) else 0.0
