"""Grading yourself in a handout: each task's tests, under a time limit, into points.

In a handout, `python -m course grade` runs the task tests (tests/test_tasks.py, one
pytest process per task, so a crash or an infinite loop costs that task only) and turns
them into a table of points. Those tests are the grader's own checks (course/grader/
*_checks.py, shipped in the handout), judged by the same code at the same tolerance; the
instructor's grader draws fresh inputs and may add hidden checks.

The student's code runs here as the student, with no sandbox (it is their own code, on
their own machine): every line of the output says "not isolated", so that no one mistakes
it for the instructor's grading. results.json is in Gradescope's format: tests[] with
name, score, max_score and output, and the total.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from course.catalogue import TASKS, select

GRADING_TESTS = "tests/test_tasks.py"
MARK = "[not isolated] "


@dataclass
class TaskResult:
    task: object
    passed: int
    total: int
    output: str
    seconds: float
    timed_out: bool = False

    @property
    def score(self) -> float:
        if self.total == 0 or self.timed_out:
            return 0.0
        return round(self.task.points * self.passed / self.total, 2)


def _failures(report: Path) -> tuple:
    """(passed, total, messages) from a pytest JUnit XML report."""
    tree = ElementTree.parse(report)
    passed, total, messages = 0, 0, []
    for case in tree.iter("testcase"):
        total += 1
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None and case.find("skipped") is None:
            passed += 1
        else:
            text = (problem.get("message") if problem is not None else "skipped") or ""
            first = text.strip().splitlines()[0][:300] if text.strip() else ""
            # A collection error's message is bare; the E-lines of its text say what broke
            # (a SyntaxError in the student's file, with its line).
            details = [line[1:].strip() for line in (problem.text or "").splitlines()
                       if line.startswith("E ")] if problem is not None else []
            if details and first not in details[-1]:
                first = f"{first} {details[-1][:300]}".strip()
            messages.append(f"{case.get('name')}: {first}" if first else case.get("name"))
    return passed, total, messages


def _pristine_tests() -> Path:
    """This installation's own grading tests (not the graded copy's, which may be edited)."""
    from course.handout import repository_root

    path = repository_root() / GRADING_TESTS
    if not path.exists():
        raise FileNotFoundError(f"course grade: {path} is missing; grade from a checkout of "
                                "the repository")
    return path


def run_task(directory: Path, task, timeout: float) -> TaskResult:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        report = scratch / "report.xml"
        shutil.copyfile(_pristine_tests(), scratch / "test_tasks.py")
        markers = "\n".join(f"    {t.id}: grades task {t.number}" for t in TASKS)
        (scratch / "pytest.ini").write_text(f"[pytest]\nmarkers =\n{markers}\n")
        command = [sys.executable, "-m", "pytest", "test_tasks.py", "-m", task.id, "-q",
                   "-c", str(scratch / "pytest.ini"), "--rootdir", str(scratch),
                   "--noconftest", "-p", "no:cacheprovider", f"--junitxml={report}"]
        # The copy's own packages come first, whatever is installed in the environment.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(directory)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                if p])}
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=scratch, env=env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return TaskResult(task, 0, 0, f"timed out after {timeout:g} s (an infinite loop?); "
                              "scored 0", time.perf_counter() - start, timed_out=True)
        seconds = time.perf_counter() - start
        if not report.exists():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            return TaskResult(task, 0, 0, f"pytest did not run:\n{tail}", seconds)
        passed, total, messages = _failures(report)
    if total == 0:
        return TaskResult(task, 0, 0, f"no tests marked {task.id} were found", seconds)
    output = (f"{passed} of {total} tests passed" +
              ("" if not messages else ":\n" + "\n".join(messages)))
    return TaskResult(task, passed, total, output, seconds)


def assigned_tasks(directory: Path):
    """The task ids a handout was made with (its marker file), or None for all tasks."""
    from course.handout import MARKER

    marker = directory / MARKER
    return marker.read_text().split() if marker.exists() else None


def self_grade(directory=".", task_ids=None, timeout=120.0, results=None) -> list:
    """Grade `directory`: the given tasks, else the ones its handout assigned, else all.
    Writes results.json into the graded folder unless `results` names another path."""
    directory = Path(directory).resolve()
    if not (directory / "minigrad").is_dir():
        raise FileNotFoundError(f"course grade: {directory} has no minigrad/ package; give "
                                "the folder of a handout or of the repository")
    if importlib.util.find_spec("pytest") is None:
        raise RuntimeError("course grade: pytest is not installed in this environment "
                           "(pip install -e \".[test]\")")
    tasks = select(task_ids or assigned_tasks(directory))
    outcomes = [run_task(directory, task, timeout) for task in tasks]
    payload = {
        "score": round(sum(r.score for r in outcomes), 2),
        "max_score": sum(r.task.points for r in outcomes),
        "output": MARK + "a self-check in the handout, run without a sandbox",
        "tests": [{"name": f"{MARK}Task {r.task.number}: {r.task.title}", "score": r.score,
                   "max_score": r.task.points, "output": marked(r.output)}
                  for r in outcomes],
    }
    path = Path(results) if results else directory / "results.json"
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return outcomes


def marked(text: str) -> str:
    return "\n".join(MARK + line for line in text.splitlines())


def table(outcomes) -> str:
    lines = [f"{'task':<6} {'title':<30} {'tests':>9} {'points':>13}"]
    for r in outcomes:
        tests = "timeout" if r.timed_out else f"{r.passed}/{r.total}"
        lines.append(f"{r.task.number:<6} {r.task.title:<30} {tests:>9} "
                     f"{r.score:>6g} / {r.task.points:<4}")
    total = sum(r.score for r in outcomes)
    lines.append(f"{'':<6} {'total':<30} {'':>9} {total:>6g} / "
                 f"{sum(r.task.points for r in outcomes):<4}")
    lines.append("a self-check: your code ran as you, without the grader's sandbox")
    return marked("\n".join(lines))
