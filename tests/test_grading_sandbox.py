"""The grader's trust boundary, attacked from inside a region as a student who wants points
without the work would: each attack sits where an answer goes, would earn the check if it
worked, and must earn nothing while the judge, its files and its verdict stay untouched.
(Instructor-only: handouts leave this file out.)"""

import hashlib
import json
import os
import textwrap
import uuid
from pathlib import Path

import pytest

from course.grader import sandbox
from course.grader.run import grade
from course.regions import find_regions
from tests.copies import ROOT, answer

pytestmark = pytest.mark.skipif(not sandbox.bwrap_works() and os.geteuid() != 0,
                                reason="needs bubblewrap (apt install bubblewrap) or root")


def region(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip("\n"), " " * 8)


def judge_files_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "course").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def solution_snippets(handout: Path, task_ids) -> list:
    """One line of every solution region of the given tasks that the handout does not
    hold anywhere: finding it would mean finding a solution."""
    from course.catalogue import BY_ID

    handout_text = "\n".join(p.read_text(errors="replace") for p in handout.rglob("*.py"))
    snippets = []
    for task in (BY_ID[i] for i in task_ids):
        for path in task.files:
            for found in find_regions((ROOT / path).read_text(encoding="utf-8"), path):
                lines = [line.strip() for line in found.body.splitlines()
                         if found.task == task.id and len(line.strip()) > 12
                         and line.strip() not in handout_text]
                snippets += lines[:1]
    return snippets


def graded(handout: Path, task: str, **options) -> tuple:
    results = handout.parent / f"results-{task}.json"
    payload = grade(handout, [task], results=results, seed=3,
                    hidden=handout.parent / "no_hidden", **options)
    (test,) = payload["tests"]
    return test["score"], test["output"], results


@pytest.fixture
def handout(tmp_path):
    from course.handout import make

    (tmp_path / "no_hidden").mkdir()
    out = tmp_path / "handout"
    make(out, ["task1_1", "task1_3", "task1_4"])
    return out


