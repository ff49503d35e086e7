"""What the grader takes from a submission: the answers between its TASK markers, nothing
else. Builds the grader's copy with one task's answers put in, and lists what it ignored.
"""

import json
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from course.catalogue import BY_ID
from course.grader.checks import SPECIFICATION
from course.handout import MARKER, SKIP_DIRS, handout_files, repository_root
from course.regions import ANSWER_BEGIN, ANSWER_END, Answer, find_answers, find_regions

PACKAGES = ("minigrad", "attention")  # the library, as the handout has it
# The course files the child runs: the checks, never the judge (models.py holds right
# answers with one thing changed) nor anything that writes a verdict.
CHILD_FILES = ("course/__init__.py",) + SPECIFICATION + ("course/grader/child.py",)
NOT_SUBMITTED = {"results.json", MARKER}


@dataclass
class Answers:
    """One task's answers in a submission: {(task id, what): body}, or why there are none."""

    task: object
    bodies: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    lines: dict = field(default_factory=dict)  # (task id, what) -> (file, first body line)

    def locate(self, where: str, placed: dict, task=None) -> str:
        """'file:line' in the child's copy -> the same line in the submission when it is in
        an answer (naming the task when it is another task's answer, which this check
        uses); else said to be in the handout's code."""
        name, _, line = str(where).rpartition(":")
        if not line.isdigit():
            return str(where)[:200]
        for key, first, count in placed.get(name, ()):
            key = tuple(key)
            if first <= int(line) < first + count and key not in self.lines:
                return (f"the stub of task {BY_ID[key[0]].number} ({key[1]}), which this "
                        "check uses: that task is not answered yet")
            if first <= int(line) < first + count:
                path, start = self.lines[key]
                if task is not None and key[0] != task.id:
                    other = BY_ID[key[0]]
                    return (f"{path}:{start + int(line) - first}, in your answer to task "
                            f"{other.number} ({key[1]}), which this check uses: it is graded "
                            "there, and costs points here until it works")
                return f"{path}:{start + int(line) - first}, in your answer"
        return f"{where} in the handout's code"


def _linked(submission: Path, path: Path) -> bool:
    """Whether `path` is, or lies under, a symbolic link inside the submission (a link could
    point at the grader's own solutions)."""
    for part in [path, *path.parents]:
        if part == submission:
            return False
        if part.is_symlink():
            return True
    return True  # not inside the submission at all


def read_answers(submission: Path, task, root: Path | None = None,
                 own_repository: bool = False) -> Answers:
    """The bodies of `task`'s regions in the submission, matched to the grader's regions by
    file and description. A region whose markers are missing or damaged is a problem (and
    the task scores 0). Only the grader's own repository is read by its SOLUTION markers."""
    root = root or repository_root()
    found = Answers(task)
    for name in task.files:
        wanted = [r for r in find_regions((root / name).read_text(encoding="utf-8"), name)
                  if r.task == task.id]
        path = submission / name
        if _linked(submission, path):
            found.problems.append(f"{name} is a symbolic link (or lies in a linked folder): "
                                  "submit the file itself")
            continue
        if not path.is_file():
            found.problems.append(f"{name} is missing from the submission")
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        answers, problems = find_answers(text, name)
        if own_repository:
            answers += _solutions(text, name, task)
        found.problems += [text for number, text in problems if number == task.number]
        mine = [a for a in answers if a.number == task.number]
        for region in wanted:
            matches = [a for a in mine if a.what == region.what]
            if len(matches) != 1:
                expected = f"`# BEGIN TASK {task.number}: {region.what}` ... `# END TASK " \
                           f"{task.number}`"
                found.problems.append(
                    f"{name}: the markers of task {task.number} around '{region.what}' are "
                    + (f"missing or damaged (expected {expected})" if not matches
                       else "there more than once"))
                continue
            found.bodies[(task.id, region.what)] = fit_indent(matches[0].body, region.indent)
            found.lines[(task.id, region.what)] = (name, matches[0].line)
        extra = {a.what for a in mine} - {r.what for r in wanted}
        found.problems += [f"{name}: a TASK {task.number} region '{what}' that the handout "
                           "does not have (was its description edited?)" for what in extra]
    return found


