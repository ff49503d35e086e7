"""Grading a submission: draw inputs, compute the expected values, run each task's child,
judge, and write results.json (Gradescope's format).

Everything the verdict depends on (the checks, the comparison, NumPy) is imported and every
expected value computed here before any of the student's code runs, and the student's code
only ever runs in a child process whose import path holds the scratch copy and nothing
from the submission.
"""

import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Everything the verdict depends on is imported here, before any student code runs.
import course.grader.models  # noqa: F401  (the mistake models, used by judge())
from course.catalogue import BY_ID, select
from course.grader import sandbox
from course.grader.checks import BUILT_IN, checks_for, hidden_sources, withheld
from course.grader.compare import judge
from course.grader.graph import PREFIX as GRAPH
from course.grader.tree import build_tree, ignored, read_answers
from course.handout import MARKER, repository_root

HIDDEN = "course/hidden_checks"  # the default folder of hidden checks


@dataclass
class Planned:
    """One check with its inputs and the expected outputs."""

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
        return self.share(self.verdicts)[0]

    def share(self, verdicts) -> tuple:
        """(points earned, points possible) by `verdicts`, a part of this task's checks
        (the public or the hidden ones): the task's points split by the checks' weights."""
        weights = sum(v.check.weight for v in self.verdicts)
        if not weights:
            return 0.0, 0.0
        part = sum(v.check.weight for v in verdicts) / weights
        earned = 0.0 if self.problems else \
            sum(v.check.weight * v.fraction for v in verdicts) / weights
        return round(self.task.points * earned, 2), round(self.task.points * part, 2)

    @property
    def output(self) -> str:
        return self.describe(self.verdicts)

    def describe(self, verdicts) -> str:
        if self.problems:
            return "Not graded, scored 0:\n" + "\n".join(f"  {p}" for p in self.problems)
        right = sum(v.fraction == 1 for v in verdicts)
        lines = [f"{right} of {len(verdicts)} checks passed"
                 + (" (timed out: the checks that did not finish score 0)"
                    if self.timed_out else "")]
        for v in verdicts:
            mark = "ok  " if v.fraction == 1 else f"{v.right}/{v.total} " if v.right else "FAIL"
            lines.append(f"  {mark} {v.check.name}")
            lines += [f"       {message}" for message in v.messages]
        return "\n".join(lines)


def submission_root(directory, scratch: Path | None = None) -> tuple:
    """(the folder holding minigrad/, notes): the submission itself, its only subfolder that
    has one (an upload that wrapped the handout in a folder), or, for a flat upload of the
    edited files (Gradescope keeps only their names), a folder in `scratch` where each file
    sits at the path its TASK markers belong to."""
    directory = Path(directory).resolve()
    if (directory / "minigrad").is_dir():
        return directory, []
    inner = [p for p in directory.iterdir() if (p / "minigrad").is_dir() and
             not p.is_symlink()] if directory.is_dir() else []
    if len(inner) == 1:
        return inner[0], []
    if inner:
        raise FileNotFoundError(f"course grade: {directory} has {len(inner)} folders with a "
                                f"minigrad/ package ({', '.join(p.name for p in inner)}); "
                                "give the one to grade")
    if directory.is_dir() and scratch is not None:
        placed = _place_flat_upload(directory)
        if placed:
            arranged = scratch / "submission"
            for source, name in placed.items():
                (arranged / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, arranged / name)
            (arranged / "minigrad").mkdir(exist_ok=True)
            return arranged, [f"{source.relative_to(directory)} (graded as {name}, where "
                              "its TASK markers belong)" for source, name in placed.items()]
    raise FileNotFoundError(
        f"course grade: {directory} has no minigrad/ package and no file with TASK markers; "
        "upload the handout folder (or a zip of it), or the files you edited (those listed "
        "under Files in the README's task table), with their TASK markers as they are")


