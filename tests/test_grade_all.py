"""Grading a whole class (course grade-all): similarity, the gradebook, bad submissions,
isolation between submissions, and a second run that grades only what changed.
(Instructor-only: handouts leave this file out.)"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from course.grader import sandbox
from tests.copies import ROOT, answer
from tests.synthetic_class import (
    BACKWARD_PASS,
    SUM_TO_SHAPE,
    TOPOLOGICAL,
    bad_submissions,
    copy_of,
    honest,
    rename_locals,
    swap_independent_lines,
    variant_body,
)

needs_sandbox = pytest.mark.skipif(not sandbox.bwrap_works() and os.geteuid() != 0,
                                   reason="needs bubblewrap (apt install bubblewrap) or root")
REGIONS = [("task1_2", SUM_TO_SHAPE), ("task1_4", TOPOLOGICAL), ("task1_4", BACKWARD_PASS)]
# One natural line that most students write alike (task 1.1's exp backward).
NATURAL = {("task1_1", "the backward of exp"): "        (out,) = ctx.saved_arrays\n"
                                              "        return grad * out"}


def _answers(way: int, quirk=None) -> dict:
    found = {key: variant_body(what, way, quirk) or _solution(what) for key, what in
             [((t, w), w) for t, w in REGIONS]}
    return {**found, **NATURAL}


def _solution(what):
    from course.regions import find_regions

    for name in ("minigrad/broadcast.py", "minigrad/autograd.py"):
        for region in find_regions((ROOT / name).read_text(), name):
            if region.what == what:
                return region.body
    raise KeyError(what)


def test_planted_copies_are_flagged_and_independent_answers_are_not():
    from course.similarity import similar_pairs

    answers = {f"honest{way}": _answers(way) for way in range(4)}
    # Copies: every variable renamed; and renamed with neighbouring lines swapped.
    answers["copies honest1"] = {k: rename_locals(v, seed=1) for k, v in
                                 answers["honest1"].items()}
    answers["copies honest2"] = {k: swap_independent_lines(rename_locals(v, seed=2))
                                 for k, v in answers["honest2"].items()}
    assert answers["copies honest2"] != answers["honest2"]
    # Alike only in the one natural line: their other answers are blank.
    answers["natural only"] = dict(NATURAL)
    answers["natural too"] = dict(NATURAL)
    pairs, scores = similar_pairs(answers, stubs="")
    flagged = {(p.first, p.second) for p in pairs}
    assert flagged == {("copies honest1", "honest1"), ("copies honest2", "honest2")}, scores
    honest = [scores[(a, b)] for a, b in scores if a.startswith("honest") and
              b.startswith("honest")]
    assert max(honest) < 0.4, scores  # well below the threshold (0.55)
    assert scores[("natural only", "natural too")] == 0.0 or \
        ("natural only", "natural too") not in flagged
    # The side-by-side view holds both answers of each region.
    (first,) = [p for p in pairs if p.second == "honest1"]
    assert any("while grad.ndim > len(shape)" in b for _, a, b in first.regions)


@needs_sandbox
@pytest.mark.slow
def test_a_class_is_graded_into_a_gradebook_and_bad_submissions_cost_their_row(tmp_path):
    from course.grade_all import grade_all
    from course.handout import make

    template = tmp_path / "template"
    make(template, ["task1_2", "task1_4"])
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copytree(template, folder / "alice")
    honest(folder / "alice", {SUM_TO_SHAPE: 1, TOPOLOGICAL: 1, BACKWARD_PASS: 1})
    shutil.copytree(template, folder / "bob")  # blank
    copy_of(folder / "alice", folder / "carol", seed=4, reorder=True)
    # A region that looks for other submissions while it is graded: the class folder, the
    # grader's copies of every submission, anything of alice's.
    shutil.copytree(template, folder / "mallory")
    answer(folder / "mallory", "task1_2", {SUM_TO_SHAPE: textwrap.indent(textwrap.dedent(f"""
        import glob, os
        found = [p for pattern in ({str(folder / "*")!r}, "/tmp/grade-all-*/copies/*",
                                   "/tmp/*/copies/alice")
                 for p in glob.glob(pattern)]
        for top in ("/tmp", "/sandbox", "/home", "/root"):
            for where, dirs, files in os.walk(top):
                found += [where for d in dirs if d == "alice"]
                if len(found) > 20 or where.count("/") > 4:
                    dirs[:] = []
        raise RuntimeError("found %s" % sorted(set(found)))"""), "    ")})
    reasons = bad_submissions(folder, template)
    out = tmp_path / "report"
    tasks = ["task1_2", "task1_4"]
    summary = grade_all(folder, out, tasks, jobs=2, progress=False)
    assert summary["graded"] == 4 and summary["refused"] == len(reasons)

    with open(out / "gradebook.csv", encoding="utf-8-sig", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["alice"]["1.2 Undoing broadcasting (10)"] == "10.0"
    assert rows["alice"]["total (25)"] == rows["carol"]["total (25)"] == "25.0"
    assert rows["bob"]["total (25)"] == "0.0"
    assert rows["mallory"]["1.2 Undoing broadcasting (10)"] == "0.0"
    for key, reason in reasons.items():
        assert reason in rows[key]["problem"], (key, rows[key]["problem"])
        assert "\n" not in rows[key]["problem"]
    feedback = (out / "feedback" / "mallory.txt").read_text()
    assert "found []" in feedback, feedback
    assert "FAIL" in (out / "feedback" / "bob.txt").read_text()
    report = (out / "report.html").read_text()
    assert "carol" in report and "alice" in report and "Answers unusually alike" in report
    assert "while grad.ndim &gt; len(shape)" in report  # the two answers, side by side
    assert "is not UTF-8 text" in report

    # A second run grades nothing; a changed submission is graded again, alone.
    assert grade_all(folder, out, tasks, progress=False)["graded"] == 0
    answer(folder / "bob", "task1_2")
    again = grade_all(folder, out, tasks, progress=False)
    assert again["graded"] == 1
    with open(out / "gradebook.csv", encoding="utf-8-sig", newline="") as f:
        assert {r["student"]: r for r in csv.DictReader(f)}["bob"]["total (25)"] == "10.0"


@needs_sandbox
@pytest.mark.slow
def test_ctrl_c_keeps_every_submission_already_graded(tmp_path):
    from course.handout import make

    folder = tmp_path / "class"
    make(folder / "s0", ["task1_1"])
    for i in range(1, 6):
        shutil.copytree(folder / "s0", folder / f"s{i}")
    out = tmp_path / "report"
    command = [sys.executable, "-m", "course", "grade-all", str(folder), "--out", str(out),
               "--jobs", "1", "--tasks", "task1_1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "graded").glob("*.json"))) < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "run the same command again" in err
    kept = list((out / "graded").glob("*.json"))
    assert 2 <= len(kept) < 6
    for path in kept:
        assert json.loads(path.read_text())["tests"]  # whole results only
    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert f"graded {6 - len(kept)} submission(s)" in rerun.stdout, rerun.stdout


METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '42'
    :email: ada@example.edu
  :created_at: 2026-11-30 23:59:01.445563000 -08:00
  :score: !ruby/object:BigDecimal 18:0.1e2
submission_1002:
  :submitters:
  - :name: "=HYPERLINK(\\"x\\")"
    :email: eve@example.edu
  - :name: Grace Hopper
  :created_at: 2026-12-01 08:00:00.000000000 -08:00
submission_1003:
  :submitters:
  - :name: Missing Person
"""


