"""The instructor's grader, attacked as a student who wants points without the work would,
and fed the classic mistakes: each must cost exactly the checks it would have faked, with a
message that names the mistake. (Instructor-only: handouts leave this file out.)"""

import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from course.catalogue import BY_ID, TASKS
from course.grader.numpy_attention import attention_forward
from course.grader.run import grade
from course.handout import make
from tests.copies import ROOT, answer


@pytest.fixture(scope="module")
def blank_handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("blank") / "handout"
    make(out)
    return out


@pytest.fixture
def handout(blank_handout, tmp_path):
    """A fresh copy of the blank handout to edit."""
    return shutil.copytree(blank_handout, tmp_path / "handout")


def run(handout, *tasks, **options):
    """Grade (without the hidden checks unless asked); returns ({task number: score},
    {task number: output}, payload)."""
    if "hidden" not in options:
        options["hidden"] = handout.parent / "no_hidden_checks"
        options["hidden"].mkdir(exist_ok=True)
    payload = grade(handout, list(tasks) or None, results=handout / "results.json", seed=7,
                    **options)
    scores = {t["name"].split(":")[0][len("Task "):]: t["score"] for t in payload["tests"]}
    outputs = {t["name"].split(":")[0][len("Task "):]: t["output"] for t in payload["tests"]}
    return scores, outputs, payload


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def indent(code, spaces):
    return textwrap.indent(textwrap.dedent(code).strip("\n"), " " * spaces)


PYTEST_PATCH = """
try:
    import _pytest.reports
    _pytest.reports.TestReport.passed = property(lambda self: True)
    _pytest.reports.TestReport.outcome = property(lambda self: "passed", lambda self, v: None)
except ImportError:
    pass
import numpy.testing
numpy.testing.assert_allclose = lambda *args, **kwargs: None
import numpy
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.broadcast(a, b).shape, bool)
"""


# ---- what a solved handout gets --------------------------------------------------------------

def test_a_solved_handout_grades_full_marks_and_lists_nothing_ignored(handout):
    for task in TASKS:
        answer(handout, task.id)
    scores, outputs, payload = run(handout)
    assert payload["score"] == payload["max_score"] == 100, outputs
    assert payload["ignored"] == []
    # Gradescope's fields, and a seed that repeats the inputs.
    assert all(set(t) >= {"name", "score", "max_score", "output"} for t in payload["tests"])
    saved = json.loads((handout / "results.json").read_text())
    assert saved["score"] == 100 and saved["seed"] == 7


# ---- a student who wants points without the work --------------------------------------------

def test_patching_pytest_and_numpy_outside_the_regions_changes_nothing(handout):
    init = handout / "minigrad" / "__init__.py"
    init.write_text(init.read_text() + PYTEST_PATCH)
    (handout / "tests" / "conftest.py").write_text(
        "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n")
    edit(handout / "tests" / "test_tasks.py", "def test_", "def ignored_")
    answer(handout, "task1_2")  # one honest task among the blanks
    scores, _, payload = run(handout)
    assert scores.pop("1.2") == 10
    assert set(scores.values()) == {0}, scores
    assert "minigrad/__init__.py (changed outside the task markers)" in payload["ignored"]
    assert "tests/conftest.py (changed outside the task markers)" in payload["ignored"]
    assert "tests/test_tasks.py (changed outside the task markers)" in payload["ignored"]


def test_neutered_checkers_change_nothing(handout):
    first_line = "    arrays = [a.astype(np.float64) if"
    edit(handout / "minigrad" / "debug" / "nodecheck.py", first_line,
         "    return True\n" + first_line)
    edit(handout / "minigrad" / "gradcheck.py", '"""', '"""\n')
    gradcheck = handout / "minigrad" / "gradcheck.py"
    gradcheck.write_text(gradcheck.read_text() + "\n\ndef gradcheck(*args, **kwargs):\n"
                         "    return True\n")
    scores, _, payload = run(handout, "task1_1", "task1_3", "task2_1")
    assert payload["score"] == 0, scores
    assert any(n.startswith("minigrad/debug/nodecheck.py") for n in payload["ignored"])


