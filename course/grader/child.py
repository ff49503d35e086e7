"""The child process: run one task's checks with the student's answer in place.

Started by the grader as `python -I -c ...`, which puts TREE first on the import path and
loads this file by its path (so that it runs even when the package fails to import), in a
scratch copy (TREE) of the grader's own packages with the task's answers spliced in.
For check i it reads inputs/i.npz, runs the check's compute, and writes outputs/i.npz
(arrays only) and outputs/i.json (which outputs were None, or the error raised). It writes
after every check, so a check that never returns costs only itself and those after it.
Nothing it writes can decide a score by itself: the grader compares it with its own values.
"""

import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np


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
    return {"type": type(error).__name__, "message": (message[0] if message else "")[:500],
            "where": _where(error, tree, answers)}


def _write(scratch: Path, i: int, arrays: dict, report: dict):
    np.savez(scratch / "outputs" / f"{i}.npz", **arrays)
    (scratch / "outputs" / f"{i}.json").write_text(json.dumps(report))


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

    scratch, tree, answers = Path(spec["scratch"]), spec["tree"], spec["answers"]
    try:
        from course.grader.checks import checks_for  # imports minigrad: may fail

        checks = {c.name: c for c in checks_for(spec["task"], spec["sources"])}
    except Exception as error:  # the package does not even import (a SyntaxError, say)
        failure = {"missing": [], "error": _describe(error, tree, answers), "seconds": 0.0}
        for i in range(len(spec["checks"])):
            _write(scratch, i, {}, failure)
        return
    for i, name in enumerate(spec["checks"]):
        with np.load(scratch / "inputs" / f"{i}.npz", allow_pickle=False) as stored:
            inputs = {key: stored[key] for key in stored.files}
        start = time.perf_counter()
        report = {"missing": [], "error": None}
        arrays = {}
        try:
            arrays, report["missing"] = _arrays(checks[name].compute(inputs))
        except Exception as error:  # the student's code failed: that is the result
            report["error"] = _describe(error, tree, answers)
        report["seconds"] = time.perf_counter() - start
        _write(scratch, i, arrays, report)


if __name__ == "__main__":
    main(sys.argv[1])
