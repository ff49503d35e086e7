"""The course scaffold: regions, the catalogue, and make-then-grade end to end."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course.catalogue import BY_ID, TASKS, select
from course.handout import project_files, repository_root
from course.regions import blank, find_answers, find_regions, splice

ROOT = repository_root()


def all_regions():
    regions = []
    for name in project_files(ROOT):
        if name.endswith(".py"):
            regions += find_regions((ROOT / name).read_text(encoding="utf-8"), name)
    return regions


def run_course(*args, cwd=ROOT, check=False):
    done = subprocess.run([sys.executable, "-m", "course", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


# ---- regions and the catalogue ------------------------------------------------------------

def test_every_task_has_regions_in_its_own_files_and_every_region_a_task():
    regions = all_regions()
    for region in regions:
        assert region.task in BY_ID, f"{region.path}:{region.start + 1}: unknown task"
        assert region.path in BY_ID[region.task].files, \
            f"{region.path} is not listed among the files of {region.task}"
        assert region.body.strip(), f"{region.path}:{region.start + 1}: empty region"
    assert {r.task for r in regions} == set(BY_ID)
    assert sum(task.points for task in TASKS) == 100


def test_every_task_has_checks_and_each_check_is_a_test_marked_with_its_task():
    from course.grader.checks import BUILT_IN, checks_for
    from tests.test_tasks import _cases

    cases = list(_cases())
    for task in TASKS:
        checks = checks_for(task.id, BUILT_IN)
        assert checks, f"no grader checks for {task.id}"
        marked = [c for c in cases if any(m.name == task.id for m in c.marks)]
        assert [c.values[0].name for c in marked] == [c.name for c in checks], task.id


def test_blank_replaces_chosen_regions_and_unmarks_the_others():
    text = (
        "def f(x):\n"
        "    # BEGIN SOLUTION task1_1: the backward of f\n"
        "    y = x * 2\n"
        "    return y\n"
        "    # END SOLUTION\n"
        "\n"
        "def g(x):\n"
        "    # BEGIN SOLUTION task1_2\n"
        "    return -x\n"
        "    # END SOLUTION\n"
    )
    out = blank(text, {"task1_1": BY_ID["task1_1"]})
    assert out == (
        "def f(x):\n"
        "    # BEGIN TASK 1.1: the backward of f\n"
        '    raise NotImplementedError("Task 1.1: implement the backward of f")\n'
        "    # END TASK 1.1\n"
        "\n"
        "def g(x):\n"
        "    return -x\n"
    )


@pytest.mark.parametrize("text, problem", [
    ("# BEGIN SOLUTION task1_1\nx = 1\n", "never closed"),
    ("x = 1\n# END SOLUTION\n", "END SOLUTION without a BEGIN"),
    ("# BEGIN SOLUTION task1_1\n# BEGIN SOLUTION task1_2\n# END SOLUTION\n", "inside another"),
])
def test_malformed_markers_are_errors_naming_file_and_line(text, problem):
    with pytest.raises(ValueError, match=rf"^ops\.py:\d+: .*{problem}"):
        find_regions(text, "ops.py")


def test_answers_are_read_between_task_markers_and_spliced_into_the_graders_copy():
    original = ("def f(x):\n    # BEGIN SOLUTION task1_1: the backward of f\n    return 2 * x\n"
                "    # END SOLUTION\n")
    handout = blank(original, {"task1_1": BY_ID["task1_1"]})
    submitted = handout.replace('    raise NotImplementedError("Task 1.1: implement the backward '
                                'of f")', "    y = x + x\n    return y")
    answers, problems = find_answers(submitted, "f.py")
    assert problems == [] and len(answers) == 1
    assert (answers[0].what, answers[0].body, answers[0].line) == (
        "the backward of f", "    y = x + x\n    return y", 3)
    placed = []
    spliced = splice(original, {("task1_1", "the backward of f"): answers[0].body}, "f.py",
                     placed)
    assert spliced == "def f(x):\n    y = x + x\n    return y\n"
    assert placed == [(("task1_1", "the backward of f"), 2, 2)]


@pytest.mark.parametrize("damage, problem", [
    (lambda t: t.replace("    # END TASK 1.1\n", ""), "never closed"),
    (lambda t: t.replace("    # BEGIN TASK 1.1: the backward of f\n", ""), "without its BEGIN"),
    (lambda t: t.replace("    # END TASK 1.1\n", "") + "    # BEGIN TASK 1.1: g\n    # END TASK "
     "1.1\n", "has no END"),
])
def test_damaged_task_markers_are_problems_naming_the_file_and_line(damage, problem):
    handout = blank("def f(x):\n    # BEGIN SOLUTION task1_1: the backward of f\n    pass\n"
                    "    # END SOLUTION\n", {"task1_1": BY_ID["task1_1"]})
    answers, problems = find_answers(damage(handout), "f.py")
    assert not [a for a in answers if a.what == "the backward of f"]
    assert any(problem in text and text.startswith("f.py:") for _, text in problems), problems


def test_region_descriptions_are_unique_within_a_file():
    # The grader matches a submission's answers to its regions by file and description.
    keys = [(r.path, r.task, r.what) for r in all_regions()]
    assert len(keys) == len(set(keys))


def test_unknown_task_ids_are_refused():
    with pytest.raises(ValueError, match="unknown task"):
        select(["task9_9"])


# ---- make, then grade ---------------------------------------------------------------------

def run_grade(directory, *extra, cwd=ROOT):
    """`grade` from the instructor's checkout (cwd=ROOT), or from inside the handout."""
    results = Path(directory) / "results.json"
    done = run_course("grade", str(directory), "--results", str(results), *extra, cwd=cwd)
    return done, json.loads(results.read_text())