def test_patches_made_inside_a_region_fake_nothing(handout):
    # Task 1.1's exp: patches pytest and NumPy's comparisons, then returns a wrong gradient.
    patch_then_wrong = indent(PYTEST_PATCH + "\nreturn grad", 8)
    answer(handout, "task1_1", {"the backward of exp": patch_then_wrong})
    answer(handout, "task1_3")  # honest
    scores, outputs, _ = run(handout, "task1_1", "task1_3")
    from course.grader.checks import BUILT_IN, checks_for

    n = len(checks_for("task1_1", BUILT_IN))
    assert scores["1.1"] == pytest.approx(10 * (n - 1) / n, abs=0.01)  # exp alone lost
    assert scores["1.3"] == 15, outputs["1.3"]
    assert "FAIL exp" in outputs["1.1"]
    assert "returns the incoming gradient unchanged" in outputs["1.1"]


# The checks' own NumPy reference (numpy_attention.py, in every handout), copied into the
# region and its result wrapped in mg.tensor: right values, no graph.
NUMPY_ATTENTION = inspect.getsource(attention_forward) + """
allowed = mask
if causal:
    tri = causal_mask(q.shape[-2], k.shape[-2])
    allowed = tri if allowed is None else allowed & tri
out, weights = attention_forward(q.data, k.data, v.data, allowed)
return mg.tensor(out), mg.tensor(weights)
"""


def test_attention_in_numpy_gets_the_forward_values_and_no_gradient_points(handout):
    answer(handout, "task2_2", {"scaled dot-product attention": indent(NUMPY_ATTENTION, 4)})
    scores, outputs, payload = run(handout, "task2_2")
    # out and weights right, the gradients of q, k and v missing: 2 of 5 in every check
    # (but the one with an explicit scale, which the reference ignores).
    assert scores["2.2"] == pytest.approx(10 * 2 / 5 * 5 / 6, abs=0.01)
    assert "no gradient reached q" in outputs["2.2"]
    assert "constants to the engine" in outputs["2.2"]


def test_multihead_attention_in_numpy_gets_no_gradient_points(handout):
    numpy_heads = indent("""
        import numpy as np
        import minigrad as mg
        context = x if context is None else context
        B, T, C = x.shape
        S, nh, hs = context.shape[1], self.n_heads, self.head_dim
        def project(layer, inp):
            return inp.data @ layer.weight.data + layer.bias.data
        def split(a, L):
            return a.reshape(B, L, nh, hs).transpose(0, 2, 1, 3)
        q = split(project(self.q_proj, x), T)
        k = split(project(self.k_proj, context), S)
        v = split(project(self.v_proj, context), S)
        y, weights = scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v),
                                                  mask=mask, causal=causal)
        self.attention_weights = weights.data
        merged = y.data.transpose(0, 2, 1, 3).reshape(B, T, C)
        return mg.tensor(merged @ self.out_proj.weight.data + self.out_proj.bias.data)
        """, 8)
    answer(handout, "task2_2")  # what multi-head attention calls for each head
    answer(handout, "task2_3", {"the forward of multi-head attention": numpy_heads})
    scores, outputs, _ = run(handout, "task2_3")
    assert scores["2.3"] < 15 * 0.25, scores  # the forward values only
    assert "no gradient reached x" in outputs["2.3"]
    assert "no gradient reached q_proj.weight" in outputs["2.3"]


# ---- damaged markers and runaway code --------------------------------------------------------

def test_a_region_whose_markers_were_damaged_scores_zero_for_its_task_only(handout):
    answer(handout, "task1_1")
    answer(handout, "task1_2")
    edit(handout / "minigrad" / "ops" / "elementwise.py", "        # END TASK 1.1\n", "", )
    scores, outputs, _ = run(handout, "task1_1", "task1_2")
    assert scores == {"1.1": 0, "1.2": 10}
    assert "never closed" in outputs["1.1"] or "missing or damaged" in outputs["1.1"]
    assert "elementwise.py" in outputs["1.1"]


def test_an_infinite_loop_costs_the_checks_it_stops(handout):
    answer(handout, "task1_2")
    answer(handout, "task2_2", {"scaled dot-product attention": "    while True:\n        pass"})
    scores, outputs, _ = run(handout, "task1_2", "task2_2", timeout=3)
    assert scores == {"1.2": 10, "2.2": 0}
    assert "timed out after 3 s" in outputs["2.2"]


def test_a_syntax_error_costs_only_the_task_whose_file_it_breaks(handout):
    answer(handout, "task1_2")
    answer(handout, "task2_4", {"one training step": "    def broken(:"})
    scores, outputs, _ = run(handout, "task1_2", "task2_4")
    assert scores == {"1.2": 10, "2.4": 0}
    assert "SyntaxError" in outputs["2.4"] and "train.py" in outputs["2.4"]


