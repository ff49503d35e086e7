"""Grading a submission: draw inputs, compute the expected values, run each task's child,
judge, and write results.json (Gradescope's format).

Everything the verdict depends on (the checks, the comparison, NumPy) is imported and every
expected value computed here before any of the student's code runs, and the student's code
only ever runs in a child process whose import path holds the scratch copy and nothing
from the submission.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course.catalogue import select
from course.grader.checks import BUILT_IN, checks_for, hidden_sources
from course.grader.compare import judge
from course.grader.tree import build_tree, ignored, read_answers
from course.handout import MARKER, repository_root

HIDDEN = "course/hidden_checks"  # the default folder of hidden checks


@dataclass
class Planned:
    """One check with its inputs and the solution's outputs."""

    check: object
    inputs: dict
    expected: dict


@dataclass
class TaskResult:
    task: object
    verdicts: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # damaged markers: the task scores 0
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def score(self) -> float:
        weights = sum(v.check.weight for v in self.verdicts)
        if self.problems or not weights:
            return 0.0
        earned = sum(v.check.weight * v.fraction for v in self.verdicts)
        return round(self.task.points * earned / weights, 2)

    @property
    def output(self) -> str:
        if self.problems:
            return "Not graded, scored 0:\n" + "\n".join(f"  {p}" for p in self.problems)
        right = sum(v.fraction == 1 for v in self.verdicts)
        lines = [f"{right} of {len(self.verdicts)} checks passed"
                 + (" (timed out: the checks that did not finish score 0)"
                    if self.timed_out else "")]
        for v in self.verdicts:
            mark = "ok  " if v.fraction == 1 else f"{v.right}/{v.total} " if v.right else "FAIL"
            lines.append(f"  {mark} {v.check.name}")
            lines += [f"       {message}" for message in v.messages]
        return "\n".join(lines)


def submission_root(directory) -> Path:
    """The folder holding minigrad/: the submission itself, or its only subfolder that has
    one (an upload that wrapped the handout in a folder)."""
    directory = Path(directory).resolve()
    if (directory / "minigrad").is_dir():
        return directory
    inner = [p for p in directory.iterdir() if (p / "minigrad").is_dir() and
             not p.is_symlink()] if directory.is_dir() else []
    if len(inner) == 1:
        return inner[0]
    if inner:
        raise FileNotFoundError(f"course grade: {directory} has {len(inner)} folders with a "
                                f"minigrad/ package ({', '.join(p.name for p in inner)}); "
                                "give the one to grade")
    raise FileNotFoundError(f"course grade: {directory} has no minigrad/ package; give the "
                            "folder of a handout or of the repository")


def plan(task, sources, seed: int, position: int) -> list:
    """The task's checks with inputs drawn from `seed` and the solution's outputs."""
    planned = []
    for i, check in enumerate(checks_for(task.id, sources)):
        inputs = check.draw(np.random.default_rng([seed, position, i]))
        try:
            expected = check.compute({k: np.array(v) for k, v in inputs.items()})
        except NotImplementedError as error:
            raise RuntimeError(f"course grade: this installation has no solution for task "
                               f"{task.number} ({error}); grade from the instructor's "
                               "checkout of the repository") from None
        planned.append(Planned(check, inputs, expected))
    return planned


def _child_env() -> dict:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    # Small arrays: one BLAS thread each is fastest, and tasks do not fight over cores.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               MPLBACKEND="Agg")
    return env


def _report(text: str) -> tuple:
    """(names of outputs that were None, error or None) from the child's JSON, whatever it
    holds: anything malformed is an error of its own."""
    report = json.loads(text)
    missing = [k for k in report.get("missing", []) if isinstance(k, str)]
    error = report.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise ValueError("malformed error report")
        error = {key: str(error.get(key, ""))[:500] for key in ("type", "message", "where")}
    return missing, error


def _load_output(scratch: Path, i: int, expected: dict):
    """(outputs, error) the child wrote for check i, or None if it never finished it. Files
    far larger than the expected outputs are refused unread."""
    report_path, arrays_path = scratch / "outputs" / f"{i}.json", scratch / "outputs" / f"{i}.npz"
    if not report_path.is_file() or not arrays_path.is_file():
        return None
    limit = 4 * sum(np.asarray(v).nbytes for v in expected.values() if v is not None) + 2**20
    try:
        with open(report_path, encoding="utf-8") as f:
            missing, error = _report(f.read(100_000))
        with zipfile.ZipFile(arrays_path) as archive:
            if sum(info.file_size for info in archive.infolist()) > limit:
                raise ValueError(f"the outputs hold more than {limit} bytes")
        with np.load(arrays_path, allow_pickle=False) as stored:
            got = {k: stored[k] if stored[k].dtype == bool else
                   np.asarray(stored[k], dtype=np.float64) for k in stored.files}
        got.update({k: None for k in missing})
        return got, error
    except Exception as problem:  # whatever the files hold, they are not a result
        return {}, {"type": "unreadable result", "message": str(problem)[:200], "where": ""}


def _tail(path: Path, size: int = 2000) -> list:
    """The last lines of the child's log (never the whole of it: it may be huge)."""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - size))
        return f.read().decode("utf-8", "replace").strip().splitlines()[-3:]


