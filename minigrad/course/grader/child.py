"""The child process: run one task's checks with the student's answer in place.

Started by the grader as

    python -I -c "import sys; sys.path.insert(0, TREE); ...child.main(SPEC)"

in a scratch copy (TREE) of the grader's own packages with the task's answers spliced in.
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


def _where(error: BaseException, tree: str) -> str:
    """file:line of the innermost frame inside the copy (the student's line, usually)."""
    inside = [frame for frame in traceback.extract_tb(error.__traceback__)
              if frame.filename.startswith(tree)]
    if not inside:
        return ""
    frame = inside[-1]
    return f"{Path(frame.filename).relative_to(tree).as_posix()}:{frame.lineno}"


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
    from minigrad.course.grader.checks import checks_for

    spec = json.loads(Path(spec_path).read_text())
    scratch, tree = Path(spec["scratch"]), spec["tree"]
    checks = {c.name: c for c in checks_for(spec["task"], spec["sources"])}
    for i, name in enumerate(spec["checks"]):
        with np.load(scratch / "inputs" / f"{i}.npz", allow_pickle=False) as stored:
            inputs = {key: stored[key] for key in stored.files}
        start = time.perf_counter()
        report = {"missing": [], "error": None}
        arrays = {}
        try:
            arrays, report["missing"] = _arrays(checks[name].compute(inputs))
        except Exception as error:  # the student's code failed: that is the result
            message = str(error).strip().splitlines()
            report["error"] = {"type": type(error).__name__,
                               "message": (message[0] if message else "")[:500],
                               "where": _where(error, tree)}
        report["seconds"] = time.perf_counter() - start
        np.savez(scratch / "outputs" / f"{i}.npz", **arrays)
        (scratch / "outputs" / f"{i}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
