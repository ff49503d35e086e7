"""Anomaly mode: stop at the first NaN or inf, and say which op and which line made it.

    with mg.detect_anomaly():
        loss = model(x)          # raises AnomalyError at the first op whose output is not finite
        loss.backward()          # ... or at the first gradient that is not finite

A NaN usually appears far from its cause: log(0) gives -inf, which later meets a 0 and
turns into NaN, which then spreads to every parameter. Checking every op's output as it
is made finds the first one, and recording where each op was created (file and line of
your code) says where to look. Both cost time, so they are switched on only here.
`record_sources()` records the lines alone, for error messages and the per-node check.
"""

import contextlib

import numpy as np

from minigrad import hooks
from minigrad.debug.sources import SourceRecorder, user_source_line
from minigrad.tensor import describe


class AnomalyError(RuntimeError):
    """A NaN or inf appeared in a forward output or a backward gradient."""


class AnomalyDetector(SourceRecorder):
    """Records each op's source line, and raises at the first output or gradient that is
    not finite."""

    def on_forward(self, ctx, arrays, result):
        super().on_forward(ctx, arrays, result)
        check_forward(ctx, arrays, result)

    def on_backward(self, ctx, grad, grads):
        for i, sent in enumerate(grads):
            if sent is not None:
                check_backward(ctx, i, sent, grad)


@contextlib.contextmanager
def detect_anomaly():
    """Raise AnomalyError at the first NaN or inf in any forward output or gradient."""
    # NumPy's own warnings (divide by zero in log) would only repeat what we raise.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        with hooks.using(AnomalyDetector()):
            yield


def _describe(array: np.ndarray) -> str:
    """'2 NaN, 1 inf of 6 elements, first at (0, 1)'."""
    bad = ~np.isfinite(array)
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if array.ndim else ()
    counts = []
    if np.isnan(array).any():
        counts.append(f"{int(np.isnan(array).sum())} NaN")
    if np.isinf(array).any():
        counts.append(f"{int(np.isinf(array).sum())} inf")
    return f"{', '.join(counts)} of {array.size} elements, first at {first}"


def _not_finite(value) -> bool:
    array = np.asarray(value)
    return array.dtype.kind == "f" and not np.isfinite(array).all()


def _where(ctx) -> str:
    return ctx.note("source") or user_source_line() or "an unknown line"


def check_forward(ctx, arrays, result):
    """Raise if the op's output holds NaN or inf while its inputs were finite."""
    out = result.data
    if out.dtype.kind != "f" or np.isfinite(out).all():
        return
    if any(_not_finite(a) for a in arrays if a is not None and not isinstance(a, str)):
        return  # not the first: an input (or a constant) was already non-finite
    if any(_not_finite(v) for v in ctx.attrs.values() if isinstance(v, (float, np.ndarray))):
        return  # on purpose: masked_fill(mask, -inf) hides scores from softmax
    described = ", ".join(f"'{x.name}' {x.shape}" if x.name else f"{x.shape}"
                          for x in ctx.inputs if x is not None)
    raise AnomalyError(
        f"{ctx.fn.name}: forward produced {_describe(out)} (output shape {out.shape}) from "
        f"finite inputs {described}, created at {_where(ctx)}"
    )


def check_backward(ctx, index, grad, grad_out):
    """Raise if the gradient an op sends to input `index` holds NaN or inf."""
    if np.isfinite(grad).all():
        return
    parent = ctx.inputs[index]
    origin = ("the gradient arriving at it was already not finite"
              if not np.isfinite(grad_out).all() else "its incoming gradient was finite")
    name = describe(parent, noun=False)
    raise AnomalyError(
        f"{ctx.fn.name}.backward: the gradient for input {index} ({name}, shape "
        f"{parent.shape}) has {_describe(grad)}; {origin}. The op was created at {_where(ctx)}"
    )