def run_task(submission: Path, task, planned: list, sources, timeout: float,
             own_repository: bool = False) -> TaskResult:
    result = TaskResult(task)
    answers = read_answers(submission, task, own_repository=own_repository)
    if answers.problems:
        result.problems = answers.problems
        return result
    with tempfile.TemporaryDirectory(prefix=f"grade-{task.id}-") as scratch:
        scratch = Path(scratch)
        tree = scratch / "tree"
        placed = build_tree(tree, answers.bodies)
        (scratch / "inputs").mkdir()
        (scratch / "outputs").mkdir()
        for i, item in enumerate(planned):
            np.savez(scratch / "inputs" / f"{i}.npz", **item.inputs)
        spec = {"task": task.id, "sources": list(sources), "scratch": str(scratch),
                "tree": str(tree), "checks": [item.check.name for item in planned],
                "answers": {name: [[first, count] for _, first, count in bodies]
                            for name, bodies in placed.items()}}
        (scratch / "spec.json").write_text(json.dumps(spec))
        # child.py is loaded by its path, not as part of the package: importing minigrad
        # may fail (a SyntaxError in an answer), and the child must still report that.
        child = tree / "course" / "grader" / "child.py"
        launcher = (f"import sys, importlib.util; sys.path.insert(0, {str(tree)!r}); "
                    f"spec = importlib.util.spec_from_file_location('grading_child', "
                    f"{str(child)!r}); child = importlib.util.module_from_spec(spec); "
                    f"spec.loader.exec_module(child); child.main({str(scratch / 'spec.json')!r})")
        start = time.perf_counter()
        with open(scratch / "log.txt", "wb") as log:  # a file: what it prints costs no memory
            process = subprocess.Popen([sys.executable, "-I", "-c", launcher], cwd=scratch,
                                       env=_child_env(), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                result.timed_out = True
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # and anything it left running
                process.wait()
        result.seconds = time.perf_counter() - start
        crash = _tail(scratch / "log.txt")
        for i, item in enumerate(planned):
            loaded = _load_output(scratch, i, item.expected)
            if loaded is None:
                reason = (f"did not finish: timed out after {timeout:g} s (an infinite loop?)"
                          if result.timed_out else "did not run: the child process stopped"
                          + (f" ({' '.join(crash)[:300]})" if crash else ""))
                error = {"type": "Timeout" if result.timed_out else "Crash", "message": reason}
                result.verdicts.append(judge(item.check, item.inputs, item.expected, {},
                                             error))
                continue
            got, error = loaded
            if error and error.get("where"):
                error["where"] = answers.locate(error["where"], placed)
            result.verdicts.append(judge(item.check, item.inputs, item.expected, got, error))
    return result


def grade(directory=".", task_ids=None, timeout=120.0, results=None, hidden=None,
          seed=None) -> dict:
    """Grade a submission; returns the payload written to results.json (plus the outcomes
    under "_outcomes")."""
    submission = submission_root(directory)
    marker = submission / MARKER
    assigned = marker.read_text().split() if marker.exists() and not task_ids else None
    tasks = select(task_ids or assigned)
    hidden = hidden if hidden is not None else (
        repository_root() / HIDDEN if (repository_root() / HIDDEN).is_dir() else None)
    sources = list(BUILT_IN) + hidden_sources(hidden)
    seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    # Every expected value first: no student code has run yet in this process or any other.
    plans = [plan(task, sources, seed, position) for position, task in enumerate(tasks)]
    # The repository itself is graded as it is (its solutions are the answers).
    notes = ignored(submission, tasks) if submission != repository_root() else []
    own = submission == repository_root()
    outcomes = [run_task(submission, task, planned, sources, timeout, own)
                for task, planned in zip(tasks, plans)]
    payload = {
        "score": round(sum(r.score for r in outcomes), 2),
        "max_score": sum(r.task.points for r in outcomes),
        "output": (f"Inputs drawn with seed {seed} (grade --seed {seed} repeats them).\n"
                   + ("Ignored (only the lines between TASK markers are graded):\n"
                      + "\n".join(f"  {n}" for n in notes) if notes else
                      "Nothing outside the TASK markers was changed.")),
        "seed": seed,
        "ignored": notes,
        "tests": [{"name": f"Task {r.task.number}: {r.task.title}", "score": r.score,
                   "max_score": r.task.points, "output": r.output} for r in outcomes],
    }
    path = Path(results) if results else submission / "results.json"
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return {**payload, "_outcomes": outcomes}


def table(payload) -> str:
    lines = [f"{'task':<6} {'title':<30} {'checks':>9} {'points':>13}"]
    for r in payload["_outcomes"]:
        right = sum(v.fraction == 1 for v in r.verdicts)
        checks = "markers" if r.problems else f"{right}/{len(r.verdicts)}"
        checks = "timeout" if r.timed_out else checks
        lines.append(f"{r.task.number:<6} {r.task.title:<30} {checks:>9} "
                     f"{r.score:>6g} / {r.task.points:<4}")
    lines.append(f"{'':<6} {'total':<30} {'':>9} {payload['score']:>6g} / "
                 f"{payload['max_score']:<4}")
    return "\n".join(lines)
