"""Linear: y = x @ weight + bias, the learned projection behind W_Q, W_K, W_V."""

import numpy as np

import minigrad as mg
from minigrad.nn import Module, Parameter, check_sizes


class Linear(Module):
    """y = x @ weight + bias, with weight of shape (in_features, out_features).

    The weight is stored (in, out), so the forward is a plain `x @ W` that reads like the
    math; PyTorch stores the transpose. Initialised uniformly in +-1/sqrt(in_features), as
    PyTorch does, so outputs start with roughly the variance of the inputs."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / np.sqrt(in_features)
        rng = mg.default_generator()
        self.weight = Parameter(rng.uniform(-bound, bound, (in_features, out_features))
                                .astype(np.float32))
        self.bias = (Parameter(rng.uniform(-bound, bound, out_features).astype(np.float32))
                     if bias else None)

    def forward(self, x):
        self._check_input(x)
        # One 2-D matmul over all leading axes: its weight gradient is a single (in, out)
        # product, not one per batch element summed afterwards.
        leading = x.shape[:-1]
        y = x.reshape(-1, self.in_features) @ self.weight  # (N, in) @ (in, out) -> (N, out)
        y = y.reshape(*leading, self.out_features)  # (..., out)
        return y + self.bias if self.bias is not None else y

    def _check_input(self, x):
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            features = f"has {x.shape[-1]} features in its last axis" if x.ndim else \
                "is 0-d, with no feature axis"
            raise ValueError(f"Linear: input of shape {x.shape} {features}, but this layer "
                             f"expects {self.in_features}")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"
