"""minigrad: a small reverse-mode automatic differentiation engine on NumPy."""

from minigrad.tensor import Tensor  # noqa: I001  (Tensor first: the ops import it)
from minigrad.autograd import backward
from minigrad.grad_mode import enable_grad, is_grad_enabled, no_grad
from minigrad.creation import (
    arange, default_generator, full, manual_seed, ones, ones_like, rand, rand_like, randn,
    randn_like, tensor, zeros, zeros_like,
)
from minigrad.function import Context, Function
from minigrad.functional import *  # noqa: F403
from minigrad.functional import __all__ as _functional_names
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.debug import (
    AnomalyError, break_on, check_function, check_graph, detect_anomaly, explain,
    record_sources, trace_backward,
)
from minigrad import nn, optim  # noqa: E402  (after the core they build on)

__all__ = [
    "Tensor", "Function", "Context", "backward", "no_grad", "enable_grad",
    "is_grad_enabled", "tensor", "zeros", "ones", "full", "randn", "rand", "arange",
    "zeros_like", "ones_like", "randn_like", "rand_like", "manual_seed",
    "default_generator", "gradcheck", "GradcheckError", "check_graph", "check_function",
    "detect_anomaly", "record_sources", "AnomalyError", "trace_backward", "explain",
    "break_on", "nn", "optim",
    *_functional_names,
]
__version__ = "0.1.0"


def __getattr__(name):
    # `from minigrad import viz` and `mg.viz` load the drawings (and Graphviz) on first use,
    # so `import minigrad` stays quick for code that never draws.
    if name == "viz":
        from minigrad.debug import viz

        return viz
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
