"""Drawing the computation graph with Graphviz: tensors, ops, names, shapes, gradients.

    g = mg.viz.draw(loss)                  # a graphviz.Digraph; Jupyter shows it inline
    mg.viz.render(g, "graph.svg")          # or .png, or .dot (the source, no renderer needed)

Boxes are tensors: their name (a parameter's dotted name, your name, or in italics the op
that made them), shape and dtype and, after backward, their gradient (the values of a tiny
tensor, else its norm, min and max). Ellipses are ops. Edges follow the data, from inputs
to outputs. NaN or inf in a value or a gradient is drawn in red.

Rendering uses the system Graphviz `dot` when it is installed, else the `graphviz-pure`
program that pip installs with this project, so drawings work after a pip install alone.
"""

import html
import os
import shutil
import subprocess
import sys
import sysconfig
from collections import Counter, deque

import graphviz
import numpy as np

TINY = 6  # tensors with at most this many elements show their values
HIGHLIGHT = "#ffd54f"
BAD = "#d32f2f"


class Graph(graphviz.Digraph):
    """A graphviz.Digraph that renders with whichever renderer is available (Jupyter's
    inline display, .pipe() and .render() all work without a system Graphviz)."""

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None,
             quiet=False, *, engine=None, encoding=None):
        data = render_bytes(self.source, format or self.format or "svg")
        return data.decode(encoding) if encoding else data

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
               **options):
        """Write the picture to `<filename>.<format>` (default svg); returns its path."""
        if view:
            raise ValueError("viz: view=True needs a desktop viewer; open the file instead")
        fmt = format or self.format or "svg"
        base = filename or self.filename or "graph"
        path = os.path.join(directory or self.directory or "", f"{base}.{fmt}")
        return render(self, path)


# ---- rendering ---------------------------------------------------------------------------