def scores(payload):
    return {test["name"].split(":")[0]: test["score"] for test in payload["tests"]}


def test_the_repository_itself_grades_full_marks(tmp_path):
    results = tmp_path / "results.json"
    done = run_course("grade", str(ROOT), "--results", str(results))
    payload = json.loads(results.read_text())
    assert done.returncode == 0, done.stdout
    assert payload["score"] == payload["max_score"] == 100
    assert all(t["score"] == t["max_score"] for t in payload["tests"])


def test_a_full_handout_holds_no_solution_imports_cleanly_and_grades_zero(tmp_path):
    out = tmp_path / "handout"
    run_course("make", str(out), check=True)
    assert not (out / ".git").exists()
    # No region's solution text survives anywhere in the copy.
    texts = {p: p.read_text(encoding="utf-8", errors="replace")
             for p in out.rglob("*") if p.is_file()}
    for region in all_regions():
        body = region.body.strip()
        leaked = [str(p.relative_to(out)) for p, text in texts.items() if body in text]
        assert not leaked, f"{region.path} ({region.task}) solution found in {leaked}"
    assert not any(find_regions(text) for p, text in texts.items() if p.suffix == ".py")
    # Nor the instructor's files: the textbook answers to task 1.4 that the engine-region test
    # writes into copies, the grader (whose mistake models edit right answers) but for the
    # specification its checks are, its tests.
    from course.grader.checks import SPECIFICATION

    shipped = sorted(str(p.relative_to(out)) for p in (out / "course" / "grader").iterdir())
    assert shipped == sorted(SPECIFICATION), shipped
    for instructor_only in ("tests/test_engine_region.py", "course/grader/models.py",
                            "course/grader/run.py", "course/grader/sandbox.py",
                            "tests/test_grader.py", "tests/test_course.py",
                            "tests/test_grading_sandbox.py",
                            "docs/instructors.md", "benchmarks", "course/hidden_checks"):
        assert not (out / instructor_only).exists(), instructor_only
    for name in ("TEXTBOOK_ORDER", "TEXTBOOK_CHAIN_RULE"):
        assigned = name + ' = """'  # (split, so that this file does not match itself)
        assert not [p for p, text in texts.items() if assigned in text], name
    readme = (out / "README.md").read_text()
    assert "## Read the code" not in readme  # its line numbers are the repository's
    for task in TASKS:
        assert f"| {task.number} | {task.title} | {task.points} |" in readme
    imported = subprocess.run([sys.executable, "-c", "import minigrad, attention, "
                               "course; print('ok')"], cwd=out, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(out)})
    assert imported.stdout.strip() == "ok", imported.stderr

    # Every stub sits between visible TASK markers, and nothing else is marked.
    for region in all_regions():
        task = BY_ID[region.task]
        text = texts[out / region.path]
        assert f"# BEGIN TASK {task.number}: {region.what}\n" in text, region.what
    done, payload = run_grade(out)
    assert done.returncode != 0
    assert payload["score"] == 0 and payload["max_score"] == 100
    for test in payload["tests"]:
        assert test["score"] == 0
        number = test["name"].split(":")[0].split()[1]
        assert f"NotImplementedError: Task {number}: implement" in test["output"], test
    assert "Nothing outside the TASK markers was changed" in payload["output"]



