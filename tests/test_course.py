"""The course scaffold: regions, the catalogue, and make-then-grade end to end."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.course.catalogue import BY_ID, TASKS, select
from minigrad.course.handout import project_files, repository_root
from minigrad.course.regions import blank, find_regions

ROOT = repository_root()


def all_regions():
    regions = []
    for name in project_files(ROOT):
        if name.endswith(".py"):
            regions += find_regions((ROOT / name).read_text(encoding="utf-8"), name)
    return regions


def run_course(*args, cwd=ROOT, check=False):
    done = subprocess.run([sys.executable, "-m", "minigrad.course", *args], cwd=cwd,
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


def test_every_task_has_grading_tests():
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_tasks.py",
                           "--collect-only", "-q", "-o", "addopts=", "-m", " or ".join(BY_ID)],
                          cwd=ROOT, capture_output=True, text=True)
    for task in TASKS:
        marked = subprocess.run([sys.executable, "-m", "pytest", "tests/test_tasks.py",
                                 "--collect-only", "-q", "-o", "addopts=", "-m", task.id],
                                cwd=ROOT, capture_output=True, text=True)
        assert "test_tasks.py::" in marked.stdout, f"no grading tests for {task.id}"
    assert done.returncode == 0


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
        '    raise NotImplementedError("Task 1.1: implement the backward of f")\n'
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


def test_unknown_task_ids_are_refused():
    with pytest.raises(ValueError, match="unknown task"):
        select(["task9_9"])


# ---- make, then grade ---------------------------------------------------------------------

def grade(directory, *extra):
    results = Path(directory) / "results.json"
    done = run_course("grade", str(directory), "--results", str(results), *extra,
                      cwd=directory)
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
    # Nor the textbook answers to task 1.4 that the engine-region test writes into copies.
    assert not (out / "tests" / "test_engine_region.py").exists()
    for name in ("TEXTBOOK_ORDER", "TEXTBOOK_CHAIN_RULE"):
        assigned = name + ' = """'  # (split, so that this file does not match itself)
        assert not [p for p, text in texts.items() if assigned in text], name
    readme = (out / "README.md").read_text()
    for task in TASKS:
        assert f"| {task.number} | {task.title} | {task.points} |" in readme
    imported = subprocess.run([sys.executable, "-c", "import minigrad, attention, "
                               "minigrad.course; print('ok')"], cwd=out, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(out)})
    assert imported.stdout.strip() == "ok", imported.stderr

    done, payload = grade(out)
    assert done.returncode != 0
    assert payload["score"] == 0 and payload["max_score"] == 100
    for test in payload["tests"]:
        assert test["score"] == 0
        number = test["name"].split(":")[0].split()[1]
        assert f"NotImplementedError: Task {number}: implement" in test["output"], test


def _fill(out: Path, task_id: str, replacements: dict):
    """Answer a task in a student copy: each stub of `task_id` gets the repository's
    solution, or `replacements[what]` instead when given."""
    for region in all_regions():
        if region.task != task_id:
            continue
        path = out / region.path
        text = path.read_text(encoding="utf-8")
        stub = f'{region.indent}raise NotImplementedError("Task {BY_ID[task_id].number}: ' \
               f'implement {region.what}")'
        assert stub in text, f"stub for {region.what} not found in {region.path}"
        answer = replacements.get(region.what, region.body)
        path.write_text(text.replace(stub, answer), encoding="utf-8")


def test_grading_isolates_blanks_wrong_answers_and_infinite_loops(tmp_path):
    out = tmp_path / "handout"
    run_course("make", str(out), "--tasks", "task1_1", "task2_2", "task2_3", check=True)
    # Task 1.1: right everywhere but tanh, whose backward forgets the square.
    _fill(out, "task1_1", {"the backward of tanh":
                           "        (out,) = ctx.saved_arrays\n        return grad * (1 - out)"})
    # Task 2.2: an answer that never returns.
    _fill(out, "task2_2", {"scaled dot-product attention": "    while True:\n        pass"})
    # Task 2.3 stays blank. Task 2.4 was not assigned, but the student broke its file.
    train = out / "attention" / "train.py"
    train.write_text(train.read_text() + "\ndef broken(:\n")
    # And the student "fixes" grading: a conftest hook that turns every failure into a pass.
    with open(out / "tests" / "conftest.py", "a") as conftest:
        conftest.write(
            "\n\nimport pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
            "def pytest_runtest_makereport(item, call):\n"
            "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n")
    everything = [task.id for task in TASKS]
    done, payload = grade(out, "--timeout", "20", "--tasks", *everything)
    assert done.returncode != 0
    got = scores(payload)
    points = {f"Task {task.number}": task.points for task in TASKS}
    assert got["Task 1.1"] == pytest.approx(10 * 6 / 7, abs=0.01)  # 6 of 7 ops right
    assert got["Task 2.2"] == 0 and got["Task 2.3"] == 0  # the conftest hook changed nothing
    assert got["Task 2.4"] == 0
    for other in ("Task 1.2", "Task 1.3", "Task 1.4", "Task 2.1"):
        assert got[other] == points[other], other  # untouched tasks keep full marks
    outputs = {t["name"].split(":")[0]: t["output"] for t in payload["tests"]}
    assert "tanh" in outputs["Task 1.1"] and "expected" in outputs["Task 1.1"]
    assert "timed out after 20 s" in outputs["Task 2.2"]
    assert "NotImplementedError: Task 2.3" in outputs["Task 2.3"]
    assert "SyntaxError" in outputs["Task 2.4"] and "train.py" in outputs["Task 2.4"]
    # Gradescope's fields, with the right total.
    assert set(payload) >= {"score", "tests"}
    assert all(set(t) >= {"name", "score", "max_score", "output"} for t in payload["tests"])
    assert payload["score"] == pytest.approx(sum(t["score"] for t in payload["tests"]))
    assert payload["score"] == pytest.approx(100 - 10 - 15 - 10 - 10 / 7, abs=0.01)
    table = done.stdout
    assert "timeout" in table and "total" in table
    # Without --tasks, a handout is graded on the tasks it assigned.
    _, assigned = grade(out, "--timeout", "20")
    assert [t["name"].split(":")[0] for t in assigned["tests"]] == [
        "Task 1.1", "Task 2.2", "Task 2.3"]
    assert assigned["max_score"] == 35


def test_make_refuses_to_overwrite_or_write_inside_the_repository(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    done = run_course("make", str(tmp_path / "taken"))
    assert done.returncode != 0 and "exists and is not empty" in done.stderr
    done = run_course("make", str(tmp_path / "taken"), "--force")
    assert done.returncode != 0 and "not a handout" in done.stderr
    assert (tmp_path / "taken" / "file").exists()  # nothing was deleted
    for place in (ROOT / "handout", ROOT, ROOT.parent):
        done = run_course("make", str(place), "--force")
        assert done.returncode != 0 and "the repository, inside it, or contains it" in \
            done.stderr, place
    assert (ROOT / "pyproject.toml").exists()


def test_stub_messages_stay_valid_python_whatever_the_description():
    text = "def f():\n    # BEGIN SOLUTION task1_1: a \\N{y} \"quoted\" thing\n    pass\n" \
           "    # END SOLUTION\n"
    ast.parse(blank(text, {"task1_1": BY_ID["task1_1"]}))
