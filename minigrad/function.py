"""Function and Context: how an op is defined, and what it remembers for its backward.

An op is a subclass of `Function` with two static methods that work on plain NumPy arrays:

    class Mul(Function):
        name = "mul"

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_arrays
            return grad * b, grad * a        # one gradient per input, None for "no gradient"

`Mul.apply(x, y)` unwraps the tensors, runs `forward`, wraps the result, and, only if an
input requires grad, records a node (the Context) that `backward()` will visit later.
Gradients may have the broadcast shape of the output: the engine sums them back to each
input's shape (see broadcast.py), so `backward` never has to.
"""

import itertools

import numpy as np

from minigrad import hooks
from minigrad.convert import as_array
from minigrad.grad_mode import grad_mode
from minigrad.tensor import Tensor, describe

_creation_counter = itertools.count()  # orders nodes for backward (see autograd.py)
_tools = hooks._active  # read once per op: which tools (if any) watch this thread


class Context:
    """One node of the graph: the op, its inputs, and what its forward saved.

    Ops keep what their backward needs here: arrays with save_for_backward, anything else
    as an attribute (ctx.axis = axis). Tools keep what they learn in `notes`."""

    __slots__ = (
        "fn", "inputs", "args", "attrs", "saved_arrays", "versions", "out_version", "seq",
        "recorded", "freed", "notes", "__dict__",
    )

    def __init__(self, fn):
        self.fn = fn
        self.saved_arrays = ()
        self.recorded = False
        self.freed = False
        self.notes = None  # {tool's key: value}, made by the first tool that writes one

    def save_for_backward(self, *arrays):
        """Keep arrays that backward needs; they are freed after backward."""
        self.saved_arrays = arrays

    def free(self):
        """Drop the saved arrays (and any extra attributes) so their memory can be reused."""
        self.saved_arrays = ()
        if self.__dict__:
            self.__dict__.clear()
        self.freed = True

    def needs_grad(self, i: int) -> bool:
        """Whether input i is a tensor that wants a gradient (skip work for the others)."""
        x = self.inputs[i]
        return x is not None and x.requires_grad

    def add_note(self, key, value):
        """Let a tool remember something about this node (its source line, its module)."""
        if self.notes is None:
            self.notes = {}
        self.notes[key] = value

    def note(self, key, default=None):
        """What a tool wrote about this node under `key` (say "source" or "module")."""
        return self.notes.get(key, default) if self.notes else default

    def where(self) -> str:
        """' (created at file.py:12)' when the creating source line was recorded, else ''."""
        source = self.note("source")
        return f" (created at {source})" if source else ""

    def __repr__(self) -> str:
        """What a learner at a pdb prompt wants to know about this node: the op, its inputs
        by name and shape, the module that ran it and the line that created it."""
        parts = [self.fn.name]
        inputs = getattr(self, "inputs", None)
        if inputs is not None:
            described = [describe(t, noun=False) + f" {t.shape} {t.dtype}" if t is not None
                         else "a constant" for t in inputs]
            parts.append("inputs: " + ", ".join(described))
        module = getattr(self.note("module"), "path", None)
        if module:
            parts.append(f"module {module}")
        source = self.note("source")
        parts.append(f"created at {source}" if source else
                     "source line not recorded (mg.record_sources() records it)")
        if self.freed:
            parts.append("freed (its saved arrays are gone)")
        return f"<Context {'; '.join(parts)}>"


class Function:
    """Base class of every op. Subclasses define `name`, `forward` and `backward`."""

    name = "function"
    returns_view = False  # True if the output may share memory with the first input

    # What inputs the op-wide tests draw for an op in minigrad/ops (tests/op_cases.py):
    # `kind` is "binary", "reduce", "matmul" ... (None: one input, any shape, no options);
    # `domain` is where the op is differentiable: "any", "positive", "nonzero", "distinct".
    kind = None
    domain = "any"

    @staticmethod
    def forward(ctx, *arrays, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **attrs):
        """Unwrap the inputs, run forward, record a node if an input needs grad, and tell
        the active tools (if any)."""
        arrays, needs_grad = _unwrap(inputs)
        ctx = Context(cls)
        result = _forward(cls, ctx, arrays, attrs)
        if cls.returns_view and isinstance(inputs[0], Tensor):
            result._counter = inputs[0]._counter  # same memory, same version counter
        # Only floating-point results join the graph (an integer cast has no gradient).
        if needs_grad and grad_mode.enabled and result._data.dtype.kind == "f":
            _record(ctx, inputs, arrays, attrs, result)
        tools = _tools.tools  # the seam: empty unless a tool is active on this thread
        if tools:
            _tell_tools(tools, ctx, inputs, arrays, attrs, result)
        return result


