"""The per-node gradient check: find the one op whose backward is wrong, anywhere in a graph.

`gradcheck` says *whether* a function's gradient is wrong. In a model of hundreds of ops
that is not enough: a wrong backward anywhere spoils every gradient upstream of it. This
check walks a recorded graph and tests each node on its own: it re-runs that node's forward
at the node's own recorded inputs (in float64), and compares the node's backward with
central differences of that forward alone. A wrong backward fails at its own node only,
because every node is checked against its own forward, not against the nodes around it.

    with mg.record_sources():        # optional: lets failures name the source line
        loss = model(x)
    report = mg.check_graph(loss)
    print(report)                    # one line per failing node, or "all N nodes agree"
    report.draw()                    # the graph, failing nodes highlighted

Each node is checked along random directions (v . J . u, as gradcheck's fast mode), so a
big node costs two forward passes per input, not one per element.
"""

from dataclasses import dataclass, field

import numpy as np

from minigrad.autograd import topological_order
from minigrad.broadcast import unbroadcast
from minigrad.function import Context
from minigrad.gradcheck import GradcheckError, jacobians, positions
from minigrad.tensor import Tensor


@dataclass
class NodeFailure:
    op: str  # the op's name, e.g. "softmax"
    function: type  # its Function subclass
    input_index: int
    input_name: str | None
    input_shapes: list
    output_shape: tuple
    source: str | None  # file:line that created the node (under record_sources)
    analytic: float  # v . (the node's backward of v) . u
    numeric: float  # v . (forward(x + eps u) - forward(x - eps u)) / (2 eps)
    tensor: object = field(repr=False, default=None)  # the node's output tensor

    def __str__(self) -> str:
        name = f" '{self.input_name}'" if self.input_name else ""
        where = f" at {self.source}" if self.source else ""
        return (f"{self.op}: gradient for input {self.input_index}{name} is wrong; input "
                f"shapes {self.input_shapes} -> output {self.output_shape}{where}; analytic "
                f"{self.analytic:.6g} vs numeric {self.numeric:.6g}")


@dataclass
class NodeCheckReport:
    checked: int
    failures: list
    root: object = field(repr=False, default=None)
    kinks: list = field(default_factory=list)  # (op, input) at a point with no derivative

    @property
    def ok(self) -> bool:
        return not self.failures

    def failing_ops(self) -> set:
        return {failure.op for failure in self.failures}

    def __str__(self) -> str:
        skipped = (f" ({len(self.kinks)} input(s) skipped: they sit exactly where the op has "
                   "no derivative, such as relu at 0)") if self.kinks else ""
        if self.ok:
            return (f"check_graph: all {self.checked} nodes agree with finite differences"
                    + skipped)
        lines = [f"check_graph: {len(self.failures)} of {self.checked} node checks failed:"]
        lines += [f"  {failure}" for failure in self.failures]
        return "\n".join(lines) + skipped

    def draw(self, **options):
        """The graph with every failing node highlighted (see minigrad/debug/viz.py: draw)."""
        from minigrad.debug.viz import draw

        return draw(self.root, highlight=[f.tensor for f in self.failures], **options)


def _forward(fn, arrays, attrs):
    return np.asarray(fn.forward(Context(fn), *arrays, **attrs))


def _difference(plus, minus):
    # Where both sides are the same infinity (a masked -inf score), the output did not move.
    with np.errstate(invalid="ignore"):
        return np.where(plus == minus, 0.0, plus - minus)


def _at_a_kink(above, below, out, v, step, tolerance) -> bool:
    """Whether the input sits where the op has no derivative (relu at exactly 0, a clip
    bound): the slopes on the two sides differ, so no backward could match the average."""
    right = float(np.sum(_difference(above, out) * v) / step)
    left = float(np.sum(_difference(out, below) * v) / step)
    return abs(right - left) > 2 * tolerance