# ---- the classic mistakes: points lost, and a message that names the mistake -----------------

MISTAKES = [
    ("task2_1", "the backward of softmax",
     "(y,) = ctx.saved_arrays\nreturn grad * y * (1 - y)", 8,
     "only the diagonal of the softmax Jacobian"),
    ("task2_2", "scaled dot-product attention", None, 4, "not divided by sqrt(d_k)"),
    ("task1_4", "the backward pass: send each node's gradient to its inputs", None, 4,
     "replace each other (= instead of adding)"),
    ("task1_4", "the backward pass: send each node's gradient to its inputs", None, 4,
     "each op's backward is called directly"),
    ("task1_2", "sum_to_shape, which unbroadcast uses",
     "extra = grad.ndim - len(shape)\nif extra:\n    grad = grad.sum(axis=tuple(range(extra)))"
     "\nreturn grad", 4, "the input's size-1 axes that broadcasting stretched"),
    ("task1_3", "the backward of matmul", None, 8, "an operand is not transposed"),
    ("task1_1", "the backward of tanh", "(out,) = ctx.saved_arrays\nreturn grad * (1 - out)", 8,
     "the square is missing"),
    ("task2_4", "one training step", None, 4, "the old gradients are never cleared"),
]


def _solution(task_id, what):
    from course.regions import find_regions

    for name in BY_ID[task_id].files:
        for region in find_regions((ROOT / name).read_text(), name):
            if region.task == task_id and region.what == what:
                return region.body
    raise KeyError(what)


def _mistaken(task_id, what, code, spaces, sentence):
    if code is not None:
        return indent(code, spaces)
    body = _solution(task_id, what)
    changes = {
        "not divided by sqrt(d_k)": ("scores = (q * scale) @", "scores = q @"),
        "replace each other (= instead of adding)": (
            "parent_grad if received is None else received + parent_grad", "parent_grad"),
        "each op's backward is called directly": (
            "grads = step.through(tensor._ctx, g)",
            "grads = tensor._ctx.fn.backward(tensor._ctx, g)"),
        "an operand is not transposed": ("np.matmul(grad, np.swapaxes(b2, -1, -2))",
                                         "np.matmul(grad, b2)"),
        "the old gradients are never cleared": ("    optimizer.zero_grad()\n", ""),
    }
    old, new = changes[sentence]
    assert old in body, (old, task_id)
    return body.replace(old, new)


@pytest.mark.parametrize("task_id, what, code, spaces, sentence", MISTAKES,
                         ids=[m[4].split(" (")[0][:40] for m in MISTAKES])
def test_a_classic_mistake_loses_points_with_a_message_that_names_it(handout, task_id, what,
                                                                     code, spaces, sentence):
    answer(handout, task_id, {what: _mistaken(task_id, what, code, spaces, sentence)})
    task = BY_ID[task_id]
    scores, outputs, payload = run(handout, task_id)
    assert 0 <= scores[task.number] < task.points
    assert sentence in outputs[task.number], outputs[task.number]
    assert "Likely mistake:" in outputs[task.number]
    assert "expected" in outputs[task.number]  # both values, never a bare dump
    saved = json.loads((handout / "results.json").read_text())
    assert sentence in saved["tests"][0]["output"]


@pytest.mark.parametrize("variant", [
    ("optimizer.zero_grad()\n    loss.backward", "loss.backward"),  # zero after the step
    ("    optimizer.zero_grad()\n", "    for p in model.parameters():\n        p.grad = None\n"),
], ids=["zero_grad after step", "p.grad = None by hand"])
def test_every_correct_way_of_clearing_gradients_scores_full_marks(handout, variant):
    body = _solution("task2_4", "one training step")
    old, new = variant
    assert old in body
    body = body.replace(old, new)
    if variant[1] == "loss.backward":
        body = body.replace("    optimizer.step()\n",
                            "    optimizer.step()\n    optimizer.zero_grad()\n")
    answer(handout, "task2_4", {"one training step": body})
    scores, outputs, _ = run(handout, "task2_4")
    assert scores["2.4"] == 10, outputs["2.4"]


# ---- one specification: the grader and the handout's tests agree ---------------------------

