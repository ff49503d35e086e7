"""The backward engine: topological order and gradient accumulation.

`backward(root)` visits every node of the graph that produced `root` exactly once, in an
order where a node comes after everything that consumes it, so the gradient arriving at a
node is complete before the node passes it on. The walk is an explicit loop over a stack,
not recursion, so a 100,000-op chain is as fine as a 3-op one.

Read it top to bottom: `topological_order`, then `backpropagate` (the chain rule), then
`backward()` that runs them, then `Bookkeeper`, which stores each complete gradient in .grad
and calls each op's backward. The guard rails (a refused first gradient, a freed graph,
an input modified since forward, a gradient of the wrong shape or dtype) are in checks.py,
called here in one line each. Whether ops record a graph at all (no_grad) is in
grad_mode.py.
"""

import bdb
import sys
import threading

import numpy as np

from minigrad import checks, hooks

# ---- the algorithm: an order of the nodes, then the chain rule along it --------------

def _creation_order(tensor) -> int:
    return tensor._ctx.seq if tensor._ctx is not None else -1  # leaves go last


def topological_order(root) -> list:
    """Every tensor reachable from `root` through ctx.inputs, each one listed after every
    tensor that consumes it (root first, leaves last). No recursion: a 100,000-op chain
    must work.

    An op's output is always created after its inputs, so sorting the reachable nodes by
    creation number (ctx.seq), newest first, is one valid order; a depth-first search
    that lists each node after all its consumers is another."""
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


def backpropagate(root, grad, order, step):
    """The chain rule over the graph: send each tensor's gradient on to the op's inputs.

    root: the tensor backward() was called on; grad: d root / d root (ones, for a loss).
    order: the tensors to visit, each after everything that consumes it (see above).
    step: does everything but the chain rule, one call each:
      step.keep(tensor, g)          stores tensor's complete gradient g as tensor.grad
      step.through(tensor._ctx, g)  for a tensor an op made: runs that op's backward and
                                    returns one gradient per input in ctx.inputs (None for
                                    an input that needs none), already in that input's
                                    shape and dtype
    A tensor used by several ops receives a gradient from each: add them up, with `a + b`
    (a new array; never `+=`, since an op may send one array to two inputs)."""
    # BEGIN SOLUTION task1_4: the backward pass: send each node's gradient to its inputs
    pending = {id(root): grad}  # gradients received so far, keyed by tensor identity
    for tensor in order:
        g = pending.pop(id(tensor), None)
        if g is None:
            continue  # nothing reaches this tensor from root
        step.keep(tensor, g)
        if tensor._ctx is None:
            continue  # a leaf: the gradient stops here
        grads = step.through(tensor._ctx, g)
        for parent, parent_grad in zip(tensor._ctx.inputs, grads):
            if parent_grad is None:
                continue
            received = pending.get(id(parent))
            pending[id(parent)] = parent_grad if received is None else received + parent_grad
    # END SOLUTION


# ---- backward() and its helpers -------------------------------------------------------

def backward(root, grad=None, retain_graph=False, intermediate_grads=True):
    """Backpropagate from `root`, accumulating into the `.grad` of every tensor on the way.

    intermediate_grads=False keeps .grad on leaves (parameters, inputs) only, as PyTorch
    does: less memory for a training loop that never looks at the others."""
    grad = checks.first_gradient(root, grad)
    order = topological_order(root)
    checks.check_graph(order)  # before touching any .grad: a refused backward changes nothing
    step = Bookkeeper(retain_graph, intermediate_grads)
    try:
        for tool in step.tools:
            tool.on_backward_begin(root, order)
        backpropagate(root, grad, order, step)
    except bdb.BdbQuit as quit:
        _stopped_in_the_debugger(quit, step, order)


class BackwardStopped(RuntimeError):
    """backward() was stopped part-way (the learner quit the debugger): gradients are
    incomplete."""


def _stopped_in_the_debugger(quit, step, order):
    """`q` in pdb inside an op's backward: say once that the gradients are incomplete. Under
    `python -m pdb` the quit goes on to pdb, which ends the program quietly; at a
    mg.break_on stop, nothing outside would catch it, so it becomes one clear error."""
    op = step.current.fn.name if step.current is not None else "an op"
    message = (f"backward stopped: you quit the debugger in {op}.backward, so the gradients "
               f"are incomplete ({step.kept} of {len(order)} tensors got theirs, some only "
               "in part). For complete ones, run the forward pass and backward again (or "
               "pass retain_graph=True to backward, to keep the graph for another try).")
    if getattr(quit, "from_break_on", False):
        raise BackwardStopped(message) from None
    print(message, file=sys.stderr)
    raise quit


_ACCUMULATING = threading.Lock()


class Bookkeeper:
    """What backpropagate() calls for each node: everything but the chain rule itself."""

    def __init__(self, retain_graph=False, intermediate_grads=True):
        self.retain_graph = retain_graph
        self.intermediate_grads = intermediate_grads
        self.tools = hooks.active()
        self.current = None  # the node whose backward runs (named if backward is stopped)
        self.kept = 0  # how many tensors got their complete gradient so far

    def keep(self, tensor, grad):
        """Store `grad`, the complete gradient of `tensor`, in tensor.grad.

        Every tensor keeps its gradient, leaf or not, so any node can be inspected (unless
        intermediate_grads=False). A leaf gets its own copy, because optimizers and users
        edit leaf grads in place and an op may pass one array to several inputs."""
        if not tensor._requires_grad:
            return  # a constant, or an integer tensor: it has no gradient
        self.kept += 1
        if type(grad) is not np.ndarray or grad.dtype is not tensor._data.dtype:
            # The sum of two 0-d arrays is a NumPy scalar; a sum started from float64 zeros
            # is float64: .grad always has the tensor's dtype.
            grad = np.asarray(grad, dtype=tensor._data.dtype)
        # Threads may run backward into one shared leaf at once: reading .grad and writing
        # the sum back is one step, or two threads' gradients can overwrite each other.
        with _ACCUMULATING:
            if tensor.grad is not None:
                checks.check_can_add(tensor, grad)
                tensor.grad = np.asarray(tensor.grad + grad).astype(tensor._data.dtype,
                                                                    copy=False)
            elif tensor._ctx is None:
                tensor.grad = np.array(grad)  # a leaf gets a private, writable copy
            elif self.intermediate_grads:
                tensor.grad = grad if grad.flags.writeable else np.array(grad)

    def through(self, ctx, grad) -> list:
        """Run ctx's backward on `grad`; one gradient per input, each in its input's shape
        and dtype (None where the input needs none). Frees the node unless retain_graph."""
        if type(grad) is not np.ndarray:
            grad = np.asarray(grad)
        self.current = ctx
        try:
            grads = ctx.fn.backward(ctx, grad)
        except bdb.BdbQuit:
            raise  # `q` in the debugger: not a failure of the op (see backward())
        except Exception as error:
            raise checks.backward_failed(ctx, grad, error) from error
        sent = checks.as_gradients(ctx, grads)
        for i, parent in enumerate(ctx.inputs):
            g = sent[i]
            if g is None:
                continue
            if parent is None or not parent._requires_grad:
                sent[i] = None  # a constant, or an input that needs no gradient
            elif (type(g) is not np.ndarray or g.shape != parent._data.shape
                  or g.dtype is not parent._data.dtype):
                sent[i] = checks.fit(ctx, i, parent, g)  # summed to its shape, in its dtype
        tools = self.tools
        if tools:
            for tool in tools:
                tool.on_backward(ctx, grad, sent)
        if not self.retain_graph:
            ctx.free()
        return sent