def fit_indent(body: str, indent: str) -> str:
    """The answer re-indented to sit at `indent` in the grader's copy, when it was written
    with tabs or at another depth (the grader's files indent with spaces)."""
    lines = body.split("\n")
    leading = [line[:len(line) - len(line.lstrip(" \t"))] for line in lines if line.strip()]
    if all("\t" not in space and space.startswith(indent) for space in leading):
        return body

    def spaces(line):
        stripped = line.lstrip(" \t")
        return line[:len(line) - len(stripped)].replace("\t", "    ") + stripped
    return textwrap.indent(textwrap.dedent("\n".join(spaces(line) for line in lines)), indent)


def _solutions(text: str, name: str, task) -> list:
    """The task's SOLUTION regions in `text` as answers (none if the markers are broken)."""
    try:
        regions = find_regions(text, name)
    except ValueError:
        return []
    return [Answer(task.number, r.what, r.body, r.start + 2) for r in regions
            if r.task == task.id]


def build_tree(destination: Path, bodies: dict, assigned, hidden=(),
               root: Path | None = None) -> dict:
    """The child's copy of the project under `destination`: the handout's code (regions of
    tasks not assigned keep their solution, as in the handout) with the student's answers
    `bodies[(task, what)]` in the assigned tasks' regions, and a stub wherever there is no
    answer. No solution of an assigned task is in it. Also the check modules the child runs
    and the hidden-check files `hidden` (into course/hidden_checks/). Returns where each
    answer went: {file: [(key, first line, number of lines)]}."""
    from course.regions import splice, stub_message

    root = root or repository_root()
    by_id = {task.id: task for task in assigned}
    for package in PACKAGES:
        shutil.copytree(root / package, destination / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in CHILD_FILES:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, destination / name)
    (destination / "course" / "hidden_checks").mkdir()
    for path in hidden:
        shutil.copyfile(path, destination / "course" / "hidden_checks" / Path(path).name)
    placed = {}
    for path in destination.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "# BEGIN SOLUTION" not in text:
            continue
        name = path.relative_to(destination).as_posix()
        filled = dict(bodies)
        for region in find_regions(text, name):
            key = (region.task, region.what)
            if region.task in by_id and key not in filled:
                message = json.dumps(stub_message(by_id[region.task], region.what))
                filled[key] = f"{region.indent}raise NotImplementedError({message})"
        placed[name] = []
        path.write_text(splice(text, filled, name, placed[name]), encoding="utf-8")
    return placed


def _outside_answers(text: str) -> str:
    """The text with every answer's lines left out (the markers kept)."""
    kept, inside = [], False
    for line in text.replace("\r\n", "\n").split("\n"):
        if ANSWER_END.match(line):
            inside = False
        if not inside:
            kept.append(line)
        if ANSWER_BEGIN.match(line):
            inside = True
    return "\n".join(kept)


def submitted_files(submission: Path) -> list:
    files = []
    for path in submission.rglob("*"):
        relative = path.relative_to(submission)
        if (path.is_file() or path.is_symlink()) and not set(relative.parts) & SKIP_DIRS and \
                ".egg-info" not in relative.as_posix() and path.suffix != ".pyc" and \
                relative.as_posix() not in NOT_SUBMITTED:
            files.append(relative.as_posix())
    return sorted(files)


def ignored(submission: Path, tasks) -> list:
    """The submitted files that differ from the handout outside the task markers, and
    files the handout does not have: none of them reaches the graded code."""
    handout = handout_files(tasks)
    notes = []
    for name in submitted_files(submission):
        if _linked(submission, submission / name):
            notes.append(f"{name} (a symbolic link)")
            continue
        if name not in handout:
            notes.append(f"{name} (not in the handout)")
            continue
        mine = (submission / name).read_bytes()
        theirs = handout[name]
        if name.endswith(".py"):
            same = _outside_answers(mine.decode("utf-8", "replace")) == \
                _outside_answers(theirs.decode("utf-8"))
        else:
            same = mine.replace(b"\r\n", b"\n") == theirs.replace(b"\r\n", b"\n")
        if not same:
            notes.append(f"{name} (changed outside the task markers)")
    return notes