def _mismatches(checks, seeds=(0, 1)) -> list:
    """Checks whose reference (computed without a solution) disagrees with the solution."""
    import numpy as np

    from course.grader.compare import judge

    found = []
    for check in checks:
        for seed in seeds:
            inputs = check.draw(np.random.default_rng(seed))
            verdict = judge(check, inputs, check.reference(inputs), check.compute(inputs))
            if verdict.fraction < 1:
                found.append((check.task, check.name, verdict.messages))
    return found


def test_every_reference_equals_the_solution_at_the_checks_tolerance():
    from course.grader.checks import BUILT_IN, load

    checks = [c for source in BUILT_IN for c in load(source)]
    assert all(c.reference is not None for c in checks)
    assert _mismatches(checks) == []


def test_a_wrong_reference_is_caught():
    import numpy as np

    from course.grader.op_checks import inputs, normal, op_check

    wrong = op_check("task1_1", "tanh", "minigrad.ops.elementwise.Tanh", inputs(a=normal(2, 3)),
                     lambda a: np.tanh(a) * (1 + 1e-9))  # off in the ninth digit
    assert [m[1] for m in _mismatches([wrong])] == ["tanh", "tanh"]


def _handout_tests_pass(handout, task_id) -> bool:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n0", "-p", "no:cacheprovider",
                           "-m", task_id, "tests/test_tasks.py"], cwd=handout,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(handout)})
    assert " passed" in done.stdout or " failed" in done.stdout, done.stdout[-2000:]
    return done.returncode == 0


IN_PLACE_ENGINE = ("pending[id(parent)] = parent_grad if received is None else "
                   "received + parent_grad",
                   "if received is None:\n"
                   "                pending[id(parent)] = parent_grad\n"
                   "            else:\n"
                   "                received += parent_grad  # aliases an array another node holds")
ANSWERS = [  # (task, region, (old, new) in the solution or a whole body, full marks?)
    ("task1_1", "the backward of relu", ("return np.where(a <= 0, 0, grad)",
                                         "return grad * (a > 0)"), True),
    ("task2_4", "one training step", ("return loss.item()", "return float(loss.data)"), True),
    ("task1_1", "the backward of tanh", """
        (out,) = ctx.saved_arrays
        a, h = np.arctanh(out), 1e-6
        return grad * (np.tanh(a + h) - np.tanh(a - h)) / (2 * h)  # finite differences""",
     False),
    ("task1_3", "the backward of matmul", """
        a, b = ctx.saved_arrays
        if a.ndim == 1 and b.ndim == 1:
            return grad * b, grad * a
        if b.ndim == 1:
            return np.outer(grad, b), a.T @ grad  # right for a matrix, not for a batch
        if a.ndim == 1:
            return b @ grad, np.outer(a, grad)
        return grad @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ grad""", False),
    ("task1_4", "the backward pass: send each node's gradient to its inputs", IN_PLACE_ENGINE,
     False),
]


@pytest.mark.parametrize("task_id, what, change, full", ANSWERS,
                         ids=["relu as grad * (a > 0)", "float(loss.data)",
                              "tanh by finite differences", "matmul for matrices only",
                              "engine adding in place"])
def test_the_grader_and_the_handouts_tests_agree(handout, task_id, what, change, full):
    if isinstance(change, tuple):
        body = _solution(task_id, what)
        assert change[0] in body
        body = body.replace(change[0], change[1])
    else:
        body = textwrap.dedent(change).strip("\n")
        body = indent(body, 8)
    answer(handout, task_id, {what: body})
    task = BY_ID[task_id]
    scores, outputs, _ = run(handout, task_id)
    assert (scores[task.number] == task.points) is full, outputs[task.number]
    assert _handout_tests_pass(handout, task_id) is full


def test_a_blank_task_costs_only_its_own_points(handout):
    # Every check stands alone. The engine's use only the example ops and the judge's own
    # sum-back; attention's gradients are the exact derivative of the graph its forward
    # recorded, replayed by the judge (no engine, no op backward); multi-head attention
    # runs on a stand-in for 2.2. So with every other task blank, each answer earns all
    # its points.
    for task_id in ("task1_4", "task2_2", "task2_3"):
        answer(handout, task_id)
    scores, outputs, _ = run(handout)
    assert scores == {"1.1": 0, "1.2": 0, "1.3": 0, "1.4": 15, "2.1": 0, "2.2": 10,
                      "2.3": 15, "2.4": 0}, outputs


