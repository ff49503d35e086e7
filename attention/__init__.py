"""attention: softmax, linear, embeddings and (multi-head) self-attention built on minigrad.

Everything here uses only minigrad's public API: Tensor ops, Function (for the fused softmax
and cross-entropy) and nn.Module.
"""

from attention.attention import SelfAttention, scaled_dot_product_attention
from attention.dropout import Dropout
from attention.embedding import Embedding
from attention.language_model import CausalLM
from attention.layernorm import LayerNorm
from attention.linear import Linear
from attention.losses import cross_entropy
from attention.model import AttentionModel, CrossAttentionModel, FeedForward
from attention.multihead import MultiHeadAttention
from attention.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from attention.softmax import log_softmax, softmax, softmax_composite

__all__ = [
    "Linear", "Embedding", "LayerNorm", "softmax", "log_softmax", "softmax_composite",
    "cross_entropy", "scaled_dot_product_attention", "SelfAttention", "MultiHeadAttention",
    "SinusoidalPositionalEncoding", "LearnedPositionalEmbedding", "FeedForward",
    "AttentionModel", "CrossAttentionModel", "Dropout", "CausalLM",
]
