"""A class's submissions as `grade-all` receives them, each made safe to grade or refused in
one line.

SUBMISSIONS is a folder holding one folder or zip per student (named by the student), or
Gradescope's export of a whole assignment (a folder or a zip with `submission_metadata.yml`,
which maps each `submission_<id>` folder to its students and time). Every submission is
copied or unpacked into a scratch folder of its own before anything is graded, so the
grader never reads through a link, never unpacks more than the limits below, and a broken
submission costs its own row only: "the zip holds no files", "unpacks to more than 50 MB",
"minigrad/ops/arithmetic.py is not UTF-8 text", ...
"""

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from course.catalogue import TASKS

MAX_FILE_BYTES = 10 * 2**20  # one file of a submission (a task file is a few kB)
MAX_TOTAL_BYTES = 50 * 2**20  # one submission, unpacked
MAX_FILES = 5000
METADATA = "submission_metadata.yml"
TASK_FILES = sorted({name for task in TASKS for name in task.files})


@dataclass
class Submission:
    key: str  # unique and safe as a file name: the folder or zip name, or Gradescope's id
    student: str  # as the gradebook shows it (a group's names joined by "; ")
    source: Path  # the folder or zip as given
    email: str = ""
    sid: str = ""
    submitted_at: str = ""  # ISO 8601, when known
    path: Path | None = None  # the safe copy that is graded
    problem: str = ""  # why it cannot be graded, in one line
    fingerprint: str = ""  # of what is graded, with the grader's own (grade_all.py)


class Refused(Exception):
    """A submission that cannot be graded; the message is its gradebook row's reason."""


def collect(source, scratch: Path) -> list:
    """Every submission in `source`, each with a safe copy under `scratch` (`path`) or the
    reason it has none (`problem`), sorted by key."""
    source, oversized = Path(source), {}
    if not source.exists():
        raise FileNotFoundError(f"course grade-all: {source} does not exist")
    if source.is_file():  # a zip of a whole export (or of a folder of submissions)
        unpacked = scratch / "_export"
        try:
            _unzip(source, unpacked, MAX_TOTAL_BYTES * 100, MAX_FILES * 100, oversized)
        except Refused as why:
            raise ValueError(f"course grade-all: {source}: {why}") from None
        source = _export_folder(unpacked)
    metadata = _find_metadata(source)
    found = _from_gradescope(metadata) if metadata else _from_folder(source)
    for name, size in oversized.items():  # files an export zip held that were too big
        for submission in found:
            if (scratch / "_export" / name).is_relative_to(submission.source):
                submission.problem = submission.problem or (
                    f"{(scratch / '_export' / name).relative_to(submission.source)} is "
                    f"{_size(size)}: a submission's files may be {_size(MAX_FILE_BYTES)} each")
    for submission in found:
        if submission.problem:
            continue
        try:
            submission.path = _safe_copy(submission.source, scratch / "copies" / submission.key)
        except Refused as why:
            submission.problem = str(why)
    return sorted(found, key=lambda s: s.key)


def _export_folder(unpacked: Path) -> Path:
    """The folder that holds the submissions: an export zip wraps them in one folder."""
    entries = [p for p in unpacked.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir() and not (entries[0] / "minigrad").is_dir():
        return entries[0]
    return unpacked


def _find_metadata(folder: Path) -> Path | None:
    for candidate in (folder / METADATA, *folder.glob(f"*/{METADATA}")):
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _from_folder(folder: Path) -> list:
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "__MACOSX")):
            continue
        key = entry.stem if entry.suffix == ".zip" else entry.name
        submission = Submission(key=_safe_key(key), student=key, source=entry)
        if entry.is_symlink():
            submission.problem = "is a symbolic link, not a folder or a zip"
        elif not (entry.is_dir() or entry.suffix == ".zip"):
            submission.problem = "is neither a folder nor a zip"
        found.append(submission)
    return found


def _from_gradescope(metadata: Path) -> list:
    """The export's submissions, named by submission_metadata.yml; a folder it names that
    is missing is a row with that reason, a folder it does not name is one too."""
    entries = _read_metadata(metadata)
    folder = metadata.parent
    found = []
    for key, entry in sorted(entries.items()):
        entry = entry if isinstance(entry, dict) else {}
        people = [p for p in entry.get(":submitters") or [] if isinstance(p, dict)]
        submission = Submission(
            key=_safe_key(str(key)),
            student="; ".join(str(p.get(":name", "")) for p in people) or str(key),
            email="; ".join(str(p.get(":email", "")) for p in people if p.get(":email")),
            sid="; ".join(str(p.get(":sid", "")) for p in people if p.get(":sid")),
            submitted_at=_iso(entry.get(":created_at")),
            source=folder / str(key))
        if not (submission.source.is_dir() or submission.source.with_suffix(".zip").is_file()):
            submission.problem = f"the export has no folder {key} (named in {METADATA})"
        elif not submission.source.is_dir():
            submission.source = submission.source.with_suffix(".zip")
        found.append(submission)
    named = {str(k) for k in entries}
    for entry in sorted(folder.iterdir()):
        if entry.name not in named and entry.name != METADATA and \
                not entry.name.startswith((".", "__MACOSX")) and entry.stem not in named:
            found.append(Submission(key=_safe_key(entry.name), student=entry.name,
                                    source=entry, problem=f"not named in {METADATA}: whose "
                                    "is it?"))
    return found


