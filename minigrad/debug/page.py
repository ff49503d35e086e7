"""The step-through page: one self-contained HTML file (no server, no network) that replays
a recorded backward (trace.py) node by node.

It opens on the whole model with each module folded into one box (a click on a box shows
that module's ops). Stepping (buttons, arrow keys) restyles one full drawing of the graph:
the op that just ran highlighted, tensors whose gradient is not known yet faded, the view
following the current node at a legible size (drag to pan, wheel to zoom). Beside it, the
gradient that arrived, as a small heatmap, and the node's mg.explain text. The page holds
two drawings and the frames' data, so it stays small.
"""

import html
import json
import re

import numpy as np

from minigrad.autograd import topological_order
from minigrad.debug.viz import _collect, _module_path, _truncate, draw, render_bytes

FOLD_DEPTH = 2  # the overview folds modules at this many dotted levels (blocks.0)


def _inline_svg(graph) -> str:
    """A drawing as SVG to inline in the page (the XML prolog dropped)."""
    svg = render_bytes(graph.source, "svg").decode("utf-8")
    return svg[svg.index("<svg"):]


def write_page(trace, path: str, **draw_options) -> str:
    """Write the page for a recorded `trace` to `path`; returns the path."""
    known = {}
    for changed in trace._updates:
        known.update(changed)
    svg = _inline_svg(draw(trace.root, grads=known, **draw_options))
    # The overview the page opens with: each module folded into one box; a click on a box
    # shows that module's ops in the full drawing.
    folded = _inline_svg(draw(trace.root, grads=known, modules="collapse", depth=FOLD_DEPTH))
    tensors = _collect(trace.root)
    node = {id(t): f"t{k}" for k, t in enumerate(tensors)}  # as viz names them
    members = {}  # module path at FOLD_DEPTH -> its nodes in the full drawing
    for tensor in tensors:
        module = _truncate(_module_path(tensor), FOLD_DEPTH)
        if module:
            members.setdefault(module, []).append(node[id(tensor)])
    needing = [node[id(t)] for t in topological_order(trace.root)
               if t.requires_grad and id(t) in node]
    frames = []
    for k, changed in enumerate(trace._updates):
        current = trace._tensors[k - 1] if k else trace.root
        frames.append({
            "node": node.get(id(current)),
            "op": "op" + node[id(current)][1:] if k and id(current) in node else None,
            "new": [node[i] for i, _ in changed if i in node],
            "caption": _caption(trace.steps[k - 1]) if k else
            "Frame 0: backward starts from the output's gradient (1 for a loss).",
            "explain": _explained(trace.steps[k - 1]) if k else None,
            "grad": _heatmap(trace.steps[k - 1].node[1]) if k else None,
        })
    page = _PAGE.replace("{{SVG}}", svg).replace("{{FOLDED}}", folded)
    page = page.replace("{{MEMBERS}}", json.dumps(members))
    page = page.replace("{{FRAMES}}", json.dumps(frames).replace("</", "<\\/"))
    page = page.replace("{{NEEDING}}", json.dumps(needing))
    sizes = re.findall(r'font-size="([\d.]+)"', svg)
    page = page.replace("{{FONT}}", str(max(map(float, sizes)) if sizes else 14.0))
    page = page.replace("{{TABLE}}", html.escape(trace.table()))
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def _explained(step) -> str:
    """The step's explain text, as mg.explain prints it (or why there is none)."""
    try:
        return str(step.explain())
    except Exception as error:  # an op whose forward cannot run again: say so, go on
        return f"(this node cannot be explained: {type(error).__name__}: {error})"


def _heatmap(grad, most: int = 8) -> dict:
    """The gradient as a small table for the page: its last two axes (at most 8 x 8) of the
    first slice of the others, with its shape."""
    grad = np.asarray(grad, dtype=np.float64)
    table = grad.reshape((1,) * max(0, 2 - grad.ndim) + grad.shape)
    table = table[(0,) * (table.ndim - 2)][:most, :most]
    shown = "all of it" if table.size == grad.size else (
        f"the first {table.shape[0]} x {table.shape[1]} values"
        + (" of its first slice" if grad.ndim > 2 else ""))
    return {"shape": list(grad.shape), "rows": table.shape[0], "cols": table.shape[1],
            "values": [float(v) for v in table.reshape(-1)],
            "note": f"Showing {shown}; red is positive, blue negative."}