ATTENTION_AS_ONE_OP = """
class Whole(mg.Function):  # attention as one op of its own, with a made-up backward
    @staticmethod
    def forward(ctx, q, k, v):
        s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
        w = np.exp(s - s.max(-1, keepdims=True))
        w = w / w.sum(-1, keepdims=True)
        ctx.w = w
        return w @ v

    @staticmethod
    def backward(ctx, grad):
        return grad, grad, grad
out = Whole.apply(q, k, v)
return out, mg.tensor(out.data)
"""

FORGED_SOFTMAX = """
import importlib
sm = importlib.import_module("attention.softmax")
real = sm.Softmax.forward
sm.Softmax.forward = staticmethod(lambda ctx, x, axis=-1: real(ctx, x * 0.5, axis))
""" + textwrap.dedent(_solution("task2_2", "scaled dot-product attention"))


# An honest forward, then the record's root pointed at an op that does not exist.
MALFORMED_RECORD = textwrap.dedent(_solution("task2_2", "scaled dot-product attention")
                                   ).replace("return out, weights", """
from minigrad import hooks
for tool in hooks.active():
    if hasattr(tool, "refs"):
        tool.refs[id(out)] = {"node": 12345}
return out, weights""")


@pytest.mark.parametrize("code, said", [
    (ATTENTION_AS_ONE_OP, "is not one of the library's ops"),
    (FORGED_SOFTMAX, "does not give what the forward recorded"),
    (MALFORMED_RECORD, "the recorded graph is malformed"),
], ids=["an op of its own", "an op's forward patched", "a malformed record"])
def test_a_graph_the_judge_cannot_replay_earns_no_gradient_points(handout, code, said):
    answer(handout, "task2_2", {"scaled dot-product attention": indent(code, 4)})
    scores, outputs, _ = run(handout, "task2_2")
    assert scores["2.2"] < 10 * 3 / 5, outputs["2.2"]  # at most the forward values
    assert said in outputs["2.2"], outputs["2.2"]


READ_HIDDEN_CHECKS = """
import glob, os
texts = [open(p).read() for p in glob.glob("/sandbox/child/tree/course/hidden_checks/*.py")]
texts += [open(p).read() for p in glob.glob(os.path.join(os.getcwd(), "**/hidden_checks/*.py"),
                                            recursive=True)]
raise RuntimeError("HIDDEN " + " ".join(texts)[:900])
"""


def test_hidden_checks_cannot_be_read_into_public_feedback(handout):
    answer(handout, "task2_2", {"scaled dot-product attention": indent(READ_HIDDEN_CHECKS, 4)})
    _, _, payload = run(handout, "task2_2", hidden=ROOT / "course" / "hidden_checks")
    public, hidden = payload["tests"]
    assert "HIDDEN" in public["output"] and "sdpa_check" not in public["output"]
    assert hidden["visibility"] == "after_published"  # its own child could read them


def test_a_flat_upload_is_placed_by_its_markers_or_refused_saying_what_to_upload(handout,
                                                                                 tmp_path):
    from course.grader.run import submission_root

    upload = tmp_path / "upload"
    upload.mkdir()
    shutil.copyfile(handout / "minigrad" / "ops" / "elementwise.py", upload / "mine.py")
    (upload / "notes.txt").write_text("hello")
    arranged, notes = submission_root(upload, tmp_path / "scratch")
    assert (arranged / "minigrad" / "ops" / "elementwise.py").read_bytes() == \
        (upload / "mine.py").read_bytes()
    assert notes == ["mine.py (graded as minigrad/ops/elementwise.py, where its TASK markers "
                     "belong)"]
    shutil.copyfile(upload / "mine.py", upload / "again.py")
    with pytest.raises(FileNotFoundError, match="both hold the TASK regions"):
        submission_root(upload, tmp_path / "scratch2")
    (upload / "again.py").write_text("# BEGIN TASK 1.1: something else\nx = 1\n# END TASK 1.1\n")
    with pytest.raises(FileNotFoundError, match="an edited description"):
        submission_root(upload, tmp_path / "scratch3")
    for name in ("again.py", "mine.py"):
        (upload / name).unlink()
    with pytest.raises(FileNotFoundError, match="upload the handout folder"):
        submission_root(upload, tmp_path / "scratch4")


