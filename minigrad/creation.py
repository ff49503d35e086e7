"""Creating tensors: from data, filled with constants, random, ranges, and *_like.

Random tensors come from one seeded generator (`manual_seed`), so a run is repeatable.
"""

import numpy as np

from minigrad.convert import as_array as _as_array
from minigrad.tensor import DEFAULT_FLOAT, Tensor

_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind randn, rand and the layers' initialisation."""
    global _rng
    _rng = np.random.default_rng(seed)


def default_generator() -> np.random.Generator:
    return _rng


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def tensor(data, dtype=None, requires_grad=False, name=None) -> Tensor:
    """A new tensor holding a copy of `data` (a list, number, array or tensor), as
    `torch.tensor` does: changing `data` afterwards leaves the tensor as it was. (The
    constructor `mg.Tensor(array)` shares the array's memory instead, as `torch.Tensor`.)"""
    array = np.array(_as_array(data, dtype))  # np.array copies; the tensor owns its data
    return Tensor(array, requires_grad=requires_grad, name=name)


def zeros(*shape, dtype=DEFAULT_FLOAT, requires_grad=False, name=None) -> Tensor:
    return Tensor(np.zeros(_shape(shape), dtype), requires_grad=requires_grad, name=name)


def ones(*shape, dtype=DEFAULT_FLOAT, requires_grad=False, name=None) -> Tensor:
    return Tensor(np.ones(_shape(shape), dtype), requires_grad=requires_grad, name=name)


def full(shape, value, dtype=DEFAULT_FLOAT, requires_grad=False, name=None) -> Tensor:
    return Tensor(np.full(shape, value, dtype), requires_grad=requires_grad, name=name)


def randn(*shape, dtype=DEFAULT_FLOAT, requires_grad=False, name=None) -> Tensor:
    """Standard normal samples."""
    data = _rng.standard_normal(_shape(shape)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad, name=name)


def rand(*shape, dtype=DEFAULT_FLOAT, requires_grad=False, name=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    data = _rng.random(_shape(shape)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad, name=name)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False, name=None) -> Tensor:
    """Evenly spaced values, as np.arange (integers unless a float is involved)."""
    if stop is None:
        start, stop = 0, start
    data = np.arange(start, stop, step)
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype == np.float64:
        data = data.astype(DEFAULT_FLOAT)
    return Tensor(data, requires_grad=requires_grad, name=name)


def zeros_like(t, dtype=None, requires_grad=False, name=None) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, name=name)


def ones_like(t, dtype=None, requires_grad=False, name=None) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, name=name)


def randn_like(t, dtype=None, requires_grad=False, name=None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, name=name)


def rand_like(t, dtype=None, requires_grad=False, name=None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, name=name)