def _place_flat_upload(directory: Path) -> dict:
    """{uploaded file: its path in the handout}, matched by the (task, description) of the
    TASK regions each file holds; a file that fits no path or several, or two files for
    one path, is refused with a message that says what to upload."""
    from course.catalogue import TASKS
    from course.regions import find_answers, find_regions

    root = repository_root()
    homes = {}  # (task number, description) -> the file that holds that region
    for name in sorted({f for task in TASKS for f in task.files}):
        for region in find_regions((root / name).read_text(encoding="utf-8"), name):
            homes[(BY_ID[region.task].number, region.what)] = name
    placed, taken = {}, {}
    for path in sorted(p for p in directory.rglob("*.py") if p.is_file()
                       and not p.is_symlink()):
        if path.stat().st_size > 1_000_000:
            continue
        answers, _ = find_answers(path.read_text(encoding="utf-8", errors="replace"),
                                  path.name)
        names = {homes.get((a.number, a.what)) for a in answers}
        if not answers:
            continue
        if None in names or len(names) != 1:
            raise FileNotFoundError(
                f"course grade: {path.name} holds TASK regions that belong to "
                + ("no file of the handout (an edited description?)" if None in names
                   else f"several files ({', '.join(sorted(names))})")
                + "; upload the handout folder, or each edited file as it is")
        (name,) = names
        if name in taken:
            raise FileNotFoundError(f"course grade: {taken[name].name} and {path.name} both "
                                    f"hold the TASK regions of {name}; upload one of them")
        taken[name], placed[path] = path, name
    return placed


def plan(task, sources, seed: int, position: int) -> list:
    """The task's checks with inputs drawn from `seed` and their expected outputs."""
    planned = []
    for i, check in enumerate(checks_for(task.id, sources)):
        inputs = check.draw(np.random.default_rng([seed, position, i]))
        try:
            expected = check.expected({k: np.array(v) for k, v in inputs.items()})
        except NotImplementedError as error:
            raise RuntimeError(f"course grade: this installation has no solution for task "
                               f"{task.number} ({error}); grade from the instructor's "
                               "checkout of the repository") from None
        planned.append(Planned(check, inputs, expected))
    return planned


def _report(text: str) -> tuple:
    """(names of outputs that were None, error or None) from the child's JSON, whatever it
    holds: anything malformed is an error of its own."""
    report = json.loads(text)
    missing = [k for k in report.get("missing", []) if isinstance(k, str)]
    error = report.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise ValueError("malformed error report")
        error = {key: str(error.get(key, ""))[:limit] for key, limit in
                 (("type", 100), ("message", MESSAGE_LIMIT), ("where", 300))}
    return missing, error


MESSAGE_LIMIT = 1000  # characters of student-controlled text per check (feedback, not a channel)


