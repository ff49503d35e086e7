"""Grading a copy of the repository: each task's tests, under a time limit, into points.

Each task runs in its own pytest process, so a crash or an infinite loop in one task's
code costs that task only: the process is killed at the time limit and the task scores 0.
Points are the task's points times the fraction of its tests that pass. results.json is
in Gradescope's format: tests[] with name, score, max_score and output, and the total.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from minigrad.course.catalogue import select

GRADING_TESTS = "tests/test_tasks.py"


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
            messages.append(f"{case.get('name')}: {text.strip().splitlines()[0][:300]}"
                            if text.strip() else case.get("name"))
    return passed, total, messages


def run_task(directory: Path, task, timeout: float) -> TaskResult:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        command = [sys.executable, "-m", "pytest", GRADING_TESTS, "-m", task.id, "-q",
                   "-p", "no:cacheprovider", "-o", "addopts=", f"--junitxml={report}"]
        # The copy's own packages come first, whatever is installed in the environment.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(directory)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                if p])}
        start = time.perf_counter()
        try:
            subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True,
                           timeout=timeout)
        except subprocess.TimeoutExpired:
            return TaskResult(task, 0, 0, f"timed out after {timeout:g} s (an infinite loop?); "
                              "scored 0", time.perf_counter() - start, timed_out=True)
        seconds = time.perf_counter() - start
        if not report.exists():
            return TaskResult(task, 0, 0, "pytest did not run (could not import the tests?)",
                              seconds)
        passed, total, messages = _failures(report)
    if total == 0:
        return TaskResult(task, 0, 0, f"no tests marked {task.id} were found", seconds)
    output = (f"{passed} of {total} tests passed" +
              ("" if not messages else ":\n" + "\n".join(messages)))
    return TaskResult(task, passed, total, output, seconds)


def grade(directory=".", task_ids=None, timeout=120.0, results="results.json") -> list:
    directory = Path(directory).resolve()
    if not (directory / GRADING_TESTS).exists():
        raise FileNotFoundError(f"course grade: {directory} has no {GRADING_TESTS}; give the "
                                "folder of a handout or of the repository")
    outcomes = [run_task(directory, task, timeout) for task in select(task_ids)]
    payload = {
        "score": round(sum(r.score for r in outcomes), 2),
        "max_score": sum(r.task.points for r in outcomes),
        "tests": [{"name": f"Task {r.task.number}: {r.task.title}", "score": r.score,
                   "max_score": r.task.points, "output": r.output} for r in outcomes],
    }
    if results:
        Path(results).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return outcomes


def table(outcomes) -> str:
    lines = [f"{'task':<6} {'title':<30} {'tests':>9} {'points':>13}"]
    for r in outcomes:
        tests = "timeout" if r.timed_out else f"{r.passed}/{r.total}"
        lines.append(f"{r.task.number:<6} {r.task.title:<30} {tests:>9} "
                     f"{r.score:>6g} / {r.task.points:<4}")
    total = sum(r.score for r in outcomes)
    lines.append(f"{'':<6} {'total':<30} {'':>9} {total:>6g} / "
                 f"{sum(r.task.points for r in outcomes):<4}")
    return "\n".join(lines)
