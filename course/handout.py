"""Making a student handout: a fresh copy of the repository with chosen solutions blanked.

The copy is a plain tree of files (no .git, so no history holding the solutions), with
every selected task's regions replaced by NotImplementedError stubs, the other regions'
markers removed, the tests intact, and a README that lists the tasks with their points.
"""

import re
import shutil
import subprocess
from pathlib import Path

from course.catalogue import select
from course.grader.checks import SPECIFICATION
from course.regions import blank

# benchmarks/ holds hand-written backward passes (the NumPy floor): solutions in all but name.
SKIP_DIRS = {".git", ".venv", "venv", ".ci-venv", "runs", "__pycache__", ".pytest_cache",
             ".hypothesis", ".ruff_cache", "build", "dist", ".ci", "benchmarks"}
# Instructor-only paths: tests that write textbook answers into a copy of the engine, the
# grader (its mistake models are right answers with one thing changed), grading a class
# (whose synthetic class answers tasks four ways), and their tests. The
# grader's specification (its checks, references and judge) does go into handouts: the
# handout's tests run it.
SKIP_PATHS = ("tests/test_engine_region.py", "course/grader/", "tests/test_grader.py",
              "tests/test_course.py", "tests/test_grading_sandbox.py",
              "course/hidden_checks/", "docs/instructors.md", "course/grade_all.py",
              "course/intake.py", "course/report.py", "course/similarity.py",
              "tests/test_grade_all.py", "tests/synthetic_class.py")
MARKER = ".minigrad-handout"  # written into every handout; --force only replaces those


def repository_root() -> Path:
    """The checkout this package lives in (where pyproject.toml is)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").exists():
        raise RuntimeError(f"course: {root} is not a checkout of the project (no "
                           "pyproject.toml); run make from a clone of the repository")
    return root


def project_files(root: Path, instructor: bool = False) -> list:
    """Files to copy, relative to root. In a git checkout: the tracked files and new ones
    not yet committed, minus what .gitignore excludes. instructor=True keeps the
    instructor-only files (the grader, hidden checks) that handouts leave out."""
    if (root / ".git").exists() and shutil.which("git"):
        command = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
        listed = subprocess.run(command, cwd=root, capture_output=True, text=True,
                                check=True).stdout.split("\n")
        files = [f for f in listed if f and (root / f).is_file()]
    else:
        files = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    return sorted(f for f in files
                  if not set(Path(f).parts) & SKIP_DIRS and ".egg-info" not in f
                  and (instructor or Path(f).as_posix() in SPECIFICATION
                       or not Path(f).as_posix().startswith(SKIP_PATHS)))


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
    original = contents.get("README.md", b"").decode("utf-8")
    contents["README.md"] = student_readme(tasks, original).encode("utf-8")
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
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"course make: {out} is a file, not a folder; give a folder for "
                              "the handout (it is made if it does not exist)")
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
    from course.catalogue import BY_ID
    from course.regions import find_regions

    for name in files:
        if name.endswith(".py"):
            for region in find_regions((root / name).read_text(encoding="utf-8"), name):
                if region.task not in BY_ID:
                    raise ValueError(f"{name}:{region.start + 1}: region of unknown task "
                                     f"{region.task!r}; add it to the catalogue")


# Sections of the repository's README that are not for students (they speak of the
# instructor's commands and of folders a handout leaves out).
# Left out of a handout's README: the instructors' sections, and the reading path, whose
# line numbers are the repository's (a handout's blanked regions are shorter, and several
# of its rows are the student's own tasks).
INSTRUCTOR_SECTIONS = ("## For instructors", "## Tests and benchmarks", "## Read the code")


def library_readme(text: str) -> str:
    """The repository's README without its instructor sections and folders."""
    parts = re.split(r"(?m)^(?=## )", text)
    kept = [p for p in parts if not p.startswith(INSTRUCTOR_SECTIONS)]
    text = "".join(kept).replace("tests/ benchmarks/", "tests/")
    return re.sub(r"(?m)^course/ .*$", "course/                 the task list, and "
                  "`grade` (runs each task's tests)", text)