def _read_limited(path: Path, limit: int) -> bytes:
    """A file the child wrote, read as data: a regular file (never a link it planted to a
    file only the judge may read), at most `limit` bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        if info.st_size > limit:
            raise ValueError(f"{path.name} holds {info.st_size} bytes, more than {limit}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def _load_output(outputs: Path, i: int, expected: dict):
    """(outputs, error) the child wrote for check i, or None if it never finished it. Files
    far larger than the expected outputs are refused unread."""
    report_path, arrays_path = outputs / f"{i}.json", outputs / f"{i}.npz"
    if not os.path.lexists(report_path) or not os.path.lexists(arrays_path):
        return None
    limit = 4 * sum(np.asarray(v).nbytes for v in expected.values() if v is not None) + 2**20
    try:
        missing, error = _report(_read_limited(report_path, 100_000).decode("utf-8"))
        data = io.BytesIO(_read_limited(arrays_path, limit))
        with zipfile.ZipFile(data) as archive:
            if sum(info.file_size for info in archive.infolist()) > limit:
                raise ValueError(f"the outputs hold more than {limit} bytes")
        data.seek(0)
        with np.load(data, allow_pickle=False) as stored:
            # Judged outputs as float64; a recorded graph's arrays keep their dtype (an
            # index array must stay integer), numbers only.
            got = {k: stored[k] if stored[k].dtype == bool or (
                k.startswith(GRAPH) and stored[k].dtype.kind in "iu") else
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


# The child's interpreter: the standard library, NumPy and its copy of the handout on the
# import path, nothing else; it loads child.py by its path, since importing the package may
# fail (a SyntaxError in an answer) and the child must still report that.
LAUNCHER = """import sys, importlib.util
sys.path[:0] = [{tree!r}, {site!r}]
spec = importlib.util.spec_from_file_location('grading_child', {child!r})
child = importlib.util.module_from_spec(spec)
spec.loader.exec_module(child)
child.main({spec!r})
"""


def _prepare(scratch: Path, tree: Path, planned: list, task, sources, kind: str) -> tuple:
    """The child's folder: its copy of the tree, inputs, spec and an empty outputs/ that
    only it may write. Returns (the folder, the command to run inside the sandbox)."""
    child = scratch / "child"
    child.mkdir(mode=0o755)
    shutil.copytree(tree, child / "tree")
    (child / "inputs").mkdir()
    for i, item in enumerate(planned):
        np.savez(child / "inputs" / f"{i}.npz", **item.inputs)
    (child / "outputs").mkdir(mode=0o700)
    if os.geteuid() == 0:
        user = sandbox.sandbox_user()
        os.chown(child / "outputs", user.pw_uid, user.pw_gid)
    # Paths as the child sees them: bwrap mounts the folder at /sandbox/child.
    inside = Path("/sandbox/child") if kind == "bwrap" else child
    paths = sandbox.python_paths()
    if kind == "bwrap":
        site = "/sandbox/site"
    else:
        site = str(inside / "site")
        (child / "site").mkdir()
        os.symlink(paths["numpy"], child / "site" / "numpy")
        if paths["numpy_libs"]:
            os.symlink(paths["numpy_libs"], child / "site" / "numpy.libs")
    spec = {"task": task.id, "checks": [item.check.name for item in planned],
            "sources": [s if not s.endswith(".py") else
                        str(inside / "tree" / "course" / "hidden_checks" / Path(s).name)
                        for s in sources],
            "tree": str(inside / "tree"), "inputs": str(inside / "inputs"),
            "outputs": str(inside / "outputs"), "answers": {}}
    return child, spec, [paths["python"], "-I", "-S", "-B", "-c", LAUNCHER.format(
        tree=spec["tree"], site=site, child=str(inside / "tree/course/grader/child.py"),
        spec=str(inside / "spec.json"))]


def run_task(task, planned: list, sources, tree: Path, placed: dict, answers,
             kind: str, limits) -> TaskResult:
    """Run the task's checks in the sandbox and judge them: the public checks in one child
    whose tree holds no hidden check (so none can be read and sent back in public feedback),
    the hidden ones in another."""
    result = TaskResult(task)
    if answers.problems:
        result.problems = answers.problems
        return result
    hidden = [item for item in planned if item.check.source.endswith(".py")]
    public = [item for item in planned if item not in hidden]
    for group in (public, hidden):
        if group:  # the child loads only the modules that define its checks
            used = {item.check.source for item in group}
            _run_group(result, task, group, [s for s in sources if s in used], tree, placed,
                       answers, kind, limits, keep_hidden=group is hidden)
    return result


def _run_group(result, task, planned, sources, tree, placed, answers, kind, limits,
               keep_hidden: bool):
    with tempfile.TemporaryDirectory(prefix=f"grade-{task.id}-") as scratch:
        scratch = Path(scratch)
        os.chmod(scratch, 0o711)  # the sandbox user may pass through, not list
        child, spec, argv = _prepare(scratch, tree, planned, task, sources, kind)
        if not keep_hidden:
            shutil.rmtree(child / "tree" / "course" / "hidden_checks", ignore_errors=True)
        # Nothing in the child computes what its checks expect: those modules are not in its
        # tree, and import there as sealed ones.
        spec["withheld"] = withheld(task.id)
        spec["check_seconds"] = min(limits.check_seconds, limits.wall_seconds)
        spec["preload"] = [name[:-len(".py")].replace("/", ".") for name in task.files]
        for module in spec["withheld"]:
            (child / "tree" / (module.replace(".", "/") + ".py")).unlink()
        spec["answers"] = {name: [[first, count] for _, first, count in bodies]
                           for name, bodies in placed.items()}
        (child / "spec.json").write_text(json.dumps(spec))
        start = time.perf_counter()
        with open(scratch / "log.txt", "wb") as log:  # a file: what it prints costs no memory
            timed_out = sandbox.run(kind, child, argv, limits, log)
        result.timed_out = result.timed_out or timed_out
        result.seconds += time.perf_counter() - start
        # Every process the child started is gone: only now is anything it wrote read.
        crash = _tail(scratch / "log.txt")
        for i, item in enumerate(planned):
            loaded = _load_output(child / "outputs", i, item.expected)
            if loaded is None:
                reason = (f"did not finish: timed out after {limits.wall_seconds:g} s (an "
                          "infinite loop?)" if timed_out else
                          "did not run: the child process stopped"
                          + (f" ({' '.join(crash)[:300]})" if crash else ""))
                error = {"type": "Timeout" if timed_out else "Crash", "message": reason}
                result.verdicts.append(judge(item.check, item.inputs, item.expected, {},
                                             error))
                continue
            got, error = loaded
            if error and error.get("where"):
                error["where"] = answers.locate(error["where"], placed, task)
            result.verdicts.append(judge(item.check, item.inputs, item.expected, got, error))


def _fingerprint(paths) -> str:
    """One hash of the judge's own files: checked again before a verdict is written."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path).encode() + b"\0" + Path(path).read_bytes())
    return digest.hexdigest()


