"""Grade a whole class: every submission in its own sandbox, in parallel, into a gradebook,
a feedback file per student and a class report.

    python -m course grade-all SUBMISSIONS --out REPORT [--jobs N] [--regrade]

REPORT/graded/ keeps one result per submission, written whole (a temporary file, then a
rename) as soon as that submission is graded, with a fingerprint of what was graded: the
submission's files, the grader's own files and the options. A second run grades only the
submissions whose fingerprint changed (new, resubmitted, or a changed grader), so Ctrl-C
loses nothing already graded and a late submission costs one grading. Then it writes
REPORT/gradebook.csv, REPORT/feedback/<student>.txt and REPORT/report.html.
"""

import csv
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from course.catalogue import select
from course.intake import collect

STATE = "graded"


def grade_all(source, out, task_ids=None, jobs=None, regrade=False, hidden=None,
              seed=None, timeout=120.0, threshold=None, progress=True) -> dict:
    """Grade every submission in `source` into the folder `out`; returns a summary
    ({"graded": n, "kept": n, "refused": n, "seconds": s, "rows": [...], "pairs": the
    similar pairs, "similarity": every pair's})."""
    from course.grader import sandbox
    from course.grader.run import _fingerprint, _judge_files, hidden_sources

    out = Path(out)
    (out / STATE).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="grade-all-"))
    try:
        submissions = collect(source, scratch)
        tasks = select(task_ids or handed_out(submissions))
        judge = _fingerprint(_judge_files(hidden_sources(hidden)))
        options = json.dumps([judge, [t.id for t in tasks], seed, timeout], sort_keys=True)
        todo, kept = [], 0
        for s in submissions:
            s.fingerprint = _submission_fingerprint(s, options)
            previous = _load(out, s.key)
            if not regrade and previous and previous.get("fingerprint") == s.fingerprint:
                kept += 1
            elif s.problem:
                _save(out, _refused(s))
            else:
                todo.append(s)
        kind = sandbox.choose([Path(__file__).resolve().parents[1], out.resolve()])
        # The "user" sandbox kills every process of its user when a child ends: one at a
        # time there. Namespaces (bwrap) keep parallel submissions apart.
        jobs = 1 if kind == "user" else max(1, jobs or os.cpu_count() or 1)
        graded = _grade_in_parallel(todo, out, [t.id for t in tasks], jobs, hidden, seed,
                                    timeout, progress)
        rows = [_load(out, s.key) for s in submissions]
        rows = [r for r in rows if r is not None]
        write_gradebook(out / "gradebook.csv", rows, tasks)
        write_feedback(out / "feedback", rows)
        from course.report import write_report

        pairs, scores = write_report(out / "report.html", rows, tasks, submissions,
                                     threshold=threshold)
        return {"graded": graded, "kept": kept,
                "refused": sum(bool(s.problem) for s in submissions),
                "seconds": time.perf_counter() - start, "rows": rows, "jobs": jobs,
                "pairs": pairs, "similarity": scores}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def handed_out(submissions) -> list:
    """The tasks the class's handout assigned: what most submissions' .minigrad-handout
    files say (one student's edited file changes nothing); all tasks when none says."""
    from collections import Counter

    from course.grader.run import submission_root
    from course.handout import MARKER

    said = Counter()
    for s in submissions:
        if s.path is None:
            continue
        try:
            root, _ = submission_root(s.path)
            said[tuple((root / MARKER).read_text().split())] += 1
        except (OSError, UnicodeDecodeError):
            continue
    return list(said.most_common(1)[0][0]) if said else []


