"""break_on: stop in pdb at the first line of an op's backward, every time it runs.

    loss.backward(break_on="softmax")   # an op's class, class name or op name, or a list

Under VS Code's debugger (debugpy), pdb cannot run (both want sys.settrace): the editor
stops on the line that calls the op's backward instead, and Step Into enters it.

At the prompt, `explain` shows why this op sends what it sends (its formula, its local
Jacobian and J^T . grad; see explain.py), `p grad.shape` the gradient arriving at the op's
output, `p ctx` the op, its inputs and where it was created, `p ctx.saved_arrays` what its
forward kept; `n`
steps through the backward line by line, `up` walks to the engine loop and on to your
`loss.backward()` line, `c` continues, and `q` stops backward with a BackwardStopped error
(the gradients are then incomplete).
"""

import sys
import warnings

from minigrad import hooks
from minigrad.debug.sources import user_stacklevel


class BreakOn(hooks.Tool):
    """Runs the backward of the named ops under pdb."""

    def __init__(self, ops):
        self.ops = ops

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
        if not any(t._ctx is not None and self.matches(t._ctx) for t in order):
            ops = sorted({t._ctx.fn.__name__ for t in order if t._ctx is not None})
            warnings.warn(f"backward: break_on={self.ops!r} matches no op of this graph; its "
                          f"ops are {ops}", stacklevel=user_stacklevel())

    def run_backward(self, ctx, grad):
        if not self.matches(ctx):
            return None
        ide = _ide_debugger()
        if ide is not None:
            return _stop_in_the_ide(ide, ctx, grad)
        import bdb  # here, not at the top: importing pdb costs every `import minigrad`

        print(f"--- break_on={self.ops!r}: stopping in {ctx.fn.__name__}.backward "
              f"(incoming gradient {grad.shape}){ctx.where()}. 'explain' shows why it sends "
              "what it sends, 'p ctx' the op, 'up' walks to the engine and to your "
              "backward() line, 'c' continues, 'q' stops backward ---")
        debugger = _Debugger()
        debugger.node = (ctx, grad)
        code = ctx.fn.backward.__code__
        # A one-time breakpoint at the backward's first line, with tracing started from
        # the outermost frame: so the stop has the whole stack (where, up) above it.
        debugger.set_break(code.co_filename, code.co_firstlineno, temporary=True,
                           funcname=code.co_name)
        previous = sys.gettrace()
        _trace_all_frames(debugger, sys._getframe())
        try:
            grads = ctx.fn.backward(ctx, grad)
        except bdb.BdbQuit as quit:
            quit.from_break_on = True  # the engine turns it into one clear error
            raise
        finally:
            sys.settrace(previous)
            debugger.clear_all_breaks()
        return grads if grads is not None else (None,)


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
    grads = ctx.fn.backward(ctx, grad)  # Step Into (F11) here enters the op's backward
    return grads if grads is not None else (None,)


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


hooks.provide("break_on", BreakOn)