def _judge_files(hidden_files) -> list:
    root = repository_root()
    return [p for folder in ("course", "minigrad", "attention")
            for p in (root / folder).rglob("*.py")] + [Path(p) for p in hidden_files]


def write_atomically(path: Path, text: str):
    """Write `path` whole or not at all: a temporary file beside it, then a rename."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def grade(directory=".", task_ids=None, timeout=120.0, results=None, hidden=None,
          seed=None, limits=None, hidden_visibility="after_published") -> dict:
    """Grade a submission; returns the payload written to results.json (plus the outcomes
    under "_outcomes"). The hidden checks' results go into their own entry per task, with
    Gradescope's `hidden_visibility` ("after_published" by default: their names and
    results show once the grades are published; "visible" joins them to the task's)."""
    if hidden_visibility not in VISIBILITY:
        raise ValueError(f"course grade: hidden visibility {hidden_visibility!r} is not one "
                         f"of {', '.join(VISIBILITY)} (Gradescope's values)")
    scratch = Path(tempfile.mkdtemp(prefix="grade-upload-"))
    try:
        return _grade(directory, scratch, task_ids, timeout, results, hidden, seed, limits,
                      hidden_visibility)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _grade(directory, scratch, task_ids, timeout, results, hidden, seed, limits,
           hidden_visibility) -> dict:
    submission, arranged = submission_root(directory, scratch)
    marker = submission / MARKER
    listed = marker.read_text().split() if marker.exists() else []
    tasks = select(task_ids or listed or None)
    limits = limits or sandbox.Limits(wall_seconds=timeout)
    root = repository_root()
    hidden = hidden if hidden is not None else (root / HIDDEN if (root / HIDDEN).is_dir()
                                                else None)
    sources = list(BUILT_IN) + hidden_sources(hidden)
    results = Path(results) if results else Path(directory).resolve() / "results.json"
    kind = sandbox.choose([root, results.parent.resolve()]
                          + ([Path(hidden).resolve()] if hidden else []))
    seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    # The judge is finished before the student starts: every module it uses is imported and
    # every expected value computed before any student code runs, and its own files are
    # fingerprinted, to be checked again before it writes a verdict.
    before = _fingerprint(_judge_files(hidden_sources(hidden)))
    plans = [plan(task, sources, seed, position) for position, task in enumerate(tasks)]
    own = submission == root  # the repository itself: its solutions are the answers
    handed_out = select(sorted({t.id for t in tasks} | {i for i in listed if i in BY_ID}))
    notes = ignored(submission, handed_out) if not own and not arranged else []
    # Every task's region is the student's answer or a stub in the child's tree, whatever
    # the submission's marker file says: no check needs another task's solution, so no
    # solution is within the student's reach.
    given = select(None)
    answers = {task.id: read_answers(submission, task, own_repository=own) for task in given}
    bodies = {key: body for found in answers.values() if not found.problems
              for key, body in found.bodies.items()}
    with tempfile.TemporaryDirectory(prefix="grade-tree-") as folder:
        tree = Path(folder) / "tree"
        placed = build_tree(tree, bodies, given, hidden_sources(hidden))
        lines = {key: where for found in answers.values() for key, where in found.lines.items()}
        outcomes = []
        for task, planned in zip(tasks, plans):
            found = answers[task.id]
            found.lines = lines  # errors in another task's answer are named as such
            outcomes.append(run_task(task, planned, sources, tree, placed, found, kind,
                                     limits))
    if _fingerprint(_judge_files(hidden_sources(hidden))) != before:
        raise RuntimeError("course grade: the grader's own files changed while it graded; "
                           "no verdict is written")
    payload = {
        "score": round(sum(r.score for r in outcomes), 2),
        "max_score": sum(r.task.points for r in outcomes),
        "output": (f"Inputs drawn with seed {seed} (grade --seed {seed} repeats them). "
                   f"Isolated by {SANDBOX_NAMES[kind]}.\n"
                   + ("A flat upload, each file placed by its TASK markers:\n"
                      + "\n".join(f"  {n}" for n in arranged) if arranged else
                      "Ignored (only the lines between TASK markers are graded):\n"
                      + "\n".join(f"  {n}" for n in notes) if notes else
                      "Nothing outside the TASK markers was changed.")),
        "seed": seed,
        "sandbox": kind,
        "ignored": notes,
        "tests": [entry for r in outcomes for entry in _entries(r, hidden_visibility)],
    }
    write_atomically(results, json.dumps(payload, indent=2))
    return {**payload, "_outcomes": outcomes}


VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")


def _entries(result, hidden_visibility) -> list:
    """A task's entries in results.json: its public checks, and its hidden ones (from
    `--hidden` files) apart, with Gradescope's visibility, unless that is "visible"."""
    name = f"Task {result.task.number}: {result.task.title}"
    hidden = [v for v in result.verdicts if v.check.source.endswith(".py")]
    if not hidden or hidden_visibility == "visible":
        return [{"name": name, "score": result.score, "max_score": result.task.points,
                 "output": result.output[:OUTPUT_LIMIT]}]
    public = [v for v in result.verdicts if v not in hidden]
    entries = []
    for part, verdicts, extra in ((name, public, {}),
                                  (f"{name} (hidden checks)", hidden,
                                   {"visibility": hidden_visibility})):
        score, most = result.share(verdicts)
        entries.append({"name": part, "score": score, "max_score": most,
                        "output": result.describe(verdicts)[:OUTPUT_LIMIT], **extra})
    return entries


SANDBOX_NAMES = {"bwrap": "bubblewrap namespaces", "user": f"the user {sandbox.SANDBOX_USER}"}
OUTPUT_LIMIT = 20_000  # characters of feedback per task in results.json


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
