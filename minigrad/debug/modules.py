"""Which module ran each op: Module.__call__ enters a scope, and every op recorded inside it
notes the innermost module (ctx.note("module")), so drawings can box a layer's ops
together and the step-through table can say `attn.q_proj: matmul`.
"""

import threading

from minigrad import hooks


class ModuleStack(hooks.Tool):
    """Active while some Module's forward runs on this thread; notes the innermost one."""

    def __init__(self):
        self.stack = []

    def on_forward(self, ctx, arrays, result):
        if ctx.recorded:
            ctx.add_note("module", self.stack[-1])


class _PerThread(threading.local):
    def __init__(self):
        self.tool = ModuleStack()


_state = _PerThread()


def enter_module(module) -> None:
    tool = _state.tool
    if not tool.stack:
        hooks.add(tool)
    tool.stack.append(module)


def exit_module(module) -> None:
    tool = _state.tool
    tool.stack.pop()
    if not tool.stack:
        hooks.remove(tool)
