"""Module and Parameter: named, nested containers of trainable tensors.

A Module registers every Parameter and sub-Module assigned to it as an attribute, in
order, so `named_parameters()` can list them with dotted names such as
`blocks.0.attn.q_proj.weight`. Those names are written into the parameters themselves
(the outermost module you call names everything inside it), so graph drawings and error
messages say `attn.q_proj.weight`, not "a tensor".
"""

import contextlib
import warnings
from collections import OrderedDict

import numpy as np

from minigrad.grad_mode import no_grad
from minigrad.hooks import enter_module, exit_module
from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module trains: requires_grad is on by default."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True, name=None):
        super().__init__(data, requires_grad=requires_grad, name=name)


def _converted(value: np.ndarray, target) -> tuple:
    """(problem or '', value as an array of the target's dtype). A floating parameter takes
    finite floats only (never integers or booleans, never an overflow to inf)."""
    if value.shape != target.shape:
        return f"has shape {value.shape}, the model expects {target.shape}", None
    floating = target.dtype.kind == "f"
    if floating and value.dtype.kind != "f" or \
            not np.can_cast(value.dtype, target.dtype, casting="same_kind"):
        return f"has dtype {value.dtype}, the model expects {target.dtype}", None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cast = np.array(value, dtype=target.dtype)
    if floating and not np.isfinite(cast).all():
        return f"holds values that are not finite in {target.dtype}", None
    return "", cast


def check_sizes(layer: str, **sizes):
    """Refuse a layer size that is not a positive integer, naming the layer and the size."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")


class Module:
    """Base class of layers and models. Subclasses set attributes and define forward()."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            # Assigning to a buffer keeps it a buffer (and in state_dict), as in PyTorch.
            value = value if isinstance(value, Tensor) else Tensor(value, name=name)
            object.__setattr__(self, name, value)
            return
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: np.ndarray, persistent: bool = True):
        """A non-trainable array that belongs to the module (e.g. sinusoidal positions).

        Persistent buffers are saved in state_dict(); all buffers follow to(dtype)."""
        self._buffers[name] = persistent
        object.__setattr__(self, name, Tensor(array, name=name))

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if not self.__dict__.get("_named", False):
            self._name_parameters()
        # Ops created inside forward note this module, so drawings can group them.
        enter_module(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            exit_module(self)

    # ---- walking the tree ------------------------------------------------------------

    def named_modules(self, prefix: str = ""):
        """(dotted name, module) for this module and every module inside it."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return [module for _, module in self.named_modules()]

    def children(self):
        return list(self._modules.values())

    def named_parameters(self):
        """(dotted name, parameter) for every parameter, each listed once, in order."""
        seen = set()
        for prefix, module in self.named_modules():
            for name, param in module._parameters.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{prefix}.{name}" if prefix else name), param

    def parameters(self):
        return [param for _, param in self.named_parameters()]

    def named_buffers(self, persistent_only: bool = False):
        for prefix, module in self.named_modules():
            for name, persistent in module._buffers.items():
                if persistent or not persistent_only:
                    yield (f"{prefix}.{name}" if prefix else name), getattr(module, name)

    def _name_parameters(self):
        """Give every parameter inside this module its dotted name, for graphs and errors."""
        for name, param in self.named_parameters():
            param.name = name
        for path, module in self.named_modules():
            object.__setattr__(module, "_named", True)
            object.__setattr__(module, "path", path)  # dotted name, "" for the root

    # ---- training state ----------------------------------------------------------------

    def zero_grad(self):
        for param in self.parameters():
            param.grad = None

    def train(self, mode: bool = True):
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, dtype):
        """Convert every parameter and floating buffer to `dtype` (float64 for gradcheck)."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            # Parameters are what gradients move: an integer one cannot take a step smaller
            # than 1, and complex numbers have no order for a loss to go down in.
            raise TypeError(f"{type(self).__name__}.to: parameters must be floating point "
                            f"(float16, float32, float64), got {dtype}")
        for _, param in self.named_parameters():
            param._data = param.data.astype(dtype)
            param._counter[0] += 1
            param.grad = None
        for _, buffer in self.named_buffers():
            if np.issubdtype(buffer.dtype, np.floating):
                buffer._data = buffer.data.astype(dtype)
        return self

    # ---- saving and loading --------------------------------------------------------------

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and persistent buffer, by dotted name."""
        state = OrderedDict((name, param.data.copy()) for name, param in self.named_parameters())
        for name, buffer in self.named_buffers(persistent_only=True):
            state[name] = buffer.data.copy()
        return state

    def load_state_dict(self, state, strict: bool = True, source: str = "state_dict"):
        """Copy arrays into the parameters. Everything is checked before anything changes,
        so a mismatched state leaves the module exactly as it was."""
        targets = dict(self.named_parameters())
        targets.update(self.named_buffers(persistent_only=True))
        problems = []
        missing = [name for name in targets if name not in state]
        unexpected = [name for name in state if name not in targets]
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        converted = {}
        for name, value in state.items():
            if name in targets:
                problem, converted[name] = _converted(np.asarray(value), targets[name])
                if problem:
                    problems.append(f"'{name}' {problem}")
        if problems:
            raise ValueError(
                f"load_state_dict: {source} does not fit {type(self).__name__}: "
                + "; ".join(problems) + ". Nothing was loaded."
            )
        for name, value in converted.items():  # all checked and converted: now assign
            targets[name].data = value

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            child_lines = repr(child).split("\n")
            lines.append(f"  ({name}): " + "\n  ".join(child_lines))
        return "\n".join(lines) + ("\n)" if self._modules else ")")

    def extra_repr(self) -> str:
        return ""


@contextlib.contextmanager
def evaluating(module: Module):
    """Use a model in the middle of training: inside the block it is in eval mode (no
    dropout) and records no graph; afterwards it is back in the mode it was in, even if the
    block raised. The mode belongs to the model, so do not use one model in two threads
    at once with one of them inside this block."""
    was_training = module.training
    module.eval()
    try:
        with no_grad():
            yield module
    finally:
        module.train(was_training)


class ModuleList(Module):
    """A list of modules, registered as '0', '1', ... (e.g. model.blocks.0.attn)."""

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module):
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
