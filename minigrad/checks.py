"""The guard rails of backward: every check that turns a mistake into a clear error.

autograd.py is the algorithm; each of these is called there in one line. They run before
anything is written where they can (first_gradient, check_graph), so a refused backward
changes nothing and can simply be retried, and they name the op, the tensor and the
shapes, because the learner reads the message to find the mistake.
"""

import numpy as np

from minigrad.broadcast import unbroadcast
from minigrad.tensor import describe


def first_gradient(root, grad) -> np.ndarray:
    """The gradient backward starts from: ones for a scalar, else the one given."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph "
            f"(shape {root.shape}); set requires_grad=True on an input first"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: output of shape {root.shape} is not a scalar; pass the "
                "gradient explicitly, e.g. y.backward(np.ones_like(y.data))"
            )
        return np.ones_like(root.data)
    given = np.asarray(getattr(grad, "data", grad))
    if given.dtype.kind not in "biuf":
        raise TypeError(f"backward: the gradient must hold real numbers, got dtype "
                        f"{given.dtype}")
    # A copy: the caller's array must not become (and change) the root's .grad.
    grad = np.array(given, dtype=root.data.dtype)
    if grad.shape != root.shape:
        raise ValueError(
            f"backward: gradient of shape {grad.shape} does not match the output "
            f"shape {root.shape}"
        )
    return grad


def check_graph(order):
    """Refuse a graph whose saved state was freed, whose tensors changed since forward, or
    that holds a .grad backward could not add to: all before anything is freed or written,
    so a refused backward can simply be retried once the problem is fixed."""
    for tensor in order:
        if tensor.grad is not None:
            _check_grad(tensor)
        ctx = tensor._ctx
        if ctx is None:
            continue
        if ctx.freed:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time: "
                f"{ctx.fn.name}'s saved state was freed after the first backward"
                f"{ctx.where()}. Pass retain_graph=True to the first backward() to "
                "keep it."
            )
        _check_not_modified(tensor, ctx)


def _check_grad(tensor):
    """A .grad set by hand must be an array of the tensor's shape (never a plain number:
    micrograd's `p.grad = 0` is spelled `p.grad = None` here)."""
    grad = tensor.grad
    if type(grad) is not np.ndarray or grad.shape != tensor.shape or grad.dtype.kind != "f":
        held = (f"an array of shape {grad.shape} and dtype {grad.dtype}"
                if isinstance(grad, np.ndarray) else f"{grad!r} ({type(grad).__name__})")
        raise ValueError(
            f"backward: {describe(tensor)} of shape {tensor.shape} holds .grad = {held}; "
            f"set it to None (to start from zero) or to a float array of shape {tensor.shape}"
        )


def _check_not_modified(tensor, ctx):
    """Refuse to backpropagate through an op whose inputs or output changed since forward."""
    stale = None
    for t, v in zip(ctx.inputs, ctx.versions):
        if t is not None and t._counter[0] != v:
            stale = (t, v)
            break
    if stale is None and tensor._counter[0] != ctx.out_version:
        stale = (tensor, ctx.out_version)
    if stale is not None:
        t, v = stale
        raise RuntimeError(
            f"{ctx.fn.name}: {t.name or describe(t)} of shape {t.shape} was modified in place "
            f"after the forward pass (version {v} -> {t._counter[0]}), but {ctx.fn.name}'s "
            f"backward needs its original value{ctx.where()}. Modify a copy instead, or recompute "
            "the forward pass."
        )


def check_can_add(tensor, grad):
    """The .grad already there (from an earlier backward, or set by hand) must have the
    shape of the gradient added to it."""
    if tensor.grad.shape != grad.shape:
        raise ValueError(
            f"backward: {describe(tensor)} of shape {tensor.shape} holds a .grad of shape "
            f"{tensor.grad.shape}; set it to None or to an array of its shape")


def backward_failed(ctx, grad, error) -> RuntimeError:
    """The error to raise when an op's backward raised `error`: the op, the shapes, where
    the op was created."""
    shapes = ", ".join(str(t.shape) if t is not None else "-" for t in ctx.inputs)
    return RuntimeError(f"{ctx.fn.name}.backward failed: {error} (incoming gradient "
                        f"{grad.shape}, input shapes {shapes}){ctx.where()}")


def as_gradients(ctx, grads) -> list:
    """An op's backward result as a list of one gradient per input: a single array or a
    list is accepted; the wrong count is refused by name."""
    if type(grads) is not tuple:
        grads = tuple(grads) if isinstance(grads, list) else (grads,)
    if len(grads) != len(ctx.inputs):
        raise RuntimeError(f"{ctx.fn.name}.backward returned {len(grads)} gradients for "
                           f"{len(ctx.inputs)} inputs")
    return list(grads)


def fit(ctx, i, parent, grad):
    """The gradient for input i, summed back to its shape and cast to its dtype."""
    grad = np.asarray(grad)
    if grad.shape != parent._data.shape:
        try:
            grad = unbroadcast(grad, parent.shape)
        except ValueError:
            raise RuntimeError(
                f"{ctx.fn.name}.backward returned a gradient of shape {grad.shape} "
                f"for input {i} of shape {parent.shape}"
            ) from None
    if grad.dtype != parent._data.dtype:
        grad = grad.astype(parent._data.dtype)
    return grad
