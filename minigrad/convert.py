"""Conversions at the edge of the engine: what a list, a number or an array becomes when
it meets a tensor, and what an op's option may be.

Python floats and lists become float32 (PyTorch's default), a NumPy array keeps its dtype,
a list may hold tensors that need no gradient; strings, objects and complex numbers are
refused. An option (a clip bound, a fill value) takes no gradient, so a tensor that
requires grad is refused there rather than silently cut from the graph.
"""

import numpy as np

from minigrad.tensor import DEFAULT_FLOAT, Tensor, describe


def as_array(data, dtype=None) -> np.ndarray:
    """NumPy array for `data`; Python floats become float32, float64 arrays stay float64."""
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)):
        data = tensors_as_arrays(data)
    if dtype is not None:
        array = np.asarray(data, dtype=dtype)
    else:
        was_array = isinstance(data, (np.ndarray, np.generic))
        try:
            array = np.asarray(data)
        except ValueError:
            raise ValueError("tensor: nested lists of different lengths (a ragged list) "
                             "cannot make a tensor; every row must have the same length") \
                from None
        if not was_array and array.dtype == np.float64:
            array = array.astype(DEFAULT_FLOAT)  # lists and Python floats: float32, as PyTorch
    if array.dtype.kind not in "biuf":
        kind = "complex numbers are" if array.dtype.kind == "c" else \
            f"values of dtype {array.dtype} are"
        raise TypeError(f"tensor: {kind} not supported (numbers, booleans, or lists and "
                        "arrays of them)")
    return array


def tensors_as_arrays(items):
    """A list that holds tensors, with each one's array in its place (mg.tensor([a, b])).
    A tensor that requires grad is refused: the new tensor could not pass its gradient on."""
    out = []
    for item in items:
        if isinstance(item, Tensor):
            if item.requires_grad:
                raise TypeError(f"tensor: {describe(item)} in the list requires grad, and a "
                                "new tensor made from it would drop its gradient; use "
                                "mg.stack([...]) to keep it, or .detach() to drop it")
            item = item.data
        elif isinstance(item, (list, tuple)):
            item = tensors_as_arrays(item)
        out.append(item)
    return out


def unwrap(x):
    return x.data if isinstance(x, Tensor) else x


def constant(op: str, what: str, x):
    """x's array for an op option that takes no gradient (a clip bound, a fill value);
    a tensor that requires grad is refused, never silently cut from the graph."""
    if isinstance(x, Tensor):
        if x.requires_grad:
            raise TypeError(f"{op}: {what} is {describe(x)} that requires grad, but {op} "
                            f"gives no gradient to its {what}; pass a number, an array, or "
                            f"{what}.detach()")
        return x.data
    return x


def unwrap_index(index):
    """Tensors used as indices become their arrays (indices never carry gradients)."""
    if isinstance(index, tuple):
        return tuple(unwrap(i) for i in index)
    return unwrap(index)
