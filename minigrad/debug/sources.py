"""Where an op was created: the file and line of *your* code, outside the minigrad package.

    with mg.record_sources():
        loss = model(x)         # every node notes its line: ctx.note("source")

Error messages, anomaly mode, the per-node check and the step-through table then say
"created at train.py:42 in step". Looking up the caller costs a few microseconds per op,
so it is on only inside the block.
"""

import contextlib
import os
import sys

from minigrad import hooks

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # minigrad/


def _outside_package(frame):
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        frame = frame.f_back
    return frame


def user_source_line() -> str | None:
    """Where the current op was called from, outside the minigrad package: 'file.py:12 in
    f', plus the caller's line when the innermost one is a helper (say, a layer's softmax)."""
    frame = _outside_package(sys._getframe(1))
    lines = []
    while frame is not None and len(lines) < 2:
        lines.append(_place(frame))
        if frame.f_code.co_name == "<module>":
            break  # a script's or a cell's top level: what calls it is the interpreter
        frame = frame.f_back
    return ", called from ".join(lines) or None


def _place(frame) -> str:
    """'file.py:12 in f'; code typed into Jupyter or IPython lives in a temporary file
    (/tmp/ipykernel_123/456.py, <ipython-input-3-...>) whose name means nothing to the
    reader, so it is called a notebook cell instead."""
    path, line, function = frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
    if path.startswith("<ipython-input-") or \
            os.path.basename(os.path.dirname(path)).startswith("ipykernel_"):
        return f"line {line} of a notebook cell, in {function}"
    try:
        path = os.path.relpath(path)
    except ValueError:  # a different drive on Windows
        pass
    return f"{path}:{line} in {function}"


def user_stacklevel() -> int:
    """The `stacklevel` that makes a warning point at the first frame outside minigrad."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


class SourceRecorder(hooks.Tool):
    """Notes on every recorded node the line of user code that created it."""

    def on_forward(self, ctx, arrays, result):
        if ctx.recorded:
            ctx.add_note("source", user_source_line())


@contextlib.contextmanager
def record_sources():
    """Remember the file and line of your code that created each op (ctx.note("source"))."""
    with hooks.using(SourceRecorder()):
        yield