def test_attacks_from_inside_the_elementwise_regions_earn_nothing(handout, tmp_path):
    token = uuid.uuid4().hex
    # Tasks 1.3 and 1.4 are given and blank (1.1's answers below hold answer lines).
    snippets = solution_snippets(handout, ["task1_3", "task1_4"])
    assert len(snippets) >= 5
    # Code the handout gives (outside any region): the search must find it in the child's
    # tree, while no task's solution is there, handed out or not.
    control = "mask = _boolean_mask(mask, _scores_shape(q, k, v))"
    assert control in (ROOT / "attention/attention.py").read_text()
    # Task 2.2 was not handed out (the handout holds its solution), yet the child's tree
    # stubs it too: no check needs another task's solution.
    snippets += [line.strip() for found in find_regions(
        (ROOT / "attention/attention.py").read_text(), "attention/attention.py")
        for line in found.body.splitlines() if len(line.strip()) > 30][:2]
    before = judge_files_hash()
    answer(handout, "task1_1", {
        # The instructor's checkout, by its path and through the judge's working folder.
        "the backward of div (a / b)": region(f"""
            import os
            for path in [{str(ROOT / "minigrad/ops/arithmetic.py")!r},
                         "/proc/%d/cwd/minigrad/ops/arithmetic.py" % os.getppid(),
                         "/proc/1/cwd/minigrad/ops/arithmetic.py"]:
                try:
                    open(path).read()
                except OSError:
                    continue
                a, b = ctx.saved_arrays
                return grad / b, -grad * a / b**2
            raise RuntimeError("the checkout is out of reach")"""),
        # Another array library, imported three ways.
        "the backward of exp": region("""
            import importlib
            for way in (lambda: __import__("tor" + "ch"),
                        lambda: importlib.import_module("torch"),
                        lambda: exec("import torch")):
                try:
                    way()
                except ImportError as error:
                    problem = error
                    continue
                (out,) = ctx.saved_arrays
                return grad * out
            raise problem"""),
        # A message as a channel: a whole file copied into feedback.
        "the backward of log": region("""
            raise ValueError("LEAK" + "x" * 100_000)"""),
        # The grader's own files, and the verdict's path, written from inside.
        "the backward of sqrt": region(f"""
            for path in [{str(ROOT / "course/grader/compare.py")!r},
                         {str(tmp_path / "results-task1_1.json")!r}]:
                try:
                    with open(path, "a") as f:
                        f.write("# student was here")
                except OSError:
                    continue
                (out,) = ctx.saved_arrays
                return grad / (2 * out)
            raise RuntimeError("nothing of the judge's is writable")"""),
        # Any solution text within reach: the child's own tree, and the whole visible disk.
        "the backward of tanh": region(f"""
            import os
            snippets = {snippets!r}  # (the file holding this list is skipped: {token})
            control = {control!r}  # a solution the handout gives: the search must find it
            found, seen = [], []
            for top in ("/sandbox", os.path.dirname(os.getcwd()), "/tmp", "/root", "/work",
                        "/home"):
                for folder, _, files in os.walk(top):
                    for name in files:
                        if name.endswith(".py"):
                            try:
                                text = open(os.path.join(folder, name), errors="replace").read()
                            except OSError:
                                continue
                            if "{token}" not in text:
                                found += [folder + "/" + name for s in snippets if s in text]
                                seen += [name] if control in text else []
            raise RuntimeError("solutions found: %s; control in %s" % (sorted(set(found)),
                                                                      sorted(set(seen))))"""),
        # A daemon that outlives the child and would rewrite the verdict afterwards.
        "the backward of sigmoid": region(f"""
            import os, subprocess
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    subprocess.Popen(["/bin/sh", "-c", "sleep 300 # {token}"])
                os._exit(0)
            raise RuntimeError("daemon started")"""),
        # The judge killed: its parent, its process group, every process it can signal.
        "the backward of relu": region("""
            import os, signal
            for pid in (os.getppid(), 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.killpg(0, signal.SIGKILL)"""),
    })
    score, output, results = graded(handout, "task1_1")
    assert score == 0, output
    assert "the checkout is out of reach" in output
    assert "torch may not be used in an answer" in output
    assert "LEAK" in output and "x" * 1001 not in output and len(output) < 8000
    assert "nothing of the judge's is writable" in output
    assert "solutions found: []; control in ['attention.py']" in output, output
    assert "daemon started" in output
    assert "relu" in output and "did not run" not in output.split("relu")[0]
    alive = [pid for pid in os.listdir("/proc") if pid.isdigit()
             and token in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
    assert alive == []
    assert judge_files_hash() == before
    assert json.loads(results.read_text())["score"] == 0


def test_resources_beyond_the_limits_earn_nothing_and_harm_no_one(handout):
    answer(handout, "task1_3", {
        "the backward of sum": region("""
            import numpy as np
            hog = np.ones(6 * 2**30 // 8)  # 6 GB
            return np.broadcast_to(grad, ctx.shape) + 0 * hog[0]"""),
        "the backward of mean": region("""
            with open("junk", "wb") as f:
                for _ in range(1024):
                    f.write(b"x" * 2**20)  # 1 GB in all
            raise RuntimeError("wrote 1 GB")"""),
        "the backward of max (ties share the gradient)": region("""
            import subprocess
            children = [subprocess.Popen(["/bin/sleep", "30"]) for _ in range(200)]
            raise RuntimeError("started %d processes" % len(children))"""),
    })
    score, output, _ = graded(handout, "task1_3", limits=sandbox.Limits(wall_seconds=60))
    assert "MemoryError" in output
    assert "wrote 1 GB" not in output
    assert "started 200 processes" not in output
    assert score < 15


def test_a_backward_by_finite_differences_is_told_apart_from_the_derivative(handout):
    answer(handout, "task1_1", {"the backward of tanh": region("""
        import numpy as np
        (out,) = ctx.saved_arrays
        a = np.arctanh(out)
        h = 1e-6
        return grad * (np.tanh(a + h) - np.tanh(a - h)) / (2 * h)""")})
    score, output, _ = graded(handout, "task1_1")
    assert "FAIL tanh" in output
    assert "numerical difference" in output


def test_an_engine_that_adds_in_place_is_caught(handout):
    solution = next(r.body for r in find_regions(
        (ROOT / "minigrad/autograd.py").read_text(encoding="utf-8"))
        if "backward pass" in r.what)
    in_place = solution.replace(
        "pending[id(parent)] = parent_grad if received is None else received + parent_grad",
        "if received is None:\n                pending[id(parent)] = parent_grad\n"
        "            else:\n                received += parent_grad")
    assert in_place != solution
    answer(handout, "task1_4", {"the backward pass: send each node's gradient to its inputs":
                                in_place})
    score, output, _ = graded(handout, "task1_4")
    assert score < 15
    assert "h + h + h" in output


# Code that finds the running check in its own call stack, asks the check's reference for
# the expected outputs, writes them as the harness would, and leaves: the strongest forgery
# from inside a check's process.
FORGE_FROM_THE_STACK = """
import os, sys
frame = sys._getframe()
while frame is not None and "check" not in frame.f_locals:
    frame = frame.f_back
harness = frame.f_globals
expected = frame.f_locals["check"].reference(frame.f_locals["inputs"])
harness["_write"](frame.f_locals["outputs"], frame.f_locals["i"], expected,
                  {"missing": [], "error": None, "seconds": 0.0})
os._exit(0)"""


def test_nothing_in_a_child_computes_what_its_checks_expect(tmp_path):
    """The checks' references (and the stand-ins that answer one task by another route)
    are not in the child of the task they would answer: importing them, or finding them
    through the running check, earns nothing."""
    from course.handout import make

    (tmp_path / "no_hidden").mkdir()
    handout = tmp_path / "handout"
    make(handout, ["task1_2", "task1_4", "task2_2", "task2_3"])
    answer(handout, "task1_2", {"sum_to_shape, which unbroadcast uses": region("""
        try:
            from course.grader.sum_back import sum_back
        except ImportError:
            from course.grader.exact import sum_back  # noqa
        return sum_back(grad, shape)""").replace(" " * 8, " " * 4)})
    answer(handout, "task1_4", {
        "the topological order of the graph": region(FORGE_FROM_THE_STACK).replace(
            " " * 8, " " * 4),
        "the backward pass: send each node's gradient to its inputs": region(
            FORGE_FROM_THE_STACK).replace(" " * 8, " " * 4)})
    answer(handout, "task2_2", {"scaled dot-product attention": region("""
        from course.grader.numpy_attention import stand_in_attention
        return stand_in_attention()(q, k, v, mask=mask, causal=causal, scale=scale)
        """).replace(" " * 8, " " * 4)})
    answer(handout, "task2_3", {"the forward of multi-head attention": region("""
        import minigrad as mg
        from course.grader.numpy_multihead import multihead_forward
        weights = {name: p.data for name, p in self.named_parameters()}
        inputs = {"x": x.data, **weights, **({} if context is None else
                                             {"context": context.data})}
        kind = "causal" if causal else "self" if context is None else "cross"
        found = multihead_forward(inputs, kind, self.n_heads)
        self.attention_weights = found["weights"]
        return mg.tensor(found["y"])""")})
    results = tmp_path / "results.json"
    payload = grade(handout, ["task1_2", "task1_4", "task2_2", "task2_3"], results=results,
                    seed=3, hidden=tmp_path / "no_hidden")
    scores = {test["name"]: test["score"] for test in payload["tests"]}
    outputs = "\n".join(test["output"] for test in payload["tests"])
    assert sum(scores.values()) == 0, outputs
    for module in ("sum_back", "exact", "numpy_attention", "numpy_multihead"):
        assert f"course.grader.{module}" in outputs, module
    assert "is the judge's, and not available while an answer runs" in outputs


def test_what_an_answer_does_to_its_process_reaches_its_own_check_only(handout):
    """Each check runs in a process of its own: an answer that patches the harness, exits
    or never returns costs that check, and the next runs as if nothing had happened."""
    answer(handout, "task1_1", {
        # Every later check's outputs replaced by zeros, then this one's answer given.
        "the backward of div (a / b)": region("""
            import sys
            frame = sys._getframe()
            while "_arrays" not in frame.f_globals:
                frame = frame.f_back
            frame.f_globals["_arrays"] = lambda outputs: ({}, [])
            a, b = ctx.saved_arrays
            return grad / b, -grad * a / b**2"""),
        "the backward of exp": region("""
            import os
            os._exit(0)"""),
        "the backward of log": region("""
            while True:
                pass"""),
    })
    score, output, _ = graded(handout, "task1_1", limits=sandbox.Limits(check_seconds=1))
    failed = [line.strip() for line in output.splitlines() if line.strip().startswith("FAIL")]
    assert failed == ["FAIL exp", "FAIL log"], output
    assert "ended without writing a result" in output
    assert "did not finish within 1 s" in output
