"""A small attention model for the toy tasks: embed, add positions, attend, classify.

    ids (B, T) -> Embedding -> + positions -> blocks -> Linear head -> logits (B, T, classes)

Each block is multi-head self-attention, optionally wrapped with a residual connection and
a pre-LayerNorm, optionally followed by a feed-forward layer. With one block, no
feed-forward and no residual, every output is a function of one attention step, which
makes the learned attention weights easy to read.
"""

import numpy as np

import minigrad as mg
from attention.dropout import Dropout
from attention.embedding import Embedding
from attention.layernorm import LayerNorm
from attention.linear import Linear
from attention.multihead import MultiHeadAttention
from attention.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from minigrad.nn import Module, ModuleList

POSITIONAL = ("none", "sinusoidal", "learned")


class FeedForward(Module):
    """relu(x W1 + b1) W2 + b2, applied to each position on its own."""

    def __init__(self, d_model: int, hidden: int):
        super().__init__()
        self.fc1 = Linear(d_model, hidden)
        self.fc2 = Linear(hidden, d_model)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())  # (B, T, C) -> (B, T, hidden) -> (B, T, C)


class Block(Module):
    """x -> x + attn(norm(x)) [-> x + ffn(norm(x))], each part switchable.

    dropout > 0 drops a fraction of each branch's output before it joins the residual
    stream (training only); causal=True in forward forbids each position the ones after it.
    """

    def __init__(self, d_model, n_heads, residual=True, layer_norm=False, ffn_hidden=0,
                 dropout=0.0, share=None):
        super().__init__()
        self.residual = residual
        self.attn = MultiHeadAttention(d_model, n_heads, share=share)
        self.norm1 = LayerNorm(d_model) if layer_norm else None
        self.norm2 = LayerNorm(d_model) if layer_norm and ffn_hidden else None
        self.ffn = FeedForward(d_model, ffn_hidden) if ffn_hidden else None
        self.drop = Dropout(dropout) if dropout else None

    def forward(self, x, mask=None, causal=False, key_padding_mask=None):
        h = self.attn(self.norm1(x) if self.norm1 else x, mask=mask, causal=causal,
                      key_padding_mask=key_padding_mask)  # (B, T, C)
        h = self.drop(h) if self.drop else h
        x = x + h if self.residual else h
        if self.ffn is not None:
            h = self.ffn(self.norm2(x) if self.norm2 else x)  # (B, T, C)
            x = x + (self.drop(h) if self.drop else h)
        return x


class AttentionModel(Module):
    """Token ids (B, T) -> per-position class logits (B, T, n_classes)."""

    def __init__(self, vocab_size, n_classes, d_model=32, n_heads=1, n_layers=1, max_len=64,
                 positional="none", residual=True, layer_norm=False, ffn_hidden=0,
                 share=None, pad_id=None):
        super().__init__()
        if positional not in POSITIONAL:
            raise ValueError(f"AttentionModel: positional must be one of {POSITIONAL}, "
                             f"got {positional!r}")
        self.config = dict(vocab_size=vocab_size, n_classes=n_classes, d_model=d_model,
                           n_heads=n_heads, n_layers=n_layers, max_len=max_len,
                           positional=positional, residual=residual, layer_norm=layer_norm,
                           ffn_hidden=ffn_hidden, share=share, pad_id=pad_id)
        # The padding token, when rows of different lengths are padded to one: no position
        # attends to it (its key_padding_mask is made from the ids).
        self.pad_id = pad_id
        self.embed = Embedding(vocab_size, d_model)
        if positional == "sinusoidal":
            self.pos = SinusoidalPositionalEncoding(d_model, max_len)
        elif positional == "learned":
            self.pos = LearnedPositionalEmbedding(max_len, d_model)
        else:
            self.pos = None
        self.blocks = ModuleList(
            Block(d_model, n_heads, residual, layer_norm, ffn_hidden, share=share)
            for _ in range(n_layers)
        )
        self.head = Linear(d_model, n_classes)

    def forward(self, ids, mask=None, key_padding_mask=None):
        """ids (B, T); mask: allowed keys, broadcastable to (B, nh, T, T); key_padding_mask
        (B, T): True at the padding of rows shorter than T, which no position attends to
        (made from the ids when the model has a pad_id and none is given)."""
        if key_padding_mask is None and self.pad_id is not None:
            key_padding_mask = np.asarray(getattr(ids, "data", ids)) == self.pad_id  # (B, T)
        x = self.embed(ids)  # (B, T) -> (B, T, C)
        if self.pos is not None:
            x = self.pos(x)  # (B, T, C): now each vector also says where it is
        for block in self.blocks:
            x = block(x, mask=mask, key_padding_mask=key_padding_mask)  # (B, T, C)
        return self.head(x)  # (B, T, n_classes)

    def attention_maps(self):
        """Attention weights of the last forward, one (B, nh, T, S) array per block."""
        return [block.attn.attention_weights for block in self.blocks]


class CrossAttentionModel(Module):
    """Rows of token ids (B, S + T), a memory of S tokens then T queries -> logits
    (B, S + T, n_classes), zero at the memory positions (only the queries are scored).

    The queries attend to the memory: queries from one sequence, keys and values from the
    other, the cross-attention of an encoder-decoder. No positions are needed: a query
    finds its memory slot by content."""

    def __init__(self, vocab_size, n_classes, memory_len, d_model=32, n_heads=1):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, n_classes=n_classes, memory_len=memory_len,
                           d_model=d_model, n_heads=n_heads)
        self.memory_len = memory_len
        self.embed = Embedding(vocab_size, d_model)
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.head = Linear(d_model, n_classes)

    def forward(self, ids, mask=None):
        ids = np.asarray(ids.data if isinstance(ids, mg.Tensor) else ids)
        S = self.memory_len
        memory = self.embed(ids[:, :S])  # (B, S, C): what can be looked up
        queries = self.embed(ids[:, S:])  # (B, T, C): what is asked for
        answers = self.head(self.attn(queries, context=memory))  # (B, T, n_classes)
        B, T, K = answers.shape
        none = mg.zeros(B, S, K, dtype=answers.dtype)  # the memory positions: not scored
        return mg.concat([none, answers], axis=1)  # (B, S + T, n_classes)

    def attention_maps(self):
        """The queries' attention over the memory, one (B, nh, T, S) array."""
        return [self.attn.attention_weights]