def _unwrap(inputs) -> tuple:
    """(the inputs' arrays, whether any input requires grad). Tensors give their arrays;
    a NumPy scalar becomes a Python number (it would promote float32 to float64), a list
    an array as mg.tensor(list) makes it (float32); other values pass through."""
    arrays, needs_grad = [], False
    for x in inputs:
        if isinstance(x, Tensor):
            arrays.append(x._data)
            needs_grad = needs_grad or x._requires_grad
        elif isinstance(x, np.generic):
            arrays.append(x.item())
        elif isinstance(x, (list, tuple)):
            arrays.append(as_array(x))
        else:
            arrays.append(x)  # Python scalars and None
    return arrays, needs_grad


def _forward(cls, ctx, arrays, attrs) -> Tensor:
    """cls.forward on the arrays, as a Tensor; NumPy's errors say which op failed, and a
    result of Python objects or complex numbers is refused."""
    try:
        out = cls.forward(ctx, *arrays, **attrs)
    except (ValueError, IndexError, TypeError) as error:
        named = _name_the_op(cls, error, arrays)
        if named is error:
            raise  # the op's own message already names it
        raise named from error
    result = Tensor._from_op(out)
    kind = result._data.dtype.kind
    if kind == "O":
        raise TypeError(f"{cls.name}: produced an array of Python objects; pass tensors as "
                        "the op's inputs and plain numbers or arrays as its options")
    if kind == "c":
        raise TypeError(f"{cls.name}: complex numbers are not supported (an input is "
                        f"complex, dtype {result._data.dtype}); the result would have no "
                        "gradient")
    return result


def _record(ctx, inputs, arrays, attrs, result):
    """Make `ctx` the node that produced `result`: its inputs, options, the inputs'
    versions (to catch an in-place change before backward) and its place in the order."""
    ctx.args = None
    if not all(isinstance(x, Tensor) for x in inputs):
        # Keep the non-tensor arguments, so the node's forward can be re-run (the per-node
        # gradient check does); the tensors' arrays stay with the tensors.
        ctx.args = tuple(None if isinstance(x, Tensor) else a for x, a in zip(inputs, arrays))
        inputs = tuple(x if isinstance(x, Tensor) else None for x in inputs)
    ctx.inputs, ctx.attrs, ctx.recorded = inputs, attrs, True
    ctx.versions = tuple([x._counter[0] if x is not None else 0 for x in inputs])
    ctx.out_version = result._counter[0]
    ctx.seq = next(_creation_counter)
    module = hooks.current_module()
    if module is not None:  # inside a Module's forward: the drawings group ops by module
        ctx.add_note("module", module)
    result._requires_grad = True
    result._ctx = ctx


def _tell_tools(tools, ctx, inputs, arrays, attrs, result):
    """The seam, forward side: every active tool sees every op (recorded or not)."""
    if not ctx.recorded:
        ctx.inputs = tuple(x if isinstance(x, Tensor) else None for x in inputs)
        ctx.attrs = attrs
    for tool in tools:
        tool.on_forward(ctx, arrays, result)


def _name_the_op(cls, error, arrays):
    """Re-raise a NumPy error so it says which op failed and what shapes it got."""
    message = str(error)
    if message.startswith(cls.name + ":"):
        return error  # the op already wrote a full message
    shapes = [str(a.shape) for a in arrays if hasattr(a, "shape")]
    if "could not be broadcast" in message:  # NumPy's wording repeats the shapes
        message = f"{cls.name}: shapes {' and '.join(shapes)} do not broadcast"
    else:
        message = f"{cls.name}: {message} (input shapes {', '.join(shapes)})"
    for kind in (type(error), IndexError, TypeError, ValueError):
        if isinstance(error, kind):
            try:
                return kind(message)
            except TypeError:  # some NumPy error types need extra constructor arguments
                continue
    return ValueError(message)
