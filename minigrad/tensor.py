"""Tensor: a NumPy array, its gradient, and a link to the op that produced it.

`data` and `grad` are plain NumPy arrays a learner can print in a debugger; `_ctx` is the
graph node (see function.py) that `backward()` walks. Operators and methods here are thin:
each one calls an op's `Function.apply`, where forward and backward live side by side.

In-place edits. Tensors have no in-place ops: `x += 1` builds a new tensor, like any other
op. The one way to change a tensor's values is to assign its `data` (`p.data -= lr *
p.grad` assigns too), and every assignment bumps a version counter. An op that recorded the
tensor remembers its version, and backward refuses to run through it if the version moved,
because its saved arrays would no longer match. Tensors that share memory (a reshape or
slice of x, x.detach()) share x's counter, so an edit through any of them is caught.
(Writing into the array itself, `x.data[0] = 1`, bypasses the counter, just as PyTorch's
`.data` does.)
"""

import numpy as np

DEFAULT_FLOAT = np.float32


def describe(tensor, noun=True) -> str:
    """How every message names a tensor: "tensor 'x'" (or "'x'" with noun=False) when it
    has a name, "a tensor" ("an unnamed tensor") when not, "a constant" for None (the slot
    of a plain number among an op's inputs)."""
    if tensor is None:
        return "a constant"
    if tensor.name:
        return f"tensor '{tensor.name}'" if noun else f"'{tensor.name}'"
    return "a tensor" if noun else "an unnamed tensor"


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    `Tensor(array)` wraps a NumPy array without copying it, as `torch.from_numpy` does:
    writing to the array changes the tensor, and the other way round. `mg.tensor(data)`
    copies, as `torch.tensor` does; use it when the caller's array must stay the caller's.
    (A list, a number, or an array converted to another dtype makes a new array either way.)
    """

    __slots__ = ("_data", "grad", "_requires_grad", "name", "_ctx", "_counter", "__weakref__")
    __array_priority__ = 1000  # so `np_array * tensor` calls Tensor.__rmul__

    def __init__(self, data, dtype=None, requires_grad=False, name=None):
        self._data = _as_array(data, dtype)
        self.grad = None
        self._requires_grad = False
        self.name = name
        self._ctx = None
        self._counter = [0]  # version counter, shared with views and detached copies
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _from_op(cls, array):
        """Fast constructor for op results: no conversion, no checks."""
        t = cls.__new__(cls)
        t._data = array if type(array) is np.ndarray else np.asarray(array)
        t.grad = None
        t._requires_grad = False
        t.name = None
        t._ctx = None
        t._counter = [0]
        return t

    # ---- data, grad and the flags -------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value):
        value = np.asarray(value.data if isinstance(value, Tensor) else value)
        if value.shape != self._data.shape:
            raise ValueError(
                f"data: cannot assign an array of shape {value.shape} to "
                f"{describe(self)} of shape {self._data.shape}"
            )
        # Assigning keeps the tensor's dtype: float64 values into a float32 parameter are
        # converted, but floats into an integer tensor (which would truncate) are refused.
        if value.dtype != self._data.dtype:
            if not np.can_cast(value.dtype, self._data.dtype, casting="same_kind"):
                raise TypeError(
                    f"data: cannot assign an array of dtype {value.dtype} to "
                    f"{describe(self)} of dtype {self._data.dtype}"
                )
            value = value.astype(self._data.dtype)
        self._data = value
        self._counter[0] += 1

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool):
        if flag and not np.issubdtype(self._data.dtype, np.floating):
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, but "
                f"{describe(self)} has dtype {self._data.dtype}"
            )
        if not flag and self._ctx is not None:
            raise RuntimeError(
                f"requires_grad: {describe(self)} was produced by {self._ctx.fn.name} and is "
                "part of a graph; use .detach() to get a tensor outside the graph"
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = flag
        return self

    def detach(self) -> "Tensor":
        """The same data, outside the graph: gradients do not flow through it.

        The two share memory, so they share the version counter too: editing one makes a
        backward that saved the other refuse to run."""
        t = Tensor(self._data, name=self.name)
        t._counter = self._counter
        return t

    @property
    def version(self) -> int:
        """How many times this tensor's data (or data it shares) has been assigned."""
        return self._counter[0]

    def backward(self, grad=None, retain_graph=False, intermediate_grads=True):
        """Compute the gradient of this tensor with respect to every tensor it depends on.

        intermediate_grads=False gives .grad to leaves only (less memory, for training). To
        stop in pdb inside an op's backward: `with mg.break_on("softmax"): y.backward()`."""
        autograd.backward(self, grad, retain_graph=retain_graph,
                          intermediate_grads=intermediate_grads)

    def zero_grad(self):
        self.grad = None

    @property
    def grad_fn(self):
        """The op that produced this tensor (a Function subclass), or None for a leaf."""
        return self._ctx.fn if self._ctx is not None else None

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    # ---- NumPy-like attributes ------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        """The rows along the first axis, each a tensor in the graph (as PyTorch)."""
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor (use .item() for its value)")
        return (self[i] for i in range(len(self._data)))

    def item(self):
        if self._data.size != 1:
            raise ValueError(
                f"item: only a tensor with one element can be converted to a Python "
                f"scalar, got shape {self.shape}"
            )
        return self._data.item()

    def numpy(self) -> np.ndarray:
        return self._data

    def astype(self, dtype) -> "Tensor":
        return Cast.apply(self, dtype=np.dtype(dtype))

    def __repr__(self) -> str:
        parts = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self.name:
            parts.insert(0, f"name={self.name!r}")
        if self._ctx is not None:
            parts.append(f"op={self._ctx.fn.name}")
        if self._requires_grad:
            parts.append("requires_grad=True")
        body = np.array2string(self._data, threshold=50, prefix="       ")
        return f"Tensor({body}, {', '.join(parts)})"

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all() on .data"
            )
        return bool(self._data)

    __hash__ = object.__hash__  # == builds a tensor, so identity is the hash

    # ---- arithmetic: each operator is one op ---------------------------------------------

    def __add__(self, other):
        return Add.apply(self, other)

    def __radd__(self, other):
        return Add.apply(other, self)

    def __sub__(self, other):
        return Sub.apply(self, other)

    def __rsub__(self, other):
        return Sub.apply(other, self)

    def __mul__(self, other):
        return Mul.apply(self, other)

    def __rmul__(self, other):
        return Mul.apply(other, self)

    def __truediv__(self, other):
        return Div.apply(self, other)

    def __rtruediv__(self, other):
        return Div.apply(other, self)

    def __pow__(self, other):
        return Pow.apply(self, other)

    def __rpow__(self, other):
        return Pow.apply(other, self)

    def __neg__(self):
        return Neg.apply(self)

    def __matmul__(self, other):
        return MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return MatMul.apply(other, self)

    # Comparisons give boolean tensors outside the graph: they have no useful gradient.
    def __lt__(self, other):
        return Tensor._from_op(self._data < _unwrap(other))

    def __le__(self, other):
        return Tensor._from_op(self._data <= _unwrap(other))

    def __gt__(self, other):
        return Tensor._from_op(self._data > _unwrap(other))

    def __ge__(self, other):
        return Tensor._from_op(self._data >= _unwrap(other))

    def __eq__(self, other):
        return Tensor._from_op(self._data == _unwrap(other))

    def __ne__(self, other):
        return Tensor._from_op(self._data != _unwrap(other))

    # ---- elementwise math ------------------------------------------------------------------

    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def sqrt(self):
        return Sqrt.apply(self)

    def tanh(self):
        return Tanh.apply(self)

    def sigmoid(self):
        return Sigmoid.apply(self)

    def relu(self):
        return Relu.apply(self)

    def abs(self):
        return Abs.apply(self)

    def clip(self, min=None, max=None):
        return Clip.apply(self, low=constant("clip", "min", min),
                          high=constant("clip", "max", max))

    def maximum(self, other):
        return Maximum.apply(self, other)

    def minimum(self, other):
        return Minimum.apply(self, other)

    # ---- reductions -------------------------------------------------------------------------

    def sum(self, axis=None, keepdims=False):
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return Min.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, correction=1):
        return Var.apply(self, axis=axis, keepdims=keepdims, correction=correction)

    # ---- shapes ------------------------------------------------------------------------------

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Permute.apply(self, axes=axes)

    def transpose(self, axis0=-2, axis1=-1):
        """Swap two axes (the last two by default), as torch.transpose."""
        return SwapAxes.apply(self, axis0=axis0, axis1=axis1)

    def swapaxes(self, axis0, axis1):
        return SwapAxes.apply(self, axis0=axis0, axis1=axis1)

    @property
    def T(self):
        """All axes reversed, as NumPy's .T."""
        return Permute.apply(self, axes=tuple(reversed(range(self.ndim))))

    def expand(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return BroadcastTo.apply(self, shape=shape)

    broadcast_to = expand

    def __getitem__(self, index):
        return GetItem.apply(self, index=_unwrap_index(index))

    def split(self, split_size_or_sections, axis=0):
        return split(self, split_size_or_sections, axis=axis)

    def masked_fill(self, mask, value):
        return MaskedFill.apply(self, _unwrap(mask), value=constant("masked_fill", "value",
                                                                     value))


# The engine, the ops and the conversions import Tensor from this module, so they come
# after it is defined.
# isort: off
from minigrad.convert import as_array as _as_array, constant  # noqa: E402
from minigrad.convert import unwrap as _unwrap, unwrap_index as _unwrap_index  # noqa: E402
from minigrad import autograd  # noqa: E402
from minigrad.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub  # noqa: E402
from minigrad.ops.elementwise import (  # noqa: E402
    Abs, Cast, Clip, Exp, Log, Maximum, Minimum, Relu, Sigmoid, Sqrt, Tanh,
)
from minigrad.ops.index import GetItem, MaskedFill  # noqa: E402
from minigrad.ops.join import split  # noqa: E402
from minigrad.ops.matmul import MatMul  # noqa: E402
from minigrad.ops.reduce import Max, Mean, Min, Sum, Var  # noqa: E402
from minigrad.ops.shape import BroadcastTo, Permute, Reshape, SwapAxes  # noqa: E402
# isort: on