def test_inside_a_handout_grade_runs_the_task_tests_marked_not_isolated(tmp_path):
    # A handout has no grader: grading yourself runs the task tests (the grader's checks),
    # without a sandbox, and every line it prints or writes says so.
    from tests.copies import answer

    out = tmp_path / "handout"
    run_course("make", str(out), "--tasks", "task1_1", "task1_2", check=True)
    answer(out, "task1_2")
    assert not (out / "course" / "grader" / "run.py").exists()
    done, payload = run_grade(out, "--tasks", "task1_1", "task1_2", cwd=out)
    assert done.returncode == 1, done.stderr
    mark = "[not isolated] "
    assert scores(payload) == {mark + "Task 1.1": 0, mark + "Task 1.2": 10}
    lines = done.stdout.splitlines() + [line for test in payload["tests"]
                                        for line in test["output"].splitlines()]
    assert len(lines) > 10 and all(line.startswith(mark) for line in lines if line), lines


def test_make_refuses_to_overwrite_or_write_inside_the_repository(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    done = run_course("make", str(tmp_path / "taken"))
    assert done.returncode != 0 and "exists and is not empty" in done.stderr
    done = run_course("make", str(tmp_path / "taken"), "--force")
    assert done.returncode != 0 and "not a handout" in done.stderr
    assert (tmp_path / "taken" / "file").exists()  # nothing was deleted
    done = run_course("make", str(tmp_path / "taken" / "file"))  # a file, not a folder
    assert done.returncode != 0 and done.stderr.strip().splitlines() == [
        f"course make: {tmp_path / 'taken' / 'file'} is a file, not a folder; give a folder "
        "for the handout (it is made if it does not exist)"]
    for place in (ROOT / "handout", ROOT, ROOT.parent):
        done = run_course("make", str(place), "--force")
        assert done.returncode != 0 and "the repository, inside it, or contains it" in \
            done.stderr, place
    assert (ROOT / "pyproject.toml").exists()


def test_stub_messages_stay_valid_python_whatever_the_description():
    text = "def f():\n    # BEGIN SOLUTION task1_1: a \\N{y} \"quoted\" thing\n    pass\n" \
           "    # END SOLUTION\n"
    ast.parse(blank(text, {"task1_1": BY_ID["task1_1"]}))


def test_breakpoint_in_an_answer_stops_at_the_prompt_under_the_handouts_test_command(
        tmp_path):
    # `python -m pytest -m task1_1` (what the handout says) runs in one process, so a
    # breakpoint() in the student's answer reaches the terminal; the suite without -m
    # still runs on every core.
    from course.handout import make
    from tests.copies import answer

    handout = tmp_path / "handout"
    make(handout, ["task1_1"])
    answer(handout, "task1_1", {"the backward of exp": "        (out,) = ctx.saved_arrays\n"
                                "        breakpoint()\n        return out * grad"})
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "task1_1", "-k", "exp",
                           "-p", "no:cacheprovider", "tests/test_tasks.py"],
                          input="p out.shape\nc\n", capture_output=True, text=True,
                          timeout=120, cwd=handout, env={**os.environ, "PYTHONPATH": str(handout)})
    assert "(Pdb)" in done.stdout and "(2, 3)" in done.stdout, done.stdout[-2000:]
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-2000:]
