"""The child process: run one task's checks with the student's answers in place.

Started by the grader inside the sandbox (sandbox.py) as `python -I -S -c ...`, with its
copy of the handout (TREE: the student's answers spliced in, no solution) and NumPy on the
import path and nothing else; it loads this file by its path, so that it runs even when
the package fails to import. For check i it reads inputs/i.npz, runs the check's compute,
and writes outputs/i.npz (arrays only) and outputs/i.json (which outputs were None, or the
error raised). It writes after every check, so a check that never returns costs only
itself and those after it. Nothing it writes can decide a score by itself: the grader
reads it as data and compares it with its own values.
"""

import importlib.abc
import json
import sys
import time
import traceback
from pathlib import Path

# Array and autodiff libraries an answer may not use: NumPy only.
FORBIDDEN = ("torch", "jax", "jaxlib", "tensorflow", "autograd", "mygrad", "cupy", "tinygrad",
             "mxnet", "paddle", "chainer", "theano", "keras", "scipy", "sympy", "numba",
             "dask", "minitorch", "needle", "micrograd")
MESSAGE_LIMIT = 1000  # characters of an error message sent back (feedback, not a channel)


class NumpyOnly(importlib.abc.MetaPathFinder):
    """Refuses the libraries above by name, however they are imported (import,
    __import__, importlib): the answer must be the derivative, written with NumPy."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"{name} may not be used in an answer: NumPy, math and the "
                              "helpers the stub names only")
        return None


sys.meta_path.insert(0, NumpyOnly())
import numpy as np  # noqa: E402  (after the finder, so nothing slips in through NumPy)


def _where(error: BaseException, tree: str, answers: dict) -> str:
    """file:line in the copy where it went wrong: the innermost line of the student's
    answers (`answers`: file -> [[first line, count]]) if the error passed through one,
    else the innermost line of the copy; for a SyntaxError, the line it points at."""
    places = [(frame.filename, frame.lineno) for frame in
              traceback.extract_tb(error.__traceback__)]
    if isinstance(error, SyntaxError) and error.filename:
        places.append((error.filename, error.lineno or 0))
    inside = [(Path(name).relative_to(tree).as_posix(), line) for name, line in places
              if name.startswith(tree + "/")]
    if not inside:
        return ""
    answered = [(name, line) for name, line in inside
                if any(first <= line < first + count for first, count in answers.get(name, ()))]
    name, line = (answered or inside)[-1]
    return f"{name}:{line}"


def _describe(error: BaseException, tree: str, answers: dict) -> dict:
    # A SyntaxError's str() names the copy's file and line: the `where` says it better.
    text = error.msg if isinstance(error, SyntaxError) and error.msg else str(error)
    message = text.strip().splitlines()
    return {"type": type(error).__name__[:100],
            "message": (message[0] if message else "")[:MESSAGE_LIMIT],
            "where": _where(error, tree, answers)}


def _write(outputs: Path, i: int, arrays: dict, report: dict):
    np.savez(outputs / f"{i}.npz", **arrays)
    (outputs / f"{i}.json").write_text(json.dumps(report))


def _arrays(outputs) -> tuple:
    """({name: numeric array}, [names that were None]); anything else is an error."""
    if not isinstance(outputs, dict):
        raise TypeError(f"a check returned {type(outputs).__name__}, not a dict")
    arrays, missing = {}, []
    for name, value in outputs.items():
        if value is None:
            missing.append(name)
            continue
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"output {name!r} is an array of {array.dtype}, not numbers")
        arrays[name] = array
    return arrays, missing


def main(spec_path: str):
    spec = json.loads(Path(spec_path).read_text())

    outputs, tree, answers = Path(spec["outputs"]), spec["tree"], spec["answers"]
    try:
        from course.grader.checks import checks_for  # imports minigrad: may fail

        checks = {c.name: c for c in checks_for(spec["task"], spec["sources"])}
    except Exception as error:  # the package does not even import (a SyntaxError, say)
        failure = {"missing": [], "error": _describe(error, tree, answers), "seconds": 0.0}
        for i in range(len(spec["checks"])):
            _write(outputs, i, {}, failure)
        return
    for i, name in enumerate(spec["checks"]):
        with np.load(Path(spec["inputs"]) / f"{i}.npz", allow_pickle=False) as stored:
            inputs = {key: stored[key] for key in stored.files}
        start = time.perf_counter()
        report = {"missing": [], "error": None}
        arrays = {}
        try:
            arrays, report["missing"] = _arrays(checks[name].compute(inputs))
        except Exception as error:  # the student's code failed: that is the result
            report["error"] = _describe(error, tree, answers)
        report["seconds"] = time.perf_counter() - start
        _write(outputs, i, arrays, report)


if __name__ == "__main__":
    main(sys.argv[1])