@pytest.mark.parametrize("visibility", ["after_published", "visible"])
def test_hidden_checks_get_an_entry_of_their_own_with_gradescopes_visibility(handout,
                                                                            visibility):
    answer(handout, "task1_1")
    scores, outputs, payload = run(handout, "task1_1", hidden=ROOT / "course" / "hidden_checks",
                                   hidden_visibility=visibility)
    entries = {t["name"]: t for t in payload["tests"]}
    public = entries["Task 1.1: Elementwise backward"]
    if visibility == "visible":
        assert list(entries) == ["Task 1.1: Elementwise backward"]
        assert "exp of large and small values" in public["output"]
        return
    hidden = entries["Task 1.1: Elementwise backward (hidden checks)"]
    assert hidden["visibility"] == "after_published"
    assert "exp of large and small values" in hidden["output"]
    assert "exp of large and small values" not in public["output"]
    assert public["score"] + hidden["score"] == public["max_score"] + hidden["max_score"] == 10


# ---- the command line, and the handout's own test run ---------------------------------------

def test_the_command_line_prints_the_table_and_exits_non_zero_below_full_marks(handout):
    answer(handout, "task1_2")
    done = subprocess.run([sys.executable, "-m", "course", "grade", str(handout),
                           "--tasks", "task1_2", "task1_1", "--seed", "3"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "total" in done.stdout and "10 / 20" in done.stdout.replace("  ", " ")
    assert "seed 3" in done.stdout


# ---- hidden checks and the Gradescope bundle --------------------------------------------------

def test_hidden_checks_are_graded_and_catch_what_the_public_ones_miss(handout, tmp_path):
    # An exp backward that is right on the public checks' small inputs only.
    answer(handout, "task1_1", {"the backward of exp": indent("""
        (out,) = ctx.saved_arrays
        return grad * out if np.abs(out).max() < 1e3 else grad
        """, 8)})
    scores, outputs, _ = run(handout, "task1_1", hidden=ROOT / "course" / "hidden_checks")
    assert "exp of large and small values" in outputs["1.1"]
    assert scores["1.1"] < 10, outputs["1.1"]
    empty = tmp_path / "no_hidden"
    empty.mkdir()
    scores, outputs, _ = run(handout, "task1_1", hidden=empty)
    assert scores["1.1"] == 10 and "exp of large" not in outputs["1.1"]


def test_the_gradescope_bundle_grades_a_submission_in_a_simulated_autograder(handout, tmp_path):
    import zipfile

    bundle = tmp_path / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "course", "autograder", str(bundle),
                           "--tasks", "task1_2", "task2_2", "--timeout", "60"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        z.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "project/pyproject.toml",
            "project/course/grader/run.py",
            "project/course/hidden_checks/more_cases.py"} <= set(names)
    assert not any("__pycache__" in n or n.startswith("project/.git/") for n in names)
    assert "pip\" install -e" in (root / "source" / "setup.sh").read_text()
    # The student uploads their handout folder, with task 1.2 done and 2.2 left blank.
    answer(handout, "task1_2")
    shutil.copytree(handout, root / "submission" / "handout")
    run_script = root / "source" / "run_autograder"
    run_script.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(run_script)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["max_score"] == 20 and results["score"] == 10, results
    assert [t["name"] for t in results["tests"]] == [
        "Task 1.2: Undoing broadcasting", "Task 2.2: Scaled dot-product attention",
        "Task 2.2: Scaled dot-product attention (hidden checks)"]
    # The hidden checks in the bundle were graded too, in an entry of their own that
    # Gradescope shows only once the grades are published.
    hidden = results["tests"][2]
    assert "longer sequences" in hidden["output"] and "longer" not in results["tests"][1]["output"]
    assert hidden["visibility"] == "after_published" and "visibility" not in results["tests"][1]
    assert sum(t["max_score"] for t in results["tests"][1:]) == pytest.approx(10)
    # A flat upload of the edited file (Gradescope keeps only its name) is placed by its
    # markers and graded the same.
    shutil.rmtree(root / "submission" / "handout")
    shutil.copyfile(handout / "minigrad" / "broadcast.py", root / "submission" / "broadcast.py")
    done = subprocess.run(["bash", str(run_script)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    flat = json.loads((root / "results" / "results.json").read_text())
    assert flat["tests"][0]["score"] == 10 and "graded as minigrad/broadcast.py" in \
        flat["output"], flat
    assert "attention/attention.py is missing" in flat["tests"][1]["output"]
    (root / "submission" / "broadcast.py").unlink()
    # Fails closed: when grading fails, a results.json found beforehand (a forged full
    # score) is gone and none is written, so Gradescope shows an error, never a score.
    (root / "results" / "results.json").write_text('{"score": 100}')
    (root / "submission" / "notes.txt").write_text("no code here")
    done = subprocess.run(["bash", str(run_script)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1
    assert not (root / "results" / "results.json").exists()
    assert "no minigrad/ package" in done.stdout


@pytest.mark.slow
def test_a_solved_handout_passes_its_own_test_suite(blank_handout, tmp_path):
    # Every test a handout ships must pass once the tasks are done: none may need a file the
    # handout leaves out, or an error wording that only the solution happens to produce.
    solved = shutil.copytree(blank_handout, tmp_path / "solved")
    for task in TASKS:
        answer(solved, task.id)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-x"], cwd=solved, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(solved)})
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout.splitlines()[-1] and "failed" not in done.stdout


# ---- what an attacker found, kept fixed -------------------------------------------------------

def test_symbolic_links_into_the_graders_own_files_score_nothing(handout, tmp_path):
    linked = tmp_path / "linked"
    linked.mkdir()
    for package in ("minigrad", "attention"):
        (linked / package).symlink_to(ROOT / package)
    scores, outputs, _ = run(linked, "task1_1", "task2_2")
    assert scores == {"1.1": 0, "2.2": 0}
    assert "symbolic link" in outputs["1.1"]
    # One linked file among honest ones: that task only.
    answer(handout, "task1_2")
    target = handout / "minigrad" / "ops" / "elementwise.py"
    target.unlink()
    target.symlink_to(ROOT / "minigrad" / "ops" / "elementwise.py")
    scores, outputs, payload = run(handout, "task1_1", "task1_2")
    assert scores == {"1.1": 0, "1.2": 10}
    assert "minigrad/ops/elementwise.py (a symbolic link)" in payload["ignored"]


def test_the_graders_models_of_wrong_answers_are_out_of_the_students_reach(handout):
    # Some mistake models are right answers with one thing changed; the child never has them.
    answer(handout, "task2_4", {"one training step": indent("""
        from course.grader.models import training_step
        return training_step()(config, model, optimizer, sampler, train_set)
        """, 4)})
    scores, outputs, _ = run(handout, "task2_4")
    assert scores["2.4"] == 0
    assert "ModuleNotFoundError" in outputs["2.4"]


def test_forged_or_oversized_results_are_refused_without_harm(handout):
    # exp's answer replaces the child's writers: an oversized array, and a malformed report.
    answer(handout, "task1_1", {"the backward of exp": indent("""
        import json
        np.savez = lambda f, **kw: np.savez_compressed(f, grad_a=np.zeros((3000, 3000)))
        json.dumps = lambda *args, **kwargs: '{"error": {"where": "x:y"}, "missing": 3}'
        (out,) = ctx.saved_arrays
        return grad * out
        """, 8)})
    answer(handout, "task1_2")
    scores, outputs, _ = run(handout, "task1_1", "task1_2")
    assert scores["1.1"] < 10 and scores["1.2"] == 10
    assert "unreadable result" in outputs["1.1"] or "raised" in outputs["1.1"]


def test_an_answer_indented_with_tabs_is_graded_like_any_other(handout):
    tabs = "\t\t(out,) = ctx.saved_arrays\n\t\tif True:\n\t\t\treturn grad * out"
    answer(handout, "task1_1", {"the backward of exp": tabs})
    scores, outputs, _ = run(handout, "task1_1")
    assert scores["1.1"] == 10, outputs["1.1"]


def test_a_syntax_error_in_an_engine_file_is_reported_at_the_students_line(handout):
    answer(handout, "task1_1", {"the backward of log": "        return grad / (a"})
    scores, outputs, _ = run(handout, "task1_1")
    assert scores["1.1"] == 0
    line = next(n for n, text in enumerate(
        (handout / "minigrad" / "ops" / "elementwise.py").read_text().split("\n"), 1)
        if "return grad / (a" in text)
    assert "SyntaxError" in outputs["1.1"]
    assert f"minigrad/ops/elementwise.py:{line}, in your answer" in outputs["1.1"], outputs["1.1"]
