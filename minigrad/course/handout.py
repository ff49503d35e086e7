"""Making a student handout: a fresh copy of the repository with chosen solutions blanked.

The copy is a plain tree of files (no .git, so no history holding the solutions), with
every selected task's regions replaced by NotImplementedError stubs, the other regions'
markers removed, the tests intact, and a README that lists the tasks with their points.
"""

import shutil
import subprocess
from pathlib import Path

from minigrad.course.catalogue import select
from minigrad.course.regions import blank

# benchmarks/ holds hand-written backward passes (the NumPy floor): solutions in all but name.
SKIP_DIRS = {".git", ".venv", "venv", ".ci-venv", "runs", "__pycache__", ".pytest_cache",
             ".hypothesis", ".ruff_cache", "build", "dist", ".ci", "benchmarks"}
# Instructor-only paths: tests that write textbook answers into a copy of the engine, the
# grader (its checks model wrong answers by editing right ones), and its tests.
SKIP_PATHS = ("tests/test_engine_region.py", "minigrad/course/grader/", "tests/test_grader.py",
              "tests/test_course.py",
              "hidden_checks/", "docs/instructors.md")
MARKER = ".minigrad-handout"  # written into every handout; --force only replaces those


def repository_root() -> Path:
    """The checkout this package lives in (where pyproject.toml is)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").exists():
        raise RuntimeError(f"course: {root} is not a checkout of the project (no "
                           "pyproject.toml); run make from a clone of the repository")
    return root


def project_files(root: Path) -> list:
    """Files to copy, relative to root. In a git checkout: the tracked files and new ones
    not yet committed, minus what .gitignore excludes."""
    if (root / ".git").exists() and shutil.which("git"):
        command = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
        listed = subprocess.run(command, cwd=root, capture_output=True, text=True,
                                check=True).stdout.split("\n")
        files = [f for f in listed if f and (root / f).is_file()]
    else:
        files = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    return sorted(f for f in files
                  if not set(Path(f).parts) & SKIP_DIRS and ".egg-info" not in f
                  and not Path(f).as_posix().startswith(SKIP_PATHS))


def handout_files(tasks, root: Path | None = None) -> dict:
    """{relative path: bytes} of the handout for `tasks`: what `make` writes."""
    root = root or repository_root()
    by_id = {task.id: task for task in tasks}
    files = project_files(root)
    _check_regions(root, files)
    contents = {}
    for name in files:
        if name.endswith(".py"):
            text = (root / name).read_text(encoding="utf-8")
            contents[name] = blank(text, by_id, name).encode("utf-8")
        else:
            contents[name] = (root / name).read_bytes()
    contents["README.md"] = student_readme(tasks).encode("utf-8")
    contents[MARKER] = (" ".join(task.id for task in tasks) + "\n").encode("utf-8")
    return contents


def make(out_dir, task_ids=None, force=False) -> list:
    """Write the handout into out_dir; returns the tasks that were blanked."""
    tasks = select(task_ids)
    root = repository_root()
    out = Path(out_dir).resolve()
    if out == root or root in out.parents or out in root.parents:
        raise ValueError(f"course make: {out} is the repository, inside it, or contains it; "
                         "choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"course make: {out} exists and is not empty (use --force "
                                  "to replace an earlier handout)")
        if not (out / MARKER).exists():
            raise FileExistsError(f"course make: {out} is not a handout made by this command "
                                  f"(no {MARKER} file); refusing to delete it")
        shutil.rmtree(out)
    for name, content in handout_files(tasks, root).items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if (root / name).exists():
            shutil.copymode(root / name, target)
    return tasks


def _check_regions(root: Path, files: list):
    """Every region must name a task of the catalogue, or its solution would ship."""
    from minigrad.course.catalogue import BY_ID
    from minigrad.course.regions import find_regions

    for name in files:
        if name.endswith(".py"):
            for region in find_regions((root / name).read_text(encoding="utf-8"), name):
                if region.task not in BY_ID:
                    raise ValueError(f"{name}:{region.start + 1}: region of unknown task "
                                     f"{region.task!r}; add it to the catalogue")


def student_readme(tasks) -> str:
    total = sum(task.points for task in tasks)
    rows = "\n".join(
        f"| {task.number} | {task.title} | {task.points} | "
        f"{', '.join(f'`{f}`' for f in task.files)} | {task.summary} |" for task in tasks)
    first = tasks[0] if tasks else None
    first_id, first_number = (first.id, first.number) if first else ("task1_1", "1.1")
    return f"""# Assignment: backprop and attention from scratch

You get a working autodiff engine and attention library with some parts left for you to
write. Each part raises `NotImplementedError("Task N.M: ...")` where your code goes.
Do the tasks in order: later ones build on what the earlier ones teach.

| Task | Title | Points | Files | What you write |
|---|---|---|---|---|
{rows}

Total: {total} points.

## Set up

In a fresh virtual environment (`python3 -m venv .venv && . .venv/bin/activate`):

```bash
pip install -e ".[test]" && python -m minigrad.course grade    # set up, then grade all
```

## Work on one task

```bash
python -m pytest -m {first_id}          # the tests that grade task {first_number}
python -m minigrad.course grade         # every task: a table of points, and results.json
```

A failing test says what to fix: which op, which input, the expected value (from finite
differences of the op's own forward) against what your backward returned. Read the
docstring above each stub: it states the op's math and its derivative.
"""
