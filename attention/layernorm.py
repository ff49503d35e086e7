"""LayerNorm: normalise each position's vector to zero mean and unit variance, then scale."""

import numpy as np

from minigrad.nn import Module, Parameter, check_sizes


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, over the last axis.

    Built from primitive ops (mean, var, sqrt, divide), so its backward comes from the
    engine. var uses correction=0 (the population variance), as PyTorch's LayerNorm does."""

    def __init__(self, d_model: int, eps: float = 1e-5):
        super().__init__()
        check_sizes("LayerNorm", d_model=d_model)
        self.d_model, self.eps = d_model, eps
        self.weight = Parameter(np.ones(d_model, dtype=np.float32))
        self.bias = Parameter(np.zeros(d_model, dtype=np.float32))

    def forward(self, x):
        if x.ndim == 0 or x.shape[-1] != self.d_model:
            raise ValueError(f"LayerNorm({self.d_model}): input of shape {x.shape} should end "
                             f"in {self.d_model} features")
        # The statistics in float64: there a row of one float32 value sums exactly, so its
        # mean is that value and its variance 0, and the row normalises to exactly 0 (as in
        # PyTorch). In float32, a mean off by a rounding gives a variance near eps, and
        # outputs up to 0.5 for a constant row.
        wide = x if x.dtype == np.float64 else x.astype(np.float64)
        mean = wide.mean(axis=-1, keepdims=True)  # (..., 1)
        var = wide.var(axis=-1, keepdims=True, correction=0)  # (..., 1)
        normed = ((wide - mean) / (var + self.eps).sqrt()).astype(x.dtype)  # (..., C)
        return normed * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"{self.d_model}, eps={self.eps}"
