"""A throwaway copy of the project, for tests that change its code and run its tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_project(tmp_path: Path) -> Path:
    """The packages, course tooling, tests, examples, docs and editor settings, under
    tmp_path/copy."""
    copy = tmp_path / "copy"
    for folder in ("minigrad", "attention", "course", "tests", "examples", "docs", ".vscode"):
        shutil.copytree(ROOT / folder, copy / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def run_pytest(copy: Path, tests: list, *options) -> subprocess.CompletedProcess:
    """pytest on `tests` inside the copy, importing the copy's packages."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    # -n 0: in one process, whatever the copy's addopts say (the test running this is
    # already one of several running side by side).
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-n", "0", *options, *tests], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=600)


def run_python(copy: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run([sys.executable, "-c", code], cwd=copy.parent, env=env,
                          capture_output=True, text=True, timeout=120)


def answer(handout: Path, task_id: str, replacements: dict | None = None):
    """Answer a task in a handout as a student would: each stub of `task_id`, between its
    TASK markers, becomes the repository's solution, or `replacements[what]` when given."""
    from course.catalogue import BY_ID
    from course.regions import find_regions

    task, replacements = BY_ID[task_id], replacements or {}
    for name in task.files:
        for region in find_regions((ROOT / name).read_text(encoding="utf-8"), name):
            if region.task != task_id:
                continue
            path = handout / name
            text = path.read_text(encoding="utf-8")
            stub = (f'{region.indent}raise NotImplementedError("Task {task.number}: '
                    f'implement {region.what}")')
            assert stub in text, f"stub for {region.what} not found in {name}"
            path.write_text(text.replace(stub, replacements.get(region.what, region.body)),
                            encoding="utf-8")