def _read_metadata(path: Path) -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        """Gradescope's YAML tags some values as Ruby objects (a score as BigDecimal):
        read them as plain values."""

    def plain(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=Loader)
    except yaml.YAMLError as error:
        raise ValueError(f"course grade-all: {path} is not readable YAML: "
                         f"{str(error).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"course grade-all: {path} does not map submissions to students")
    return data


def _iso(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _safe_key(name: str) -> str:
    kept = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name).strip(".")
    return kept[:100] or "unnamed"


# ---- a safe copy: regular files only, within the limits, task files as UTF-8 text ----------

def _safe_copy(source: Path, destination: Path) -> Path:
    if source.is_dir():
        _copy_folder(source, destination)
    else:
        _unzip(source, destination, MAX_TOTAL_BYTES)
    files = [p for p in destination.rglob("*") if p.is_file()]
    if not files:
        raise Refused("holds no files" if source.is_dir() else "the zip holds no files")
    _check_task_files(destination)
    return destination


def _copy_folder(source: Path, destination: Path):
    total, count = 0, 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(source.resolve()):
                raise Refused(f"{relative.as_posix()} is a symbolic link pointing outside its "
                              "folder")
            continue  # a link within the folder: its target is copied as itself
        if path.is_dir():
            continue
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            raise Refused(f"{relative.as_posix()} is not a regular file")
        size = path.stat().st_size
        count += 1
        total += size
        _within_limits(relative.as_posix(), size, total, count)
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination / relative)


def _within_limits(name: str, size: int, total: int, count: int):
    if size > MAX_FILE_BYTES:
        raise Refused(f"{name} is {_size(size)}: a submission's files may be "
                      f"{_size(MAX_FILE_BYTES)} each")
    if total > MAX_TOTAL_BYTES:
        raise Refused(f"more than {_size(MAX_TOTAL_BYTES)} in all (a zip bomb, or data "
                      "that does not belong in a submission?)")
    if count > MAX_FILES:
        raise Refused(f"more than {MAX_FILES} files")


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def _unzip(source: Path, destination: Path, total_limit: int, max_files: int = MAX_FILES,
           oversized: dict | None = None):
    """Unpack a zip, trusting none of its headers: names must stay inside `destination`,
    links are refused, and sizes are counted as the bytes come out. A file over
    MAX_FILE_BYTES refuses the zip, or, given `oversized` (a whole class's export), is
    left out and noted there ({its path: bytes seen}) for its own submission's row."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise Refused(f"{source.name} is not a zip file ({error})") from None
    total, count = 0, 0
    with archive:
        for info in archive.infolist():
            name = info.filename
            parts = Path(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or ":" in name:
                raise Refused(f"the zip holds a path outside itself: {name[:100]}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise Refused(f"the zip holds a symbolic link: {name[:100]}")
            if info.is_dir() or parts[0] == "__MACOSX":
                continue
            count += 1
            if count > max_files:
                raise Refused(f"the zip holds more than {max_files} files")
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with archive.open(info) as inside, open(target, "wb") as out:
                    while chunk := inside.read(2**20):
                        written += len(chunk)
                        total += len(chunk)
                        if written > MAX_FILE_BYTES and oversized is not None:
                            oversized[name] = info.file_size
                            break
                        if written > MAX_FILE_BYTES:
                            raise Refused(f"{name} unpacks to more than "
                                          f"{_size(MAX_FILE_BYTES)} (a zip bomb, or data "
                                          "that does not belong in a submission?)")
                        if total > total_limit:
                            raise Refused(f"unpacks to more than {_size(total_limit)} (a zip "
                                          "bomb?)")
                        out.write(chunk)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError,
                    EOFError) as error:
                raise Refused(f"the zip is damaged or encrypted ({str(error)[:100]})") from None
            if name in (oversized or {}):
                target.unlink()


def _check_task_files(folder: Path):
    """The files the grader reads must be text it can read: UTF-8, without NUL bytes."""
    for path in folder.rglob("*.py"):
        relative = path.relative_to(folder).as_posix()
        if not any(relative.endswith(name) or relative == Path(name).name
                   for name in TASK_FILES):
            continue
        data = path.read_bytes()
        if b"\0" in data:
            raise Refused(f"{relative} is binary, not Python text")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Refused(f"{relative} is not UTF-8 text (byte 0x{data[error.start]:02x} at "
                          f"position {error.start}): save it as UTF-8") from None