def _caption(step) -> str:
    sent = "; ".join(f"input {x.input_index} ({x.to}) gets a gradient of shape {x.shape}, "
                     f"norm {x.norm:.3g}" for x in step.sent)
    return (f"Step {step.index}: {step.op}.backward. The gradient arriving at "
            f"'{step.output}' has shape {step.grad_shape}, norm {step.grad_norm:.3g}. "
            f"{sent or 'No input needs a gradient.'}")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>minigrad: stepping through backward</title>
<style>
 html, body { height: 100%; margin: 0; font-family: Helvetica, Arial, sans-serif; }
 body { display: flex; flex-direction: column; }
 #bar { flex: none; padding: .4em .8em; background: #fafafa; border-bottom: 1px solid #ddd; }
 #bar button { font-size: 14px; margin-right: .3em; }
 #caption { margin: .4em 0 0; background: #fff8e1; padding: .4em;
            border-left: 4px solid #ffb300; font-size: 14px; }
 #main { flex: 1; display: flex; min-height: 0; }
 #view { flex: 1; overflow: hidden; cursor: grab; background: white; position: relative; }
 #graph, #graph svg, #folded, #folded svg { width: 100%; height: 100%; display: block; }
 #folded g.node { cursor: pointer; }
 body.overview #graph, body:not(.overview) #folded { display: none; }
 #graph .pending { opacity: 0.25; }
 #graph .current polygon, #graph .current ellipse, #graph .current path { fill: #ffd54f; }
 #side { flex: none; width: 38%; max-width: 560px; overflow: auto; padding: .5em .8em;
         border-left: 1px solid #ddd; font-size: 13px; }
 #side pre { font-size: 12px; background: #f5f5f5; padding: .5em; overflow-x: auto; }
 #heat td { width: 2.2em; height: 1.4em; font-size: 10px; text-align: center; }
 .hint { color: #666; font-size: 12px; }
</style></head><body>
<div id="bar">
 <strong>Stepping through backward</strong>
 <button id="first">first</button><button id="prev">&larr; previous</button>
 <button id="next">next &rarr;</button><button id="last">last</button>
 <button id="fit">whole graph</button><button id="fold">modules folded</button>
 <span id="counter"></span>
 <span class="hint">&larr; &rarr; step, Home/End jump; drag to pan, wheel to zoom.</span>
 <p id="caption"></p>
</div>
<div id="main">
 <div id="view"><div id="folded">{{FOLDED}}</div><div id="graph">{{SVG}}</div></div>
 <div id="side">
  <div id="gradient"></div>
  <h4>Why this node sent what it sent</h4>
  <pre id="explain"></pre>
  <details><summary>All steps as a table</summary><pre>{{TABLE}}</pre></details>
 </div>
</div>
<script>
(function () {
  var frames = {{FRAMES}}, needing = {{NEEDING}}, members = {{MEMBERS}}, current = 0;
  var nodes = {}, view = document.getElementById("view");
  var overview = document.querySelector("#folded svg");
  var detail = document.querySelector("#graph svg");
  [overview, detail].forEach(function (s) {
    s.removeAttribute("width"); s.removeAttribute("height");
    s.setAttribute("preserveAspectRatio", "none");
  });
  function extent(s) { var v = s.viewBox.baseVal; return [v.x, v.y, v.width, v.height]; }
  var svg = detail, whole = extent(detail), box = whole.slice();
  var saved = {detail: whole.slice(), overview: extent(overview)};
  function use(folded) {  // show the overview (modules folded) or the full drawing
    if ((svg === overview) === folded) return;
    saved[svg === overview ? "overview" : "detail"] = box.slice();
    svg = folded ? overview : detail;
    whole = extent(svg);
    box = saved[folded ? "overview" : "detail"].slice();
    document.body.classList.toggle("overview", folded);
  }
  var FONT = {{FONT}}, LEGIBLE = 12;  // the drawing's font size (its units), px wanted
  document.querySelectorAll("#graph g.node").forEach(function (g) {
    var title = g.querySelector("title");
    if (title) nodes[title.textContent] = g;
  });
  function apply() {  // keep the box's aspect the view's, so units map to px uniformly
    var r = view.getBoundingClientRect();
    box[3] = box[2] * r.height / Math.max(r.width, 1);
    svg.setAttribute("viewBox", box.join(" "));
  }
  function scale() { return view.getBoundingClientRect().width / box[2]; }
  function toUnits(clientX, clientY) {
    var r = view.getBoundingClientRect();
    return [box[0] + (clientX - r.left) / scale(), box[1] + (clientY - r.top) / scale()];
  }
  function center(gs) {  // the nodes in the middle, their text at least LEGIBLE px
    var r = view.getBoundingClientRect();
    if (FONT * scale() < LEGIBLE) box[2] = FONT * r.width / LEGIBLE;
    apply();
    var rects = gs.map(function (g) { return g.getBoundingClientRect(); });
    var a = toUnits(Math.min.apply(null, rects.map(function (b) { return b.left; })),
                    Math.min.apply(null, rects.map(function (b) { return b.top; })));
    var z = toUnits(Math.max.apply(null, rects.map(function (b) { return b.right; })),
                    Math.max.apply(null, rects.map(function (b) { return b.bottom; })));
    box[0] = (a[0] + z[0]) / 2 - box[2] / 2; box[1] = (a[1] + z[1]) / 2 - box[3] / 2;
    apply();
  }
  function fit() {
    var r = view.getBoundingClientRect();
    whole = svg === overview ? saved.whole_overview : saved.whole_detail;
    box = whole.slice();
    if (whole[2] / whole[3] < r.width / r.height) {  // tall: fit the height
      box[2] = whole[3] * r.width / r.height; box[0] = whole[0] - (box[2] - whole[2]) / 2;
    }
    apply();
  }
  function heat(g) {
    if (!g) return "";
    var top = Math.max.apply(null, g.values.map(Math.abs)) || 1, rows = "";
    for (var i = 0; i < g.rows; i++) {
      var cells = "";
      for (var j = 0; j < g.cols; j++) {
        var v = g.values[i * g.cols + j], a = Math.abs(v) / top;
        var color = v >= 0 ? "rgba(214,39,40," + a + ")" : "rgba(31,119,180," + a + ")";
        cells += "<td style='background:" + color + "' title='" + v + "'>" +
          Number(v).toPrecision(2) + "</td>";
      }
      rows += "<tr>" + cells + "</tr>";
    }
    return "<h4>Gradient that arrived, shape (" + g.shape.join(", ") + ")</h4>" +
      "<p class='hint'>" + g.note + "</p><table id='heat'>" + rows + "</table>";
  }
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
    document.getElementById("explain").textContent = frames[current].explain ||
      "Nothing has run yet: step forward.\\nClick a module to see its ops.";
    document.getElementById("gradient").innerHTML = heat(frames[current].grad);
    var marked = [frames[current].node, frames[current].op].filter(function (n) {
      return n && nodes[n];
    }).map(function (n) { return nodes[n]; });
    if (current > 0) use(false);  // stepping: the full drawing, following the node
    if (current > 0 && marked.length) center(marked);
  }
  overview.querySelectorAll("g.node").forEach(function (g) {
    var name = g.querySelector("text");  // a module box's first line is its path
    var inside = name && members[name.textContent];
    if (!inside) return;
    g.addEventListener("click", function () {
      use(false);
      center(inside.filter(function (n) { return nodes[n]; }).map(function (n) {
        return nodes[n]; }));
    });
  });
  var drag = null;
  view.addEventListener("pointerdown", function (e) {
    drag = [e.clientX, e.clientY, box[0], box[1]];  // no capture: a click still reaches a box
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag || !e.buttons) { drag = null; return; }
    box[0] = drag[2] - (e.clientX - drag[0]) / scale();
    box[1] = drag[3] - (e.clientY - drag[1]) / scale();
    apply();
  });
  window.addEventListener("pointerup", function () { drag = null; });
  view.addEventListener("wheel", function (e) {
    e.preventDefault();
    var at = toUnits(e.clientX, e.clientY), f = e.deltaY > 0 ? 1.15 : 1 / 1.15;
    box[0] = at[0] - (at[0] - box[0]) * f; box[1] = at[1] - (at[1] - box[1]) * f;
    box[2] *= f; apply();
  }, {passive: false});
  window.addEventListener("resize", function () { show(current); });
  saved.whole_overview = extent(overview); saved.whole_detail = extent(detail);
  document.getElementById("first").onclick = function () { show(0); };
  document.getElementById("prev").onclick = function () { show(current - 1); };
  document.getElementById("next").onclick = function () { show(current + 1); };
  document.getElementById("last").onclick = function () { show(frames.length - 1); };
  document.getElementById("fit").onclick = function () { use(false); fit(); };
  document.getElementById("fold").onclick = function () { use(true); fit(); };
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight") show(current + 1);
    if (e.key === "ArrowLeft") show(current - 1);
    if (e.key === "Home") show(0);
    if (e.key === "End") show(frames.length - 1);
  });
  show(0);
  use(true); fit();  // the page opens on the overview: the whole model, modules folded
})();
</script></body></html>
"""