def student_readme(tasks, repository_readme: str = "") -> str:
    """The handout's README: the student's part (what to write, how to work and check,
    the tools), then the library's own README without its instructor sections."""
    first = tasks[0] if tasks else None
    first_id, first_number = (first.id, first.number) if first else ("task1_1", "1.1")
    student = (_ABOUT + _task_table(tasks) + _WORKING.format(first_id=first_id,
                                                             first_number=first_number)
               + _TOOLS)
    return student + ("\n---\n\n" + library_readme(repository_readme)
                      if repository_readme else "")


# What the assignment is, and the markers around each stub.
_ABOUT = """# Assignment: backprop and attention from scratch

You get a working autodiff engine and attention library with some parts left for you to
write. Each part sits between two marker lines, with a stub in between:

```python
        # BEGIN TASK 1.1: the backward of exp
        raise NotImplementedError("Task 1.1: implement the backward of exp")
        # END TASK 1.1
```

Replace the stub with your code, between the markers, and leave the marker lines as they
are: only the lines between them are graded, and a task whose markers are missing or
edited scores 0. Do the tasks in order: later ones build on what the earlier ones teach.

"""


def _task_table(tasks) -> str:
    rows = "\n".join(
        f"| {task.number} | {task.title} | {task.points} | "
        f"{', '.join(f'`{f}`' for f in task.files)} | {task.summary} |" for task in tasks)
    total = sum(task.points for task in tasks)
    return f"""| Task | Title | Points | Files | What you write |
|---|---|---|---|---|
{rows}

Total: {total} points. The docstring above each stub states what is graded: the op's math
and its derivative, the shapes, what to return.

"""


# Set up, work on one task, grade yourself.
_WORKING = """## Set up

In a fresh virtual environment (`python3 -m venv .venv && . .venv/bin/activate`):

```bash
pip install -e ".[test]"
```

## Work on one task, then grade yourself

```bash
python -m pytest -m {first_id}          # the tests of task {first_number}
python -m course grade         # every task: a table of points, and results.json
python -m pytest                        # everything: passes completely once all are done
```

A failing test says what to fix: which output, the first wrong element with the expected
value (the exact derivative of the op's forward, computed without any solution) against
what your code returned, and the likely mistake. The attention tests also check that
gradients reach q, k and v, so compute with minigrad operations, not NumPy on `.data`.
These tests are the grader's own checks, judged the same way: what passes here earns those
points when your instructor grades, on fresh inputs (there may be hidden checks too). A
test that fails here is a check that loses points there, though the grader gives part of
them for each output that is right (the forward values of an attention without
gradients, say), where a test simply fails.
`python -m course grade` here runs your code without the grader's sandbox, so every line
it prints says "not isolated": a self-check, not your grade.

To look inside your code while a test runs, put `breakpoint()` in your answer and run that
task's tests (`python -m pytest -m {first_id}`): they run in one process, so the debugger
prompt comes to your terminal (`p grad.shape`, `n`, `c`; `q` ends the run).

## Hand in

Upload this whole folder (or a zip of it), or only the files you edited: those in the
Files column of the task table, each as it is. The grader finds where each file belongs
by its TASK markers, takes the lines between them, and ignores everything else; a file
with damaged markers scores 0 for its task, and the report says which line.

"""

# The debugging tools that help with the tasks.
_TOOLS = """## Tools that help

- `mg.check_function(Op, array, ...)` checks one op's backward element by element and
  names the first wrong element with both values; `mg.gradcheck(f, x)` does the same for
  any function of tensors.
- `mg.check_graph(loss)` checks every node of a graph on its own and names the op whose
  backward is wrong; `viz.draw(loss)` (from `minigrad import viz`) draws the graph with
  names, shapes and gradients, and `report.draw()` colours the failing ops.
- `with mg.trace_backward() as trace: loss.backward()` records backward step by step
  (`print(trace)`, `trace.to_html("backprop.html")`); `with mg.break_on("softmax"):
  loss.backward()` stops in pdb at the top of that op's backward, every local a NumPy array.
- `with mg.detect_anomaly():` raises at the first NaN or inf, naming the op and your line.
- The notebooks in `examples/` (the "Learn" section below) run on your code: those that
  train or use attention stop with `NotImplementedError` until the tasks they need are
  done, and then show your implementation at work.

The rest of this file is the library's own README.
"""