def _submission_fingerprint(submission, options: str) -> str:
    digest = hashlib.sha256(options.encode())
    digest.update(json.dumps([submission.student, submission.submitted_at,
                              submission.problem]).encode())
    if submission.path is not None:
        for path in sorted(submission.path.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(submission.path).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _refused(s) -> dict:
    return {"key": s.key, "student": s.student, "email": s.email, "sid": s.sid,
            "submitted_at": s.submitted_at, "fingerprint": s.fingerprint,
            "problem": s.problem, "tests": [], "checks": [], "seconds": 0.0}


def _grade_in_parallel(todo, out, task_ids, jobs, hidden, seed, timeout, progress) -> int:
    """Grade `todo`, `jobs` at a time, saving each result as it comes. Ctrl-C stops the
    graders and keeps what is saved."""
    import multiprocessing

    from tqdm import tqdm

    if not todo:
        return 0
    done = 0
    work = [(str(s.path), task_ids, hidden, seed, timeout) for s in todo]
    pool = multiprocessing.get_context("spawn").Pool(min(jobs, len(todo)),
                                                      initializer=_worker_signals)
    try:
        with tqdm(total=len(todo), unit="submission", disable=not progress) as bar:
            for i, record in pool.imap_unordered(_grade_numbered, enumerate(work)):
                s = todo[i]
                record.update(key=s.key, student=s.student, email=s.email, sid=s.sid,
                              submitted_at=s.submitted_at, fingerprint=s.fingerprint)
                _save(out, record)
                done += 1
                bar.update()
    except BaseException:
        pool.terminate()  # the graders stop (their sandboxes die with them); saved stays
        raise
    pool.close()
    pool.join()
    return done


def _worker_signals():
    """Workers leave Ctrl-C to the parent, which stops them after saving what is done;
    stopped, they clean up their scratch folders on the way out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def _grade_numbered(item):
    i, (path, task_ids, hidden, seed, timeout) = item
    try:
        return i, grade_one(path, task_ids, hidden, seed, timeout)
    except Exception as error:  # a bug in the grader: that submission's row says so
        return i, {"problem": f"the grader failed: {type(error).__name__}: "
                              f"{str(error)[:200]}", "tests": [], "checks": [], "seconds": 0.0}


def grade_one(path: str, task_ids, hidden, seed, timeout) -> dict:
    """Grade one submission (in a worker process); the record the gradebook and the
    report read."""
    from course.grader.run import grade, table

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grade-one-") as folder:
        try:
            payload = grade(path, task_ids, timeout, Path(folder) / "results.json",
                            hidden, seed)
        except (ValueError, FileNotFoundError, RuntimeError, OSError) as error:
            return {"problem": str(error).removeprefix("course grade: ").splitlines()[0],
                    "tests": [], "checks": [], "seconds": time.perf_counter() - start}
    summary = table(payload)
    outcomes = payload.pop("_outcomes")
    checks = [{"task": r.task.id, "check": v.check.name, "right": v.right, "total": v.total,
               "passed": v.right == v.total and not r.problems,
               "mistakes": [m.removeprefix("Likely mistake: ").rstrip(".")
                            for m in v.messages if m.startswith("Likely mistake: ")],
               "error": next((m for m in v.messages if m.startswith("raised ")), "")[:200]}
              for r in outcomes for v in r.verdicts]
    feedback = "\n".join(f"{t['name']}\n{t['output']}\n" for t in payload["tests"]
                         if t["score"] < t["max_score"])
    return {"problem": "", "score": payload["score"], "max_score": payload["max_score"],
            "tests": payload["tests"], "checks": checks, "seed": payload["seed"],
            "feedback": feedback + "\n" + payload["output"] + "\n" + summary,
            "seconds": time.perf_counter() - start}


def _load(out: Path, key: str):
    path = out / STATE / f"{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _save(out: Path, record: dict):
    from course.grader.run import write_atomically

    write_atomically(out / STATE / f"{record['key']}.json", json.dumps(record, indent=1))


# ---- the gradebook and the feedback files ------------------------------------------------

def task_points(record: dict, task) -> float | str:
    """A task's points in a record: its entry, plus its hidden checks' entry if any."""
    entries = [t for t in record.get("tests", []) if t["name"].startswith(f"Task {task.number}:")]
    return round(sum(t["score"] for t in entries), 2) if entries else ""


def write_gradebook(path: Path, rows: list, tasks):
    """One row per submission, in the form spreadsheets and learning-management systems
    import: a header row, UTF-8 (with the mark that makes Excel read it as such), numbers
    as plain numbers, and a reason where a submission could not be graded."""
    header = ["student", "email", "sid", "submitted_at"] + \
        [f"{t.number} {t.title} ({t.points})" for t in tasks] + \
        [f"total ({sum(t.points for t in tasks)})", "problem"]
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in sorted(rows, key=lambda r: r["student"].lower()):
            points = [task_points(r, t) for t in tasks]
            total = round(sum(p for p in points if p != ""), 2) if not r["problem"] else 0
            writer.writerow([_cell(r["student"]), _cell(r["email"]), _cell(r["sid"]),
                             r["submitted_at"], *points, total, _cell(r["problem"])])


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula (a name starting with '=')."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_feedback(folder: Path, rows: list):
    folder.mkdir(exist_ok=True)
    for r in rows:
        text = (f"{r['student']}\n\n" + (f"Could not be graded: {r['problem']}\n"
                                         if r["problem"] else r.get("feedback", "")))
        (folder / f"{r['key']}.txt").write_text(text, encoding="utf-8")
