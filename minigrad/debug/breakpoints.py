"""break_on: stop in pdb at the first line of an op's backward, every time it runs.

    with mg.break_on("softmax"):   # an op's class, class name or op name, or a list
        loss.backward()

A tool like the others: when backward begins, it marks the nodes of the named ops, and
when the engine calls a marked node's backward, it stops there. Under VS Code's debugger
(debugpy), pdb cannot run (both want sys.settrace): the editor stops on the line that
calls the op's backward instead, and Step Into enters it.

At the prompt, `explain` shows why this op sends what it sends (its formula, its local
Jacobian and J^T . grad; see explain.py), `p grad.shape` the gradient arriving at the op's
output, `p ctx` the op, its inputs and where it was created, `p ctx.saved_arrays` what its
forward kept; `n` steps through the backward line by line, `up` walks to the engine loop
and on to your `loss.backward()` line, `c` continues, and `q` stops backward with a
BackwardStopped error (the gradients are then incomplete).
"""

import contextlib
import sys
import warnings

from minigrad import hooks
from minigrad.debug.sources import user_stacklevel


class BreakOn(hooks.Tool):
    """Marks the nodes of the named ops when backward begins; stops in each one's backward."""

    def __init__(self, ops):
        self.ops = ops
        self.marked = []  # (ctx, its op): put back when the block ends

    def matches(self, ctx) -> bool:
        """Whether the op of `ctx` is one that break_on names (class, class name or op name)."""
        wanted = self.ops if isinstance(self.ops, (list, tuple, set)) else [self.ops]
        for item in wanted:
            if item is ctx.fn:
                return True
            if isinstance(item, str) and item.lower() in (ctx.fn.__name__.lower(), ctx.fn.name):
                return True
        return False

    def on_backward_begin(self, root, order):
        nodes = [t._ctx for t in order if t._ctx is not None]
        matched = [ctx for ctx in nodes if self.matches(ctx)]
        if not matched:
            ops = sorted({ctx.fn.__name__ for ctx in nodes})
            warnings.warn(f"backward: break_on={self.ops!r} matches no op of this graph; its "
                          f"ops are {ops}", stacklevel=user_stacklevel())
        for ctx in matched:
            # The node's op, for this backward only, is one whose backward stops first.
            self.marked.append((ctx, ctx.fn))
            ctx.fn = _stopping(ctx.fn, self)

    def unmark(self):
        for ctx, op in self.marked:
            ctx.fn = op
        self.marked.clear()

    def stop_in(self, op, ctx, grad):
        """Run `op`'s backward for `ctx` under the debugger, stopped at its first line."""
        ctx.fn = op  # the node is itself again: explain, `p ctx` and errors see the op
        ide = _ide_debugger()
        if ide is not None:
            return _stop_in_the_ide(ide, ctx, grad)
        import bdb  # here, not at the top: importing pdb costs every `import minigrad`

        print(f"--- break_on={self.ops!r}: stopping in {op.__name__}.backward "
              f"(incoming gradient {grad.shape}){ctx.where()}. 'explain' shows why it sends "
              "what it sends, 'p ctx' the op, 'up' walks to the engine and to your "
              "backward() line, 'c' continues, 'q' stops backward ---")
        debugger = _Debugger()
        debugger.node = (ctx, grad)
        code = op.backward.__code__
        # A one-time breakpoint at the backward's first line, with tracing started from
        # the outermost frame: so the stop has the whole stack (where, up) above it.
        debugger.set_break(code.co_filename, code.co_firstlineno, temporary=True,
                           funcname=code.co_name)
        previous = sys.gettrace()
        _trace_all_frames(debugger, sys._getframe())
        try:
            return op.backward(ctx, grad)
        except bdb.BdbQuit as quit:
            quit.from_break_on = True  # the engine turns it into one clear error
            raise
        finally:
            sys.settrace(previous)
            debugger.clear_all_breaks()


@contextlib.contextmanager
def break_on(ops):
    """Inside the block, every backward stops in pdb at the first line of the named ops'
    backward (an op's class, its class name or op name, e.g. "Softmax" or "matmul", or a
    list of them), each time it runs."""
    tool = BreakOn(ops)
    try:
        with hooks.using(tool):
            yield tool
    finally:
        tool.unmark()


def _stopping(op, tool):
    """A subclass of `op` whose backward stops in the debugger, then runs op's own."""
    def backward(ctx, grad):
        return tool.stop_in(op, ctx, grad)

    return type(op.__name__, (op,), {"backward": staticmethod(backward),
                                     "__doc__": op.__doc__, "__module__": op.__module__})


def _ide_debugger():
    """debugpy (VS Code's debugger) when one is attached to this process, else None: pdb
    cannot run under it (both want sys.settrace), so the stop is the IDE's."""
    debugpy = sys.modules.get("debugpy")
    try:
        return debugpy if debugpy is not None and debugpy.is_client_connected() else None
    except Exception:  # an old or partial debugpy: use pdb
        return None


def _stop_in_the_ide(debugpy, ctx, grad):
    """Stop in the editor on the op's backward call, then step into it: the editor shows
    the backward's first line, as pdb does in a terminal."""
    print(f"--- break_on={ctx.fn.name!r}: stopped on the call of {ctx.fn.__name__}.backward "
          f"(incoming gradient {grad.shape}){ctx.where()}; Step Into (F11) enters it ---")
    debugpy.breakpoint()
    return ctx.fn.backward(ctx, grad)  # Step Into (F11) here enters the op's backward


def _debugger_class():
    import pdb

    class Debugger(pdb.Pdb):
        """pdb, without announcing that our one-time breakpoint was used up."""

        node = None  # (ctx, grad) of the op whose backward this stop is in

        def message(self, msg):
            if not str(msg).startswith("Deleted breakpoint"):
                super().message(msg)

        def do_explain(self, arg):
            """explain
            Why the op of this stop sends what it sends: its formula, inputs, the gradient
            that arrived, each input's local Jacobian and J^T . grad (mg.explain)."""
            from minigrad.debug.explain import explain_node

            if self.node is None:
                self.error("explain: not stopped in an op's backward")
                return
            try:
                self.message(str(explain_node(*self.node)))
            except Exception as error:  # a backward that fails: say so, stay at the prompt
                self.error(f"explain: {type(error).__name__}: {error}")
    return Debugger


def _Debugger():
    return _debugger_class()()


def _trace_all_frames(debugger, frame):
    """Like Bdb.set_trace, but run on to the breakpoint instead of stopping right here."""
    debugger.reset()
    while frame is not None:
        frame.f_trace = debugger.trace_dispatch
        debugger.botframe = frame
        frame = frame.f_back
    debugger.set_continue()
    sys.settrace(debugger.trace_dispatch)
