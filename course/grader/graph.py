"""A forward's graph, recorded as data where the student's code runs and differentiated by
the judge without any backward: what keeps attention's gradient checks (task 2.2) from
depending on the engine and the op backwards (tasks 1.x and 2.1).

Recording: while a check's forward runs, a tool on the engine's seam notes every op (its
class, the tensors and constants it took, its options, the array it gave). The record is
plain arrays and JSON, so the grader reads it as data, like every other output.

Replay: the judge looks each op up among its own Function classes (minigrad's and
attention's only), runs their forwards on the recorded inputs and checks that each gives
what the student's run recorded (a graph that does not reproduce the forward is refused).
The gradient of the output with respect to each leaf (q, k, v) is then the complex step
(exact.py) through those forwards: the exact derivative of the graph the student's forward
built, whatever the student's (or the handout's) backward code says. A leaf that no op
path connects to the output gets no gradient, as with the real engine.
"""

import importlib
import json

import numpy as np

from course.grader.exact import gradients as gradients_of

PREFIX = "graph:"  # output names that carry the record, not a judged value
MAX_NODES = 500


class Unreplayable(ValueError):
    """The record cannot be replayed (an op the judge does not know, an option it cannot
    encode, a forward that does not reproduce): the message says which op."""


def _encode(value, constants: list):
    """An op's option or constant argument as JSON, arrays kept apart in `constants`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return _encode(value.item(), constants)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise Unreplayable(f"an array of {value.dtype}")
        constants.append(value)
        return {"array": len(constants) - 1}
    if isinstance(value, (tuple, list)):
        return {"tuple": [_encode(v, constants) for v in value]}
    if isinstance(value, slice):
        return {"slice": [_encode(v, constants) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"dtype": np.dtype(value).name}
    raise Unreplayable(f"an option of type {type(value).__name__}")


def _decode(value, constants: list):
    if not isinstance(value, dict):
        return value
    if "array" in value:
        return constants[int(value["array"])]
    if "tuple" in value:
        return tuple(_decode(v, constants) for v in value["tuple"])
    if "slice" in value:
        return slice(*(_decode(v, constants) for v in value["slice"]))
    if "ellipsis" in value:
        return Ellipsis
    if "dtype" in value:
        return np.dtype(str(value["dtype"]))
    raise Unreplayable(f"an unknown option {sorted(value)[:3]}")


def recorder(leaves: dict):
    """A seam tool that records every op run while it is active; `leaves` names the tensors
    whose gradients are wanted ({'q': tensor, ...})."""
    from minigrad.hooks import Tool
    from minigrad.tensor import Tensor

    class Recorder(Tool):
        def __init__(self):
            self.refs = {id(t): {"leaf": name} for name, t in leaves.items()}
            self.keep = list(leaves.values())  # alive, so that no id is reused
            self.nodes, self.constants, self.outputs, self.problem = [], [], [], None

        def ref(self, tensor):
            if id(tensor) not in self.refs:  # made outside any op: a constant
                self.refs[id(tensor)] = {"constant": _encode(np.array(tensor.data),
                                                             self.constants)}
                self.keep.append(tensor)
            return self.refs[id(tensor)]

        def on_forward(self, ctx, arrays, result):
            if self.problem is not None or len(self.nodes) >= MAX_NODES:
                self.problem = self.problem or f"more than {MAX_NODES} ops"
                return
            try:
                fn = ctx.fn
                args = [self.ref(t) if isinstance(t, Tensor) else
                        {"value": _encode(a, self.constants)}
                        for t, a in zip(ctx.inputs, arrays)]
                attrs = {k: _encode(v, self.constants) for k, v in (ctx.attrs or {}).items()}
            except Unreplayable as error:
                self.problem = f"{ctx.fn.name}: {error}"
                return
            self.nodes.append({"fn": f"{fn.__module__}.{fn.__qualname__}", "args": args,
                               "attrs": attrs, "out": len(self.outputs)})
            self.outputs.append(np.array(result.data))
            self.refs[id(result)] = {"node": len(self.nodes) - 1}
            self.keep.append(result)

        def record(self, named: dict) -> dict:
            """The record as outputs: arrays, and the structure as JSON bytes; `named` maps
            a name to a tensor the check returns ('out')."""
            if self.problem is not None:
                return {PREFIX + "problem": np.frombuffer(self.problem.encode()[:300],
                                                          dtype=np.uint8)}
            roots = {name: self.refs.get(id(t)) for name, t in named.items()}
            text = json.dumps({"nodes": self.nodes, "roots": roots})
            arrays = {PREFIX + "json": np.frombuffer(text.encode(), dtype=np.uint8)}
            arrays.update({f"{PREFIX}c{i}": c for i, c in enumerate(self.constants)})
            arrays.update({f"{PREFIX}o{i}": o for i, o in enumerate(self.outputs)})
            return arrays

    return Recorder()


def split(got: dict) -> tuple:
    """(the judged outputs, the record's arrays) from what a child returned."""
    judged = {k: v for k, v in got.items() if not k.startswith(PREFIX)}
    record = {k[len(PREFIX):]: v for k, v in got.items() if k.startswith(PREFIX)}
    return judged, record


def _text(array) -> str:
    return bytes(np.asarray(array).astype(np.uint8)).decode("utf-8", "replace")


# Where the judge looks up an op by name: the library's modules. A class defined in an
# answer (a function's local) is not found; task 2.3's checks also allow their stand-in
# attention op (STAND_IN), which task 2.2's must refuse: it would be a whole answer.
OP_MODULES = ("minigrad", "attention")
STAND_IN = "course.grader.numpy_attention"
MAX_ELEMENTS = 1_000_000  # per array a replayed op may make: a record is not a workload


def _op(path: str, modules=OP_MODULES):
    """One of the judge's own Function classes, by module path."""
    from minigrad.function import Function

    module, _, name = str(path).rpartition(".")
    if not any(module == m or module.startswith(m + ".") for m in modules) or "<" in path:
        raise Unreplayable(f"{path} is not one of the library's ops")
    if module == STAND_IN:
        from course.grader.numpy_attention import _exact_attention_op

        _exact_attention_op()
    try:
        fn = importlib.import_module(module)
        for part in name.split("."):
            fn = getattr(fn, part)
    except (ImportError, AttributeError):
        raise Unreplayable(f"{path} is not one of the library's ops") from None
    if not (isinstance(fn, type) and issubclass(fn, Function)):
        raise Unreplayable(f"{path} is not one of the library's ops")
    return fn


def _run(nodes, constants, leaves):
    """Every node's forward, with the judge's ops, on `leaves` (real or nudged)."""
    from minigrad.function import Context

    values = []

    def value(ref):
        if "leaf" in ref:
            return leaves[ref["leaf"]]
        if "node" in ref:
            return values[int(ref["node"])]
        if "constant" in ref:
            return _decode(ref["constant"], constants)
        return _decode(ref["value"], constants)

    for node in nodes:
        fn = node["fn_class"]
        with np.errstate(all="ignore"):
            out = np.asarray(fn.forward(Context(fn), *[value(a) for a in node["args"]],
                                        **node["attrs"]))
        if out.size > MAX_ELEMENTS:
            raise Unreplayable(f"{node['fn']} made {out.size} elements, more than a check's "
                               f"graph needs ({MAX_ELEMENTS})")
        values.append(out)
    return values, value


def gradients(record: dict, leaves: dict, root: str, upstream, modules=OP_MODULES) -> dict:
    """{'grad_<leaf>': d sum(root * upstream) / d leaf, or None where no op path joins the
    leaf to the root}, through the recorded graph replayed with the judge's ops (found in
    `modules`). Whatever the record holds, the only error is Unreplayable."""
    try:
        return _gradients(record, leaves, root, upstream, modules)
    except Unreplayable:
        raise
    except Exception as error:  # a malformed record: refused, never a crash of the judge
        raise Unreplayable(f"the recorded graph is malformed ({type(error).__name__}: "
                           f"{str(error)[:200]})") from None


def _gradients(record, leaves, root, upstream, modules) -> dict:
    if "problem" in record:
        raise Unreplayable(_text(record["problem"]))
    if "json" not in record:
        raise Unreplayable("no graph was recorded")
    structure = json.loads(_text(record["json"]))
    if not isinstance(structure, dict) or len(structure.get("nodes", ())) > MAX_NODES:
        raise Unreplayable(f"the record is not a graph of at most {MAX_NODES} ops")
    nodes = structure["nodes"]
    constants = [record.get(f"c{i}") for i in range(len(record))]
    for node in nodes:
        node["fn_class"] = _op(node["fn"], modules)
        node["attrs"] = {str(k): _decode(v, constants) for k, v in node["attrs"].items()}
    target = structure["roots"].get(root)
    real = {name: np.asarray(a, dtype=np.float64) for name, a in leaves.items()}
    try:
        values, value = _run(nodes, constants, real)
    except Exception as error:
        raise Unreplayable(f"replaying the graph failed: {type(error).__name__}: {error}") \
            from None
    for i, (node, got) in enumerate(zip(nodes, values)):
        recorded = record.get(f"o{node['out']}")
        if recorded is None or recorded.shape != got.shape or not np.allclose(
                got, recorded, rtol=1e-12, atol=1e-13, equal_nan=True):
            raise Unreplayable(f"op {i + 1} ({node['fn'].rpartition('.')[2]}) does not "
                               "give what the forward recorded")
    reached = _ancestors(nodes, target)

    def forward(**values):  # the graph's output, from leaves real or nudged
        return _run(nodes, constants, values)[1](target)

    result = gradients_of(forward, real, [name for name in real if name in reached],
                          upstream)
    result.update({f"grad_{name}": None for name in real if name not in reached})
    return result


def _ancestors(nodes, target) -> set:
    """The leaves some op path joins to `target`."""
    found, stack = set(), [target] if target else []
    while stack:
        ref = stack.pop()
        if "leaf" in ref:
            found.add(ref["leaf"])
        elif "node" in ref:
            stack.extend(nodes[int(ref["node"])]["args"])
    return found
