"""The backward engine: topological order, gradient accumulation, and grad-mode switches.

`backward(root)` visits every node of the graph that produced `root` exactly once, in an
order where a node comes after everything that consumes it, so the gradient arriving at a
node is complete before the node passes it on. The walk is an explicit loop over a stack,
not recursion, so a 100,000-op chain is as fine as a 3-op one.
"""

import contextlib
import itertools
import warnings

import numpy as np

from minigrad.broadcast import unbroadcast


class _GradMode:
    """Global switches read by `Function.apply` on every op."""

    enabled = True  # False inside no_grad(): ops record nothing
    record_source = False  # True inside record_sources(): remember each op's file:line
    check_nan = False  # True inside detect_anomaly(): raise at the first NaN or inf
    module_stack: list = []  # Modules being called, innermost last (for graph drawings)


# Callables notified for every node backward visits, as
# observer(tensor, ctx, grad_in, grads_sent, pass_number): grads_sent holds, per input, the
# gradient after unbroadcasting (None where none was sent); pass_number tells backward()
# calls apart. Used by the step-through recorder; empty in normal runs, so the engine pays
# one falsy check per node.
observers: list = []
_passes = itertools.count()


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


def _creation_order(tensor) -> int:
    return tensor._ctx.seq if tensor._ctx is not None else -1  # leaves go last


def _topological_order(root):
    """Every tensor reachable from `root` that requires grad, consumers before producers.

    An op's output is always created after its inputs, so sorting the reachable nodes by
    creation number, newest first, is a valid topological order; the walk that finds them
    is an explicit stack, not recursion."""
    # BEGIN SOLUTION task1_4: the topological order of the graph
    nodes, stack, seen = [root], [root], {id(root)}
    while stack:
        ctx = stack.pop()._ctx
        if ctx is None:
            continue
        for parent in ctx.inputs:
            if parent is not None and parent._requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                nodes.append(parent)
                stack.append(parent)
    nodes.sort(key=_creation_order, reverse=True)
    return nodes
    # END SOLUTION


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
        label = t.name or "a tensor"
        raise RuntimeError(
            f"{ctx.fn.name}: {label} of shape {t.shape} was modified in place after the "
            f"forward pass (version {v} -> {t._counter[0]}), but {ctx.fn.name}'s backward "
            f"needs its original value{ctx.where()}. Modify a copy instead, or recompute "
            "the forward pass."
        )


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b that stays an ndarray (NumPy turns the sum of two 0-d arrays into a scalar)."""
    total = a + b
    return total if type(total) is np.ndarray else np.asarray(total)


def _matches(ctx, break_on) -> bool:
    """Whether the op of `ctx` is one that `break_on` names (class, class name or op name)."""
    wanted = break_on if isinstance(break_on, (list, tuple, set)) else [break_on]
    for item in wanted:
        if item is ctx.fn:
            return True
        if isinstance(item, str) and item.lower() in (ctx.fn.__name__.lower(), ctx.fn.name):
            return True
    return False


def _run_backward(ctx, grad, break_on):
    """ctx.fn.backward(ctx, grad), under pdb if the op is one to break on."""
    if break_on is not None and _matches(ctx, break_on):
        import pdb

        print(f"--- break_on={break_on!r}: stopping in {ctx.fn.__name__}.backward "
              f"(incoming gradient {grad.shape}){ctx.where()}; 'c' continues ---")
        return pdb.Pdb().runcall(ctx.fn.backward, ctx, grad)
    return ctx.fn.backward(ctx, grad)


def backward(root, grad=None, retain_graph=False, break_on=None, intermediate_grads=True):
    """Backpropagate from `root`, accumulating into the `.grad` of every tensor on the way.

    intermediate_grads=False keeps .grad on leaves (parameters, inputs) only, as PyTorch
    does: less memory for a training loop that never looks at the others.

    break_on: an op (its class, class name or op name, e.g. "Softmax" or "matmul"), or a
    list of them: stop in pdb at the first line of that op's backward every time it runs."""
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
        # A copy: the caller's array must not become (and change) the root's .grad.
        grad = np.array(getattr(grad, "data", grad), dtype=root.data.dtype)
        if grad.shape != root.shape:
            raise ValueError(
                f"backward: gradient of shape {grad.shape} does not match the output "
                f"shape {root.shape}"
            )

    order = _topological_order(root)
    pass_number = next(_passes)
    if break_on is not None and not any(t._ctx is not None and _matches(t._ctx, break_on)
                                        for t in order):
        ops = sorted({t._ctx.fn.__name__ for t in order if t._ctx is not None})
        warnings.warn(f"backward: break_on={break_on!r} matches no op of this graph; its ops "
                      f"are {ops}", stacklevel=3)
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

    # BEGIN SOLUTION task1_4: the backward pass: send each node's gradient to its inputs
    pending = {id(root): grad}  # gradients still flowing, keyed by tensor identity
    for tensor in order:
        g = pending.pop(id(tensor), None)
        if g is None:
            continue
        ctx = tensor._ctx
        # Every tensor keeps its gradient, leaf or not, so any node can be inspected. A
        # leaf gets its own copy, because optimizers and users edit leaf grads in place
        # and an op may pass one array to several inputs.
        if tensor.grad is not None:
            if tensor.grad.shape != g.shape:
                raise ValueError(
                    f"backward: {tensor._label()} of shape {tensor.shape} holds a .grad of "
                    f"shape {tensor.grad.shape}; set it to None or to an array of its shape"
                )
            tensor.grad = _add(tensor.grad, g).astype(tensor._data.dtype, copy=False)
        elif ctx is None:
            tensor.grad = np.array(g)  # a leaf gets a private, writable copy
        elif intermediate_grads:
            tensor.grad = g if g.flags.writeable else np.array(g)
        if ctx is None:
            continue
        try:
            grads = _run_backward(ctx, g, break_on)
        except Exception as error:
            shapes = ", ".join(str(t.shape) if t is not None else "-" for t in ctx.inputs)
            raise RuntimeError(
                f"{ctx.fn.name}.backward failed: {error} (incoming gradient {g.shape}, "
                f"input shapes {shapes}){ctx.where()}"
            ) from error
        if type(grads) is not tuple:
            grads = tuple(grads) if isinstance(grads, list) else (grads,)
        if len(grads) != len(ctx.inputs):
            raise RuntimeError(
                f"{ctx.fn.name}.backward returned {len(grads)} gradients for "
                f"{len(ctx.inputs)} inputs"
            )
        sent = [None] * len(grads)
        for i, (parent, pg) in enumerate(zip(ctx.inputs, grads)):
            if parent is None or pg is None or not parent._requires_grad:
                continue
            if type(pg) is not np.ndarray:
                pg = np.asarray(pg)
            if pg.shape != parent._data.shape:
                try:
                    pg = unbroadcast(pg, parent.shape)
                except ValueError:
                    raise RuntimeError(
                        f"{ctx.fn.name}.backward returned a gradient of shape {pg.shape} "
                        f"for input {i} of shape {parent.shape}"
                    ) from None
            if pg.dtype != parent._data.dtype:
                pg = pg.astype(parent._data.dtype)
            if _GradMode.check_nan:
                from minigrad.anomaly import check_backward

                check_backward(ctx, i, pg, g)
            sent[i] = pg
            previous = pending.get(id(parent))
            pending[id(parent)] = pg if previous is None else _add(previous, pg)
        if observers:
            for observer in observers:
                observer(tensor, ctx, g, sent, pass_number)
        if not retain_graph:
            ctx.free()
    # END SOLUTION

