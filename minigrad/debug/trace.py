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

import html
import json
import warnings
from dataclasses import dataclass, field

import numpy as np

from minigrad import hooks
from minigrad.autograd import topological_order
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
        """One self-contained HTML page (no server, no network) stepping through backward:
        one drawing of the graph, restyled at each step (the op that just ran highlighted,
        tensors whose gradient is not known yet faded), so the page stays small."""
        from minigrad.debug.viz import _collect, draw, render_bytes

        if self.root is None:
            raise RuntimeError("trace_backward: nothing was recorded; call backward() inside it")
        known = {}
        for changed in self._updates:
            known.update(changed)
        svg = render_bytes(draw(self.root, grads=known, **draw_options).source, "svg")
        svg = svg.decode("utf-8")
        svg = svg[svg.index("<svg"):]  # drop the XML prolog: the SVG is inlined
        node = {id(t): f"t{k}" for k, t in enumerate(_collect(self.root))}
        needing = [node[id(t)] for t in topological_order(self.root)
                   if t.requires_grad and id(t) in node]
        frames = []
        for k, changed in enumerate(self._updates):
            current = self._tensors[k - 1] if k else self.root
            frames.append({
                "node": node.get(id(current)),
                "op": "op" + node[id(current)][1:] if k and id(current) in node else None,
                "new": [node[i] for i, _ in changed if i in node],
                "caption": _caption(self.steps[k - 1]) if k else
                "Frame 0: backward starts from the output's gradient (1 for a loss).",
            })
        page = _PAGE.replace("{{SVG}}", svg)
        page = page.replace("{{FRAMES}}", json.dumps(frames).replace("</", "<\\/"))
        page = page.replace("{{NEEDING}}", json.dumps(needing))
        page = page.replace("{{TABLE}}", html.escape(self.table()))
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
        return path


def _caption(step: Step) -> str:
    sent = "; ".join(f"input {x.input_index} ({x.to}) gets a gradient of shape {x.shape}, "
                     f"norm {x.norm:.3g}" for x in step.sent)
    return (f"Step {step.index}: {step.op}.backward. The gradient arriving at "
            f"'{step.output}' has shape {step.grad_shape}, norm {step.grad_norm:.3g}. "
            f"{sent or 'No input needs a gradient.'}")


def trace_backward() -> BackwardTrace:
    """Record the next backward() calls made inside `with mg.trace_backward() as t:`."""
    return BackwardTrace()


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>minigrad: stepping through backward</title>
<style>
 body { font-family: Helvetica, Arial, sans-serif; margin: 1em; }
 #graph svg { max-width: 100%; height: auto; }
 #graph .pending { opacity: 0.25; }
 #graph .current polygon, #graph .current ellipse, #graph .current path { fill: #ffd54f; }
 #caption { background: #fff8e1; padding: .5em; border-left: 4px solid #ffb300; }
 button { font-size: 1em; margin-right: .3em; }
 pre { font-size: 12px; background: #f5f5f5; padding: .5em; overflow-x: auto; }
</style></head><body>
<h2>Stepping through backward</h2>
<p>Each step runs one node's backward, in the order the engine ran them. The op that just
ran is highlighted; tensors whose gradient is not known yet are faded, and each box shows
the gradient it ends up with. Keys: &larr; and &rarr; step, Home and End jump.</p>
<div><button id="first">first</button><button id="prev">&larr; previous</button>
<button id="next">next &rarr;</button><button id="last">last</button>
<span id="counter"></span></div>
<p id="caption"></p>
<div id="graph">{{SVG}}</div>
<details><summary>All steps as a table</summary><pre>{{TABLE}}</pre></details>
<script>
(function () {
  var frames = {{FRAMES}}, needing = {{NEEDING}}, current = 0, nodes = {};
  document.querySelectorAll("#graph g.node").forEach(function (g) {
    var title = g.querySelector("title");
    if (title) nodes[title.textContent] = g;
  });
  function show(k) {
    current = Math.max(0, Math.min(frames.length - 1, k));
    var known = {};
    for (var i = 0; i <= current; i++) frames[i].new.forEach(function (n) { known[n] = true; });
    var pending = 0;
    needing.forEach(function (n) {
      if (!nodes[n]) return;
      nodes[n].classList.toggle("pending", !known[n]);
      if (!known[n]) pending++;
    });
    Object.keys(nodes).forEach(function (n) { nodes[n].classList.remove("current"); });
    [frames[current].node, frames[current].op].forEach(function (n) {
      if (n && nodes[n]) nodes[n].classList.add("current");
    });
    document.body.setAttribute("data-frame", current);
    document.body.setAttribute("data-pending", pending);
    document.getElementById("caption").textContent = frames[current].caption;
    document.getElementById("counter").textContent =
      "frame " + current + " of " + (frames.length - 1);
    var marked = nodes[frames[current].node];  // bring it into view in a tall graph
    if (marked && marked.scrollIntoView) marked.scrollIntoView({block: "center"});
  }
  document.getElementById("first").onclick = function () { show(0); };
  document.getElementById("prev").onclick = function () { show(current - 1); };
  document.getElementById("next").onclick = function () { show(current + 1); };
  document.getElementById("last").onclick = function () { show(frames.length - 1); };
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight") show(current + 1);
    if (e.key === "ArrowLeft") show(current - 1);
    if (e.key === "Home") show(0);
    if (e.key === "End") show(frames.length - 1);
  });
  show(0);
})();
</script></body></html>
"""
