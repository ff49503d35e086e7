"""break_on: stop in pdb at the first line of an op's backward, every time it runs.

    loss.backward(break_on="softmax")   # an op's class, class name or op name, or a list

At the prompt, `p grad.shape` shows the gradient arriving at the op's output, `p ctx.saved_arrays`
what its forward kept, `n` steps through the backward line by line, `c` continues.
"""

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
        print(f"--- break_on={self.ops!r}: stopping in {ctx.fn.__name__}.backward "
              f"(incoming gradient {grad.shape}){ctx.where()}; 'c' continues ---")
        import pdb  # here, not at the top: importing pdb costs every `import minigrad`

        grads = pdb.Pdb().runcall(ctx.fn.backward, ctx, grad)
        return grads if grads is not None else (None,)


hooks.provide("break_on", BreakOn)
