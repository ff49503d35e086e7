"""The backward engine: topological order, gradient accumulation, and grad-mode switches.

`backward(root)` visits every node of the graph that produced `root` exactly once, in an
order where a node comes after everything that consumes it, so the gradient arriving at a
node is complete before the node passes it on. The walk is an explicit loop over a stack,
not recursion, so a 100,000-op chain is as fine as a 3-op one.
"""

import contextlib

import numpy as np

from minigrad.broadcast import unbroadcast


class _GradMode:
    """Global switches read by `Function.apply` on every op."""

    enabled = True  # False inside no_grad(): ops record nothing
    record_source = False  # True inside record_sources(): remember each op's file:line


# Callables notified for every node backward visits, as
# observer(tensor, ctx, grad_in, grads_out). Used by the step-through recorder and
# debugger support; empty in normal runs, so the engine pays one falsy check per node.
observers: list = []


class _SetGradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets whether ops record the graph."""

    def __init__(self, mode: bool):
        self.mode = mode
        self._previous: list = []

    def __enter__(self):
        self._previous.append(_GradMode.enabled)
        _GradMode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous.pop()
        return False


def no_grad():
    """Ops inside record nothing (no graph, no saved arrays): for evaluation and updates.

    Use as `with mg.no_grad(): ...` or as a decorator `@mg.no_grad()`.
    """
    return _SetGradMode(False)


def enable_grad():
    """Turn recording back on, for example inside a function decorated with no_grad."""
    return _SetGradMode(True)


def is_grad_enabled() -> bool:
    return _GradMode.enabled


def _topological_order(root):
    """Every tensor reachable from `root` that requires grad, consumers before producers."""
    order = []
    visited = {id(root)}
    # Each stack entry is (tensor, iterator over its inputs): an explicit DFS post-order.
    stack = [(root, iter(root._ctx.inputs if root._ctx is not None else ()))]
    while stack:
        tensor, inputs = stack[-1]
        for parent in inputs:
            if parent is not None and parent.requires_grad and id(parent) not in visited:
                visited.add(id(parent))
                ctx = parent._ctx
                stack.append((parent, iter(ctx.inputs if ctx is not None else ())))
                break
        else:
            stack.pop()
            order.append(tensor)
    order.reverse()
    return order


def _check_not_modified(tensor, ctx):
    """Refuse to backpropagate through an op whose inputs or output changed since forward."""
    stale = [
        (t, v) for t, v in zip(ctx.inputs, ctx.versions) if t is not None and t._version != v
    ]
    if tensor._version != ctx.out_version:
        stale.append((tensor, ctx.out_version))
    if stale:
        t, v = stale[0]
        label = t.name or "a tensor"
        raise RuntimeError(
            f"{ctx.fn.name}: {label} of shape {t.shape} was modified in place after the "
            f"forward pass (version {v} -> {t._version}), but {ctx.fn.name}'s backward "
            f"needs its original value{ctx.where()}. Modify a copy instead, or recompute "
            "the forward pass."
        )


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b that stays an ndarray (NumPy turns the sum of two 0-d arrays into a scalar)."""
    total = a + b
    return total if type(total) is np.ndarray else np.asarray(total)


def backward(root, grad=None, retain_graph=False):
    """Backpropagate from `root`, accumulating into the `.grad` of every tensor on the way."""
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
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(getattr(grad, "data", grad), dtype=root.data.dtype)
        if grad.shape != root.shape:
            raise ValueError(
                f"backward: gradient of shape {grad.shape} does not match the output "
                f"shape {root.shape}"
            )

    order = _topological_order(root)
    # Check the whole graph before touching any .grad, so a refused backward changes nothing.
    for tensor in order:
        ctx = tensor._ctx
        if ctx is not None:
            if ctx.freed:
                raise RuntimeError(
                    "backward: trying to backward through the graph a second time: "
                    f"{ctx.fn.name}'s saved state was freed after the first backward"
                    f"{ctx.where()}. Pass retain_graph=True to the first backward() to "
                    "keep it."
                )
            _check_not_modified(tensor, ctx)

    pending = {id(root): grad}  # gradients still flowing, keyed by tensor identity
    for tensor in order:
        g = pending.pop(id(tensor), None)
        if g is None:
            continue
        # Every tensor keeps its gradient, leaf or not, so any node can be inspected.
        # The copy keeps .grad arrays unshared: ops may pass one array to several inputs.
        tensor.grad = g.copy() if tensor.grad is None else _add(tensor.grad, g)
        ctx = tensor._ctx
        if ctx is None:
            continue
        grads = ctx.fn.backward(ctx, g)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) != len(ctx.inputs):
            raise RuntimeError(
                f"{ctx.fn.name}.backward returned {len(grads)} gradients for "
                f"{len(ctx.inputs)} inputs"
            )
        if observers:
            for observer in observers:
                observer(tensor, ctx, g, grads)
        for i, (parent, pg) in enumerate(zip(ctx.inputs, grads)):
            if parent is None or pg is None or not parent.requires_grad:
                continue
            pg = np.asarray(pg)
            if pg.shape != parent.shape:
                try:
                    pg = unbroadcast(pg, parent.shape)
                except ValueError:
                    raise RuntimeError(
                        f"{ctx.fn.name}.backward returned a gradient of shape {pg.shape} "
                        f"for input {i} of shape {parent.shape}"
                    ) from None
            if pg.dtype != parent.data.dtype:
                pg = pg.astype(parent.data.dtype)
            previous = pending.get(id(parent))
            pending[id(parent)] = pg if previous is None else _add(previous, pg)
        if not retain_graph:
            ctx.free()

