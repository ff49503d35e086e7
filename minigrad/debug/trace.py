"""Step through backward: record each node it visits, then print, draw or replay the steps.

    with mg.trace_backward() as trace:
        loss.backward()
    print(trace)                          # one row per node, in the order backward ran them
    frames = trace.frames()               # one graph per step, that step's node highlighted
    trace.to_html("backprop.html")        # a page that steps through them (buttons, arrows)

Step k is one node's backward: the gradient that arrived at the op's output (complete by
then, which is what the topological order guarantees), and the gradient the op sent to each
of its inputs. Frame k draws the graph with the gradients known after step k, so reading the
frames in order shows gradients flowing from the output back to the parameters.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from minigrad import hooks
from minigrad.debug.sources import user_stacklevel


def _norm(array) -> float:
    return float(np.sqrt(np.sum(np.asarray(array, dtype=np.float64) ** 2)))


def _label(tensor) -> str:
    """A parameter's or user's name, else the op that made it and the module it ran in."""
    if tensor is None:
        return "-"
    if tensor.name:
        return tensor.name
    if tensor._ctx is None:
        return "input"
    module = getattr(tensor._ctx.note("module"), "path", "")
    return f"{module}: {tensor._ctx.fn.name}" if module else f"{tensor._ctx.fn.name} output"


@dataclass
class Sent:
    """The gradient one node sent to one of its inputs."""
    input_index: int
    to: str  # the input's label
    shape: tuple
    norm: float


@dataclass
class Step:
    index: int
    op: str
    output: str  # label of the tensor whose gradient arrived
    grad_shape: tuple
    grad_norm: float
    sent: list = field(default_factory=list)
    source: str | None = None
    node: tuple = field(default=None, repr=False, compare=False)  # (ctx, incoming grad)

    def explain(self):
        """Why this step's op sent what it sent (mg.explain for this node)."""
        from minigrad.debug.explain import explain_node

        return explain_node(*self.node)


class BackwardTrace(hooks.Tool):
    """Context manager that records every node visited by backward() inside it."""

    def __init__(self):
        self.steps: list = []
        self.root = None
        self._tensors: list = []  # the output tensor of each step
        self._known: dict = {}  # id(tensor) -> gradient so far
        # What each frame changed: [(id(tensor), its gradient so far)], frame 0 the output's.
        # Replaying them gives the gradients known at any frame, in time and memory linear
        # in the graph (a copy of the whole table per step would be quadratic).
        self._updates: list = []
        self._made_by: dict = {}  # id(ctx) -> the tensor it produced, for this backward
        self._recording = False
        self._ignored = 0  # later backward() calls, not recorded

    def __enter__(self):
        hooks.add(self)
        return self

    def __exit__(self, *exc):
        hooks.remove(self)
        return False

    def on_backward_begin(self, root, order):
        if self.root is not None:
            if not self._ignored:
                warnings.warn("trace_backward records one backward() call; a later one in "
                              "the same block was not recorded", stacklevel=user_stacklevel())
            self._ignored += 1
            self._recording = False
            return
        self.root = root
        self._made_by = {id(t._ctx): t for t in order if t._ctx is not None}
        self._recording = True

    def on_backward(self, ctx, grad, grads):
        if not self._recording:
            return
        tensor = self._made_by[id(ctx)]
        if not self._updates:
            self._updates.append([(id(tensor), grad)])  # frame 0: only the output's
        self._known[id(tensor)] = grad
        changed = [(id(tensor), grad)]
        self._tensors.append(tensor)
        step = Step(len(self.steps) + 1, ctx.fn.name, _label(tensor), grad.shape,
                    _norm(grad), source=ctx.note("source"), node=(ctx, grad))
        for i, (parent, g) in enumerate(zip(ctx.inputs, grads)):
            if g is None:
                continue
            previous = self._known.get(id(parent))
            self._known[id(parent)] = g if previous is None else previous + g
            changed.append((id(parent), self._known[id(parent)]))
            step.sent.append(Sent(i, _label(parent), g.shape, _norm(g)))
        self.steps.append(step)
        self._updates.append(changed)

    def _known_at_each_frame(self):
        """The gradients known at frame 0, 1, ...: one dict, updated in place between
        yields (read it before asking for the next frame)."""
        known = {}
        for changed in self._updates:
            known.update(changed)
            yield known

    # ---- reading the record --------------------------------------------------------------

    def table(self) -> str:
        """The steps as a text table: step, op, the gradient that arrived; under each step,
        one line per input it sent a gradient to (so the table stays narrow)."""
        rows = [("step", "op", "gradient arriving at", "shape", "norm")]
        sent = [[]]
        for s in self.steps:
            rows.append((str(s.index), s.op, s.output, str(s.grad_shape), f"{s.grad_norm:.3g}"))
            sent.append([f"-> [{x.input_index}] {x.to} {x.shape} |{x.norm:.3g}|"
                         for x in s.sent] or ["-> (no input needs a gradient)"])
        widths = [max(len(row[c]) for row in rows) for c in range(5)]
        lines = []
        for row, outgoing in zip(rows, sent):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
            lines += [" " * (widths[0] + 2) + text for text in outgoing]
        lines.insert(1, "-" * max(len(line) for line in lines[:1]))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def ignored_passes(self) -> int:
        """How many further backward() calls ran inside the block, unrecorded."""
        return self._ignored

    def frames(self, **draw_options) -> list:
        """Graphs: frame 0 before any step, frame k after step k, with its node highlighted."""
        from minigrad.debug.viz import draw

        if self.root is None:
            raise RuntimeError("trace_backward: nothing was recorded; call backward() inside it")
        graphs = []
        for k, known in enumerate(self._known_at_each_frame()):
            highlight = [self._tensors[k - 1]] if k > 0 else [self.root]
            graphs.append(draw(self.root, grads=known, highlight=highlight, **draw_options))
        return graphs

    def to_html(self, path: str, **draw_options) -> str:
        """One self-contained HTML page (no server, no network) stepping through backward;
        see page.py."""
        from minigrad.debug.page import write_page

        if self.root is None:
            raise RuntimeError("trace_backward: nothing was recorded; call backward() inside it")
        return write_page(self, path, **draw_options)


def trace_backward() -> BackwardTrace:
    """Record the next backward() calls made inside `with mg.trace_backward() as t:`."""
    return BackwardTrace()
