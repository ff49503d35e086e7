"""Optimizers: SGD (momentum, weight decay), Adam, AdamW, and gradient-norm clipping.

Each step reads `p.grad` and assigns `p.data`, plain NumPy, outside any graph. Their state
(momentum buffers, Adam's moments and step count) can be saved and restored with
`state_dict()` / `load_state_dict()`, so a resumed run continues exactly where it stopped.
"""

import numpy as np


class Optimizer:
    """Holds the parameters and per-parameter state arrays; subclasses define `_update`."""

    slots: tuple = ()  # the names of the per-parameter state arrays a subclass keeps

    def __init__(self, params, lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be a finite positive "
                             f"number, got {lr}")
        self.lr = lr
        self.step_count = 0
        self.state = {}  # slot name -> list of arrays, one per parameter (or None)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for i, p in enumerate(self.params):  # all checked before any parameter moves
            if p.grad is not None and np.shape(p.grad) != p.shape:
                raise ValueError(
                    f"{type(self).__name__}.step: parameter {i} ({p.name or 'unnamed'}) of "
                    f"shape {p.shape} has a .grad of shape {np.shape(p.grad)}; a gradient "
                    "has its parameter's shape (was .grad set by hand?)")
        self.step_count += 1
        for i, p in enumerate(self.params):
            if p.grad is not None:
                p.data = p.data - self._update(i, p.data, p.grad).astype(p.dtype, copy=False)

    def _slot(self, name: str, i: int, like: np.ndarray) -> np.ndarray:
        """State array `name` of parameter i, created as zeros on first use."""
        slots = self.state.setdefault(name, [None] * len(self.params))
        if slots[i] is None:
            slots[i] = np.zeros_like(like)
        return slots[i]

    def state_dict(self) -> dict:
        """Flat dict of arrays (npz-ready): 'step', 'lr', and '<slot>.<param index>'."""
        state = {"step": np.array(self.step_count), "lr": np.array(self.lr)}
        for name, slots in self.state.items():
            for i, array in enumerate(slots):
                if array is not None:
                    state[f"{name}.{i}"] = array.copy()
        return state

    def load_state_dict(self, state: dict, source: str = "state_dict"):
        """Restore from state_dict(); checked first, so a mismatch changes nothing."""
        self.apply_state(self.checked_state(state, source))

    def checked_state(self, state: dict, source: str = "state_dict") -> tuple:
        """(step, lr, slots) from a state_dict, every value checked: a step that is a
        non-negative integer, a finite positive lr, and slot arrays of the parameters'
        shapes holding finite floats (Adam's second moments also non-negative). Raises
        ValueError naming `source` and the problem; changes nothing."""
        where = f"{type(self).__name__}.load_state_dict: {source}"
        step = np.asarray(state.get("step", 0))
        lr = np.asarray(state.get("lr", self.lr))
        if step.shape != () or step.dtype.kind not in "iu" or not 0 <= step < MAX_STEPS:
            raise ValueError(f"{where} has step {step!r}: it must be a non-negative integer. "
                             "Nothing was loaded.")
        if lr.shape != () or lr.dtype.kind not in "iuf" or not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"{where} has lr {lr!r}: it must be a finite positive number. "
                             "Nothing was loaded.")
        restored = {}
        for key, value in state.items():
            if key in ("step", "lr"):
                continue
            name, _, index = key.rpartition(".")
            if name not in self.slots:
                raise ValueError(f"{where} has state '{key}', which {type(self).__name__} "
                                 f"does not keep (it keeps {list(self.slots)}). Nothing was "
                                 "loaded.")
            if not index.isdigit() or int(index) >= len(self.params):
                raise ValueError(
                    f"{where} has key '{key}', which names no parameter (there are "
                    f"{len(self.params)}). Nothing was loaded."
                )
            i = int(index)
            value = np.asarray(value)
            problem = _slot_problem(name, value, self.params[i].shape)
            if problem:
                raise ValueError(f"{where} has '{key}' {problem}. Nothing was loaded.")
            restored.setdefault(name, [None] * len(self.params))[i] = np.array(
                value, dtype=np.int64 if name == "step" else value.dtype)
        for i in range(len(self.params)):  # a parameter has all of its state, or none
            have = [name for name in self.slots if restored.get(name, [None] * (i + 1))[i]
                    is not None]
            if have and len(have) != len(self.slots):
                lacking = [f"{name}.{i}" for name in self.slots if name not in have]
                raise ValueError(f"{where} has {', '.join(f'{n}.{i}' for n in have)} but not "
                                 f"{', '.join(lacking)}: a parameter's state comes whole. "
                                 "Nothing was loaded.")
        return int(step), float(lr), restored

    def apply_state(self, checked: tuple):
        """Take the state that checked_state returned."""
        self.step_count, self.lr, self.state = checked