def _check_node(tensor, eps, atol, rtol, rng, kinks):
    ctx = tensor._ctx
    fn, attrs = ctx.fn, ctx.attrs or {}
    arrays = []
    for i, parent in enumerate(ctx.inputs):
        if parent is None:
            arrays.append(ctx.args[i])
        elif parent.data.dtype.kind == "f":
            arrays.append(parent.data.astype(np.float64))
        else:
            arrays.append(parent.data)
    out = _forward(fn, arrays, attrs)
    v = rng.standard_normal(out.shape)
    check_ctx = Context(fn)
    check_ctx.inputs = ctx.inputs  # backward may ask which inputs need a gradient
    fn.forward(check_ctx, *arrays, **attrs)
    grads = fn.backward(check_ctx, v.astype(out.dtype))
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    # A node that computes in lower precision (a cast to float32) needs a bigger step.
    step = eps if out.dtype == np.float64 else 1e-2
    failures = []
    for i, parent in enumerate(ctx.inputs):
        if parent is None or not parent.requires_grad or grads[i] is None:
            continue
        u = rng.standard_normal(parent.shape)
        analytic = float(np.sum(unbroadcast(np.asarray(grads[i], np.float64), parent.shape) * u))
        plus = list(arrays)
        minus = list(arrays)
        plus[i] = arrays[i] + step * u
        minus[i] = arrays[i] - step * u
        above, below = _forward(fn, plus, attrs), _forward(fn, minus, attrs)
        numeric = float(np.sum(_difference(above, below) * v) / (2 * step))
        tolerance = atol + rtol * max(abs(numeric), abs(analytic))
        if out.dtype != np.float64:
            tolerance = max(tolerance, 1e-3 * (1 + abs(numeric)))
        if not abs(analytic - numeric) <= tolerance and _at_a_kink(above, below, out, v, step,
                                                                     tolerance):
            kinks.append((fn.name, i))
            continue
        if not abs(analytic - numeric) <= tolerance:
            failures.append(NodeFailure(
                op=fn.name, function=fn, input_index=i, input_name=parent.name,
                input_shapes=[p.shape if p is not None else None for p in ctx.inputs],
                output_shape=out.shape, source=ctx.note("source"), analytic=analytic,
                numeric=numeric, tensor=tensor,
            ))
    return failures


def check_graph(root, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0) -> NodeCheckReport:
    """Check every node of the graph behind `root` against its own finite differences.

    Run it before backward (or after backward(retain_graph=True)); the inputs it reads are
    the tensors' current values, so do not change them in between."""
    if root._ctx is None:
        raise ValueError("check_graph: this tensor was not produced by a recorded op")
    rng = np.random.default_rng(seed)
    failures, checked, kinks = [], 0, []
    for tensor in topological_order(root):
        if tensor._ctx is None:
            continue
        checked += 1
        failures.extend(_check_node(tensor, eps, atol, rtol, rng, kinks))
    return NodeCheckReport(checked=checked, failures=failures, root=root, kinks=kinks)


def check_function(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3, **attrs):
    """Check one op's backward against central differences of its own forward, element by
    element, on plain arrays: no graph, no engine, no other op involved.

    Every floating-point array in `arrays` is an input to check; anything else (integer
    targets, masks, None) is passed through. Raises GradcheckError naming the op, the
    input, the element, and the expected (numeric) and actual (backward's) values."""
    arrays = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
              else a for a in arrays]
    checked = [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    ctx = Context(fn)
    # backward may ask ctx.needs_grad(i): every checked input needs one.
    ctx.inputs = tuple(Tensor(a, requires_grad=True) if i in checked else None
                       for i, a in enumerate(arrays))
    fn.forward(ctx, *arrays, **attrs)
    op = fn.__name__

    def vjp(v):
        return _checked_gradients(op, fn.backward(ctx, v), arrays, checked)

    out_shape, pairs = jacobians(lambda moved: _forward(fn, moved, attrs), vjp, arrays,
                                 checked, eps, difference=_difference)
    for i, (analytic, numeric) in pairs.items():
        # The first wrong column (input element), and in it the first wrong output element.
        bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
        if bad.any():
            k = int(np.argmax(bad.any(axis=0)))
            j = int(np.argmax(bad[:, k]))
            element, out_element = positions(j, k, arrays[i].shape, out_shape)
            raise GradcheckError(
                f"{op}.backward: wrong gradient for input {i} (shape {arrays[i].shape}) at "
                f"element {element}, output element {out_element}: expected "
                f"{numeric[j, k]:.6g} (finite differences of {op}.forward), got "
                f"{analytic[j, k]:.6g}",
                input_index=i, element=element, output_element=out_element,
                analytic=analytic[j, k], numeric=numeric[j, k])
    return True


def _checked_gradients(op, grads, arrays, checked) -> dict:
    """{i: gradient for input i, in its shape}, or a GradcheckError saying what is wrong."""
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    if len(grads) != len(arrays):
        raise GradcheckError(f"{op}.backward returned {len(grads)} gradients for "
                             f"{len(arrays)} inputs")
    result = {}
    for i in checked:
        if grads[i] is None:
            raise GradcheckError(f"{op}.backward returned None for input {i}, which needs "
                                 "a gradient", input_index=i)
        g = np.asarray(grads[i], dtype=np.float64)
        if g.shape != arrays[i].shape:
            try:
                g = unbroadcast(g, arrays[i].shape)
            except ValueError:
                raise GradcheckError(
                    f"{op}.backward returned a gradient of shape {g.shape} for input {i} "
                    f"of shape {arrays[i].shape}", input_index=i) from None
        result[i] = g
    return result
