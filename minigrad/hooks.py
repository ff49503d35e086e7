"""The one seam between the engine and the tools: a per-thread list of active tool objects.

The engine (function.py, autograd.py) knows nothing about drawings, anomaly mode or pdb.
It only calls the tools that are active on the current thread, at three points:

    on_forward(ctx, arrays, result)   after every op's forward; ctx.recorded says whether
                                      the node joined the graph (ctx.fn, ctx.inputs and
                                      ctx.attrs are always set)
    on_backward_begin(root, order)    when backward() starts, with the nodes it will visit
                                      (break_on marks the ones to stop in; trace numbers them)
    on_backward(ctx, grad, grads)     after a node's backward: the gradient that arrived
                                      and, per input, the gradient sent to it (unbroadcast,
                                      in the input's dtype; None where none was sent)

With no tool switched on, the list is empty and the engine pays one falsy check per op
and per node. A tool keeps what it learns about a node in `ctx.notes` (a dict, made on
first use).

Besides the tools, the seam holds one more per-thread thing: the module whose forward is
running (`enter_module`, set by Module.__call__). Each op recorded meanwhile notes it
(ctx.note("module")), so a drawing made later can box a layer's ops together and the
step-through table can say `attn.q_proj: matmul`, with no tool active while the model ran.

    class CountOps(Tool):
        def __init__(self):
            self.count = 0

        def on_forward(self, ctx, arrays, result):
            self.count += 1

    counter = CountOps()
    with using(counter):
        y = (x * 2).exp()
    counter.count  # 2
"""

import contextlib
import threading


class Tool:
    """Base class of the engine's tools: override the calls you need, the rest do nothing."""

    def on_forward(self, ctx, arrays, result):
        pass

    def on_backward_begin(self, root, order):
        pass

    def on_backward(self, ctx, grad, grads):
        pass


class _Active(threading.local):
    """Per-thread state: each thread starts with no tools and no module (class defaults)."""

    tools: tuple = ()
    modules: tuple = ()  # the Modules whose forward is running, outermost first


_active = _Active()


def active() -> tuple:
    """The tools active on this thread, outermost first (empty in a normal run)."""
    return _active.tools


def add(tool: Tool) -> None:
    """Make `tool` active on this thread until `remove(tool)`."""
    _active.tools = _active.tools + (tool,)  # a new tuple: a loop over the old one is safe


def remove(tool: Tool) -> None:
    tools = list(_active.tools)
    tools.remove(tool)
    _active.tools = tuple(tools)


def enter_module(module) -> None:
    """Module.__call__ runs `module`'s forward: ops recorded until exit_module note it."""
    _active.modules = _active.modules + (module,)


def exit_module(module) -> None:
    _active.modules = _active.modules[:-1]


def current_module():
    """The innermost Module whose forward is running on this thread, or None."""
    modules = _active.modules
    return modules[-1] if modules else None


@contextlib.contextmanager
def using(tool: Tool):
    """`with using(tool): ...` makes `tool` active on this thread inside the block."""
    add(tool)
    try:
        yield tool
    finally:
        remove(tool)