def renderer() -> list:
    """The command that turns DOT source into pictures: system `dot`, else graphviz-pure."""
    dot = shutil.which("dot")
    if dot:
        return [dot]
    candidates = [shutil.which("graphviz-pure"),
                  os.path.join(sysconfig.get_path("scripts"), "graphviz-pure"),
                  os.path.join(os.path.dirname(sys.executable), "graphviz-pure")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            return [candidate]
    raise RuntimeError(
        "viz: no Graphviz renderer found. `pip install graphviz-pure` (a dependency of this "
        "project) or install Graphviz; .dot source can always be written with "
        "render(graph, 'graph.dot')"
    )


def render_bytes(source: str, fmt: str = "svg", dpi: int = 144) -> bytes:
    """DOT source rendered to `fmt` ('svg' or 'png', at `dpi`), as bytes."""
    command = renderer() + [f"-T{fmt}"] + ([f"-Gdpi={dpi}"] if fmt == "png" else [])
    done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"viz: {command[0]} -T{fmt} failed: "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def render(graph, path: str) -> str:
    """Write `graph` (a Digraph, or a tensor to draw) to path: .svg, .png, or .dot/.gv."""
    if not isinstance(graph, graphviz.Digraph):
        graph = draw(graph)
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix in ("dot", "gv"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(graph.source)
    elif suffix in ("svg", "png"):
        with open(path, "wb") as f:
            f.write(render_bytes(graph.source, suffix))
    else:
        raise ValueError(f"viz.render: unknown format '.{suffix}' for {path}; "
                         "use .svg, .png or .dot")
    return path


# ---- labels ------------------------------------------------------------------------------

def _summary(array: np.ndarray) -> str:
    """The values of a tiny array, else its norm, min and max."""
    if array.size <= TINY:
        return np.array2string(np.asarray(array), precision=3, separator=", ",
                               suppress_small=True).replace("\n", "")
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        return "no finite values"
    norm = float(np.sqrt(np.sum(finite.astype(np.float64) ** 2)))
    return f"norm {norm:.3g}, min {finite.min():.3g}, max {finite.max():.3g}"


def _not_finite(array) -> bool:
    return array is not None and array.dtype.kind == "f" and not np.isfinite(array).all()


def _tensor_label(tensor, show_data, grad, pending=False):
    """An HTML-like label: every piece of text escaped, so names render literally."""
    if tensor.name:
        title = f"<B>{html.escape(tensor.name)}</B>"
    elif tensor._ctx is not None:
        title = f"<I>{html.escape(tensor._ctx.fn.name)}</I>"
    else:
        title = "<I>tensor</I>"
    lines = [title, html.escape(f"{tensor.shape} {tensor.dtype}")]
    if show_data:
        text = f"data: {html.escape(_summary(tensor.data))}"
        lines.append(f'<FONT COLOR="{BAD}">{text}</FONT>' if _not_finite(tensor.data) else text)
    if grad is not None:
        colour = BAD if _not_finite(grad) else "#1565c0"
        lines.append(f'<FONT COLOR="{colour}">grad: {html.escape(_summary(grad))}</FONT>')
    elif pending:
        lines.append('<FONT COLOR="#9e9e9e">grad: not yet</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


# ---- walking the graph ------------------------------------------------------------------

def _collect(root):
    """Tensors reachable from root, nearest first (a breadth-first walk from root)."""
    tensors, seen, queue = [], {id(root)}, deque([root])
    while queue:
        tensor = queue.popleft()
        tensors.append(tensor)
        if tensor._ctx is not None:
            for parent in tensor._ctx.inputs:
                if parent is not None and id(parent) not in seen:
                    seen.add(id(parent))
                    queue.append(parent)
    return tensors


def _module_path(tensor) -> str:
    """The dotted path of the module a tensor belongs to ('' when none)."""
    ctx = tensor._ctx
    if ctx is not None:
        return getattr(ctx.note("module"), "path", "")
    if tensor.name and "." in tensor.name and getattr(tensor, "_requires_grad", False):
        return tensor.name.rsplit(".", 1)[0]  # a parameter: 'attn.q_proj.weight'
    return ""


def _module_types(tensors) -> dict:
    types = {}
    for tensor in tensors:
        module = tensor._ctx.note("module") if tensor._ctx is not None else None
        if module is not None:
            types[getattr(module, "path", "")] = type(module).__name__
    return types


def _truncate(path: str, depth: int) -> str:
    return ".".join(path.split(".")[:depth]) if path else ""


def draw(root, show_data=False, show_grad=True, direction="TB", modules=None, depth=1,
         highlight=(), max_nodes=300, grads=None) -> Graph:
    """A Graphviz drawing of the graph that produced `root`.

    show_data / show_grad: add each tensor's values / gradient to its box.
    direction: "TB" (top to bottom), "BT", "LR" or "RL".
    modules: None; "cluster" (a box around each module's nodes, nested, e.g. attn.q_proj);
        or "collapse" (each module at `depth` dotted levels drawn as a single box).
    highlight: tensors to mark (their box and the op that made them).
    max_nodes: past this many nodes, modules are collapsed, and if that is not enough the
        nodes farthest from root are summarised in one box instead of drawn.
    grads: {id(tensor): array or None} to show instead of tensor.grad (for step-through
        frames, where only some gradients exist yet).
    """
    if hasattr(highlight, "_ctx"):
        highlight = [highlight]  # one tensor given on its own
    drawing = _Drawing(_collect(root), modules, depth, max_nodes,
                       marked={id(t) for t in highlight if t is not None})
    graph = Graph(graph_attr={"rankdir": direction, "fontname": "Helvetica",
                              "fontsize": "11"},
                  node_attr={"fontname": "Helvetica", "fontsize": "10"},
                  edge_attr={"color": "#555555", "arrowsize": "0.7"})
    groups = drawing.add_tensors(graph, show_data, show_grad, grads)
    edges = drawing.edges()
    drawing.add_module_boxes(graph)
    for source, target in edges:
        graph.edge(source, target)
    if drawing.modules == "cluster":
        _add_clusters(graph, groups, drawing.types)
    if drawing.hidden:
        drawing.add_hidden_note(graph)
    if drawing.notes:
        graph.attr(label=html.escape("; ".join(drawing.notes)), labelloc="t")
    return graph


class _Drawing:
    """Which tensors are drawn, and as what: their own box, or their module's box."""

    def __init__(self, tensors, modules, depth, max_nodes, marked):
        self.types = _module_types(tensors)
        self.modules, self.depth, self.marked = modules, depth, marked
        self.notes = []
        self.hidden = []
        self.node_count = len(tensors) + sum(t._ctx is not None for t in tensors)
        self._fit(tensors, max_nodes)
        self.drawn = {id(t) for t in self.tensors}
        # Stable node names (t0 is root, numbered in walk order): repeatable DOT text.
        self.number = {id(t): k for k, t in enumerate(self.tensors)}
        self.module_boxes = {}  # module path -> node name ("m0"; a ':' would be a DOT port)

    def _fit(self, tensors, max_nodes):
        """Past max_nodes, collapse the modules; if still too many, draw the nearest half."""
        if self.node_count > max_nodes and self.modules != "collapse" and self.types:
            self.modules, self.depth = "collapse", 1
            self.notes.append(f"{self.node_count} nodes: each top-level module drawn as one box")
        if self.modules == "collapse" and self.node_count > max_nodes:
            # Count again as collapsed: tensors outside modules, their ops, a box per module.
            outside = [t for t in tensors if not _truncate(_module_path(t), self.depth)]
            boxes = {_truncate(_module_path(t), self.depth) for t in tensors} - {""}
            self.node_count = 2 * len(outside) + len(boxes)
        self.tensors = tensors
        if self.node_count > max_nodes:
            self.tensors, self.hidden = tensors[: max_nodes // 2], tensors[max_nodes // 2:]

    def box_for(self, tensor) -> str:
        """The node a tensor is drawn as: itself, or its collapsed module's box."""
        if self.modules == "collapse":
            path = _truncate(_module_path(tensor), self.depth)
            if path:
                return self.module_boxes.setdefault(path, f"m{len(self.module_boxes)}")
        return f"t{self.number[id(tensor)]}"

    def is_module_box(self, node) -> bool:
        return node in self.module_boxes.values()

    def add_tensors(self, graph, show_data, show_grad, grads) -> dict:
        """A box per tensor and an ellipse per op; returns {module path: its nodes}."""
        groups = {}
        for tensor in self.tensors:
            grad = tensor.grad if grads is None else grads.get(id(tensor))
            node = self.box_for(tensor)
            if self.is_module_box(node):
                continue
            marked = id(tensor) in self.marked
            bad = _not_finite(tensor.data) or _not_finite(grad)
            style = {"shape": "box", "style": "rounded,filled",
                     "fillcolor": HIGHLIGHT if marked else
                     ("#e8f0fe" if tensor._ctx is None and tensor.requires_grad else "#ffffff"),
                     "color": BAD if bad else "#444444", "penwidth": "3" if bad else "1"}
            # In step-through frames a gradient not computed yet gets a placeholder line, so
            # boxes keep their size and the layout does not jump from frame to frame.
            pending = grads is not None and tensor.requires_grad
            label = _tensor_label(tensor, show_data, grad if show_grad else None, pending)
            graph.node(node, label, **style)
            path = _module_path(tensor) if self.modules == "cluster" else ""
            groups.setdefault(path, []).append(node)
            if tensor._ctx is not None:
                op = f"op{self.number[id(tensor)]}"
                graph.node(op, f"<{html.escape(tensor._ctx.fn.name)}>", shape="ellipse",
                           style="filled", fillcolor=HIGHLIGHT if marked else "#f1f3f4",
                           color="#888888")
                groups.setdefault(path, []).append(op)
                graph.edge(op, node)
        return groups

    def edges(self) -> list:
        """(source, target) per input slot: x * x draws two arrows into mul."""
        edges = []
        for tensor in self.tensors:
            if tensor._ctx is None:
                continue
            target = self.box_for(tensor)
            collapsed = self.is_module_box(target)
            if not collapsed:
                target = f"op{self.number[id(tensor)]}"
            for parent in tensor._ctx.inputs:
                if parent is None or id(parent) not in self.drawn:
                    continue
                source = self.box_for(parent)
                if source == target or (collapsed and (source, target) in edges):
                    continue  # inside one module box, or a repeat between two boxes
                edges.append((source, target))
        return edges

    def add_module_boxes(self, graph):
        for path, box in self.module_boxes.items():
            members = [t for t in self.tensors if self.box_for(t) == box]
            kind = self.types.get(path, "Module")
            count = sum(t._ctx is not None for t in members)
            label = (f"<<B>{html.escape(path)}</B><BR/>{html.escape(kind)}<BR/>"
                     f"{count} op{'' if count == 1 else 's'}>")
            graph.node(box, label, shape="box3d", style="filled",
                       fillcolor=HIGHLIGHT if any(id(t) in self.marked for t in members)
                       else "#e6f4ea")

    def add_hidden_note(self, graph):
        """One box standing for the tensors not drawn, with arrows to where they enter."""
        counts = Counter(t._ctx.fn.name for t in self.hidden if t._ctx is not None)
        common = ", ".join(f"{name} x{n}" for name, n in counts.most_common(4))
        graph.node("hidden", f"<... {len(self.hidden)} more tensors not drawn<BR/>"
                             f"({html.escape(common)})>", shape="note", color="#888888")
        frontier = set()
        for tensor in self.tensors:
            if tensor._ctx is not None and any(
                    p is not None and id(p) not in self.drawn for p in tensor._ctx.inputs):
                box = self.box_for(tensor)  # the op, or the module box it was collapsed into
                frontier.add(box if self.is_module_box(box) else f"op{self.number[id(tensor)]}")
        for node in sorted(frontier):
            graph.edge("hidden", node, style="dashed")
        self.notes.append(f"{self.node_count} nodes: the {len(self.tensors)} tensors nearest "
                          "the output drawn")


def _add_clusters(graph, groups, types):
    """Nest each module's nodes in a cluster inside its parent module's cluster."""
    paths = sorted(p for p in groups if p)
    children = {}
    for path in paths:
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            parent = ".".join(parts[: i - 1])
            children.setdefault(parent, set()).add(prefix)

    def fill(subgraph, path):
        for node in groups.get(path, []):
            subgraph.node(node)
        for child in sorted(children.get(path, ())):
            with subgraph.subgraph(name=f"cluster_{child}") as inner:
                kind = types.get(child, "")
                inner.attr(label=f"<<B>{html.escape(child)}</B> {html.escape(kind)}>",
                           style="rounded", color="#9e9e9e", fontsize="10")
                fill(inner, child)

    fill(graph, "")
