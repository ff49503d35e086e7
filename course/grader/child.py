"""The child process: run one task's checks with the student's answers in place.

Started by the grader inside the sandbox (sandbox.py) as `python -I -S -c ...`, with its
copy of the handout (TREE: the student's answers spliced in, no solution) and NumPy on the
import path and nothing else; it loads this file by its path, so that it runs even when
the package fails to import. Nothing here can compute what a check expects: the modules
that would (checks.WITHHELD) are not in the tree, and import as sealed ones.

Each check runs in a process of its own, forked from this one after the imports: for check
i it reads inputs/i.npz, runs the check's compute, and writes outputs/i.npz (arrays only)
and outputs/i.json (which outputs were None, or the error raised). So whatever an answer
does to the process it runs in (patching this harness, exiting, looping forever) reaches
that one check only: a check that does not finish within its time, or ends without a
result, is reported as such and the next one runs. Nothing it writes can decide a score by
itself: the grader reads it as data and compares it with its own values.
"""

import functools
import importlib
import importlib.abc
import json
import os
import select
import signal
import sys
import time
import traceback
import types
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


class Sealed(types.ModuleType):
    """A withheld module of the specification (checks.WITHHELD): the check modules import
    it as usual, and any use of it in the child says whose it is."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def sealed(*args, **kwargs):
            raise RuntimeError(f"{self.__name__}.{name} computes what the checks expect: it "
                               "is the judge's, and not available while an answer runs")
        return sealed


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


def _run_check(check, inputs_file: Path, outputs: Path, i: int, tree: str, answers: dict):
    """One check, in its own process: the student's code runs here, and only here."""
    with np.load(inputs_file, allow_pickle=False) as stored:
        inputs = {key: stored[key] for key in stored.files}
    start = time.perf_counter()
    report = {"missing": [], "error": None}
    arrays = {}
    try:
        arrays, report["missing"] = _arrays(check.compute(inputs))
    except Exception as error:  # the student's code failed: that is the result
        report["error"] = _describe(error, tree, answers)
    report["seconds"] = time.perf_counter() - start
    _write(outputs, i, arrays, report)


def _in_own_process(run, seconds: float) -> dict | None:
    """Run `run()` in a forked process; None when it ended normally, else why not (it
    overran `seconds` and was killed, or died)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the check's process
        code = 1
        try:
            os.setpgid(0, 0)  # its own group, so what it starts is killed with it
            run()
            code = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    start = time.perf_counter()
    handle = os.pidfd_open(pid)
    finished, _, _ = select.select([handle], [], [], seconds)
    if not finished:
        for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
    _, status = os.waitpid(pid, 0)
    os.close(handle)
    if not finished:
        return {"type": "Timeout", "message": f"did not finish within {seconds:g} s (an "
                "infinite loop?)", "seconds": time.perf_counter() - start}
    if os.waitstatus_to_exitcode(status) != 0:
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else \
            f"exited with status {code}"
        return {"type": "Crash", "message": f"the check's process {how} before it wrote a "
                "result", "seconds": time.perf_counter() - start}
    return None


def main(spec_path: str):
    spec = json.loads(Path(spec_path).read_text())

    outputs, tree, answers = Path(spec["outputs"]), spec["tree"], spec["answers"]
    for name in spec.get("withheld", ()):
        sys.modules[name] = Sealed(name)
    try:
        from course.grader.checks import checks_for  # imports minigrad: may fail

        checks = {c.name: c for c in checks_for(spec["task"], spec["sources"])}
    except Exception as error:  # the package does not even import (a SyntaxError, say)
        failure = {"missing": [], "error": _describe(error, tree, answers), "seconds": 0.0}
        for i in range(len(spec["checks"])):
            _write(outputs, i, {}, failure)
        return
    for module in spec.get("preload", ()):  # once here, not in every check's process
        try:
            importlib.import_module(module)
        except Exception:  # noqa: S110  (each check that needs it reports the error itself)
            pass
    for i, name in enumerate(spec["checks"]):
        run = functools.partial(_run_check, checks[name], Path(spec["inputs"]) / f"{i}.npz",
                                outputs, i, tree, answers)
        problem = _in_own_process(run, spec.get("check_seconds", 60.0))
        if problem is not None or not (outputs / f"{i}.json").is_file():
            problem = problem or {"type": "Crash", "message": "the check's process ended "
                                  "without writing a result", "seconds": 0.0}
            seconds = problem.pop("seconds")
            _write(outputs, i, {}, {"missing": [], "error": problem, "seconds": seconds})


if __name__ == "__main__":
    main(sys.argv[1])