MAX_STEPS = 2**53  # step counts beyond this are corrupt (and would overflow as they grow)


def _slot_problem(name: str, value: np.ndarray, shape: tuple) -> str:
    """What is wrong with a saved state array, or '' (a per-parameter step count is a
    non-negative integer; the rest are finite floats of the parameter's shape, and a
    second moment is never negative)."""
    if name == "step":
        if value.shape != () or value.dtype.kind not in "iu" or not 0 <= value < MAX_STEPS:
            return f"= {value!r}: a step count must be a non-negative integer"
        return ""
    if value.shape != shape:
        return f"of shape {value.shape}, but it should have shape {shape}"
    if value.dtype.kind != "f" or not np.isfinite(value).all():
        return f"with dtype {value.dtype}: it must hold finite floats"
    if name == "exp_avg_sq" and (value < 0).any():
        return "with negative entries: a mean square is never negative"
    return ""


def _check_at_least_zero(optimizer: str, **values):
    """A usage error naming the first setting that is not a finite number >= 0."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or \
                not np.isfinite(value) or value < 0:
            raise ValueError(f"{optimizer}: {name} must be a finite number >= 0, got {value!r}")


class SGD(Optimizer):
    """p -= lr * v, with v = momentum * v + (grad + weight_decay * p)."""

    slots = ("momentum",)

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        _check_at_least_zero("SGD", momentum=momentum, weight_decay=weight_decay)
        self.momentum, self.weight_decay = momentum, weight_decay

    def _update(self, i, p, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * p
        if self.momentum:
            velocity = self._slot("momentum", i, p)
            velocity *= self.momentum
            velocity += grad
            grad = velocity
        return self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba): step along the bias-corrected mean of the gradient, divided by the
    root of its bias-corrected mean square. weight_decay adds weight_decay * p to the
    gradient (L2, as torch.optim.Adam); AdamW decays the weights directly instead."""

    slots = ("exp_avg", "exp_avg_sq", "step")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        for name, beta in (("betas[0]", self.beta1), ("betas[1]", self.beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be in [0, 1), got {beta}")
        _check_at_least_zero(type(self).__name__, eps=eps, weight_decay=weight_decay)
        self.eps, self.weight_decay = eps, weight_decay

    def _update(self, i, p, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * p
        return self._adam_step(i, p, grad)

    def _adam_step(self, i, p, grad):
        m = self._slot("exp_avg", i, p)
        v = self._slot("exp_avg_sq", i, p)
        # Each parameter counts its own steps: one that first gets a gradient late still
        # starts with the right bias correction (as torch.optim.Adam does).
        t = self._slot("step", i, np.zeros((), dtype=np.int64))
        t += 1
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        # Early on m and v are biased towards their zero start; dividing by 1 - beta^t fixes it.
        m_hat = m / (1 - self.beta1 ** int(t))
        v_hat = v / (1 - self.beta2 ** int(t))
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p -= lr * wd * p each step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay)

    def _update(self, i, p, grad):
        return self.lr * self.weight_decay * p + self._adam_step(i, p, grad)


def clip_grad_norm_(params, max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most max_norm.

    Returns the norm before clipping (useful to log). Scaling all of them by one factor
    keeps the direction of the update, unlike clipping each element."""
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float, np.floating)) or \
            not max_norm > 0:
        # A negative bound would flip every gradient (and train uphill); zero, stop training.
        raise ValueError(f"clip_grad_norm_: max_norm must be a positive number, got "
                         f"{max_norm!r}")
    params = list(params)  # a generator would be used up by the first pass
    grads = [p.grad for p in params if p.grad is not None]
    total = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * scale
    return total