def test_a_gradescope_export_names_each_submissions_students_and_time(tmp_path):
    """submission_metadata.yml (with Gradescope's Ruby tags) names the students; a folder it
    names that is missing, and one it does not name, are rows with a reason."""
    import zipfile

    from course.grade_all import _cell
    from course.intake import collect

    export = tmp_path / "assignment_77_export"
    export.mkdir()
    (export / "submission_metadata.yml").write_text(METADATA)
    for key in ("submission_1001", "submission_1002", "submission_9999"):
        (export / key / "minigrad").mkdir(parents=True)
        (export / key / "minigrad" / "broadcast.py").write_text("# answers\n")
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as z:
        for path in export.rglob("*"):
            z.write(path, path.relative_to(tmp_path).as_posix())
    for source in (export, tmp_path / "export.zip"):
        found = {s.key: s for s in collect(source, tmp_path / f"scratch-{source.suffix}")}
        ada, pair = found["submission_1001"], found["submission_1002"]
        assert (ada.student, ada.sid, ada.email) == ("Ada Lovelace", "42", "ada@example.edu")
        assert ada.submitted_at.startswith("2026-11-30T23:59:01")
        assert pair.student == '=HYPERLINK("x"); Grace Hopper' and not pair.problem
        assert _cell(pair.student).startswith("'=")  # a spreadsheet will not run it
        assert "has no folder submission_1003" in found["submission_1003"].problem
        assert "not named in submission_metadata.yml" in found["submission_9999"].problem
        assert (ada.path / "minigrad" / "broadcast.py").read_text() == "# answers\n"


def test_the_tasks_graded_are_those_most_handouts_say_not_one_students_edit(tmp_path):
    from course.grade_all import handed_out
    from course.intake import collect

    for name, tasks in (("ann", "task1_2 task1_4"), ("ben", "task1_2 task1_4"),
                        ("eve", "task1_1")):  # eve edited her marker file
        (tmp_path / "class" / name / "minigrad").mkdir(parents=True)
        (tmp_path / "class" / name / "minigrad" / "__init__.py").write_text("")
        (tmp_path / "class" / name / ".minigrad-handout").write_text(tasks + "\n")
    submissions = collect(tmp_path / "class", tmp_path / "scratch")
    assert handed_out(submissions) == ["task1_2", "task1_4"]
