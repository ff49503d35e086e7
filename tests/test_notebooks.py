"""The tutorial notebooks in examples/: each one runs from top to bottom without an error,
is saved with its outputs, uses only the project's public API, and is linked from the
README's "Learn" section in order.

Running them takes a minute or two (a Jupyter kernel each, and real training), so that
part is marked slow: `python -m pytest -m slow` (and .ci/run) runs it.
"""

import ast
import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import minigrad as mg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("[0-9][0-9]_*.ipynb"))


def code_of(notebook) -> str:
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def test_the_tutorial_is_numbered_in_order_without_gaps():
    numbers = [int(path.name[:2]) for path in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)) and len(numbers) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_each_notebook_is_saved_with_outputs_and_no_errors(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "not run from the top"
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), "cells were run out of order"
    outputs = [output for cell in code for output in cell.outputs]
    assert outputs, "saved without outputs: they would not read on a repository page"
    errors = [output for output in outputs if output.output_type == "error"]
    assert not errors, f"a saved output is an error: {errors[0].ename}: {errors[0].evalue}"
    assert not [o for o in outputs if o.get("name") == "stderr"], "a warning in the outputs"


def private_uses(code: str) -> list:
    """Private modules, names and attributes (a leading underscore, not a dunder) that
    code imports or reaches. IPython's magics (%matplotlib) are not Python: left out."""
    tree = ast.parse("\n".join(line for line in code.splitlines()
                               if not line.lstrip().startswith(("%", "!"))))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and re.search(r"(^|\.)_", node.module or ""):
            found.append(node.module)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found += [alias.name for alias in node.names if re.search(r"(^|\.)_", alias.name)]
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and \
                not node.attr.startswith("__"):
            found.append(node.attr)
    return found


def test_the_private_api_check_catches_private_imports_and_names():
    planted = ("from minigrad.tensor import (Tensor,\n    _as_array)\nimport minigrad._secret\n"
               "x = mg._rng\ny = attention.train._resume\n%matplotlib inline\n")
    assert {"_as_array", "minigrad._secret", "_rng", "_resume"} <= set(private_uses(planted))
    assert private_uses("from attention import softmax\nimport minigrad as mg\n"
                        "print(mg.Tensor.__name__)\n") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_each_notebook_uses_only_the_public_api(path):
    assert not private_uses(code_of(nbformat.read(path, as_version=4)))


def test_the_readme_links_every_notebook_in_order():
    readme = (ROOT / "README.md").read_text()
    learn = readme.split("## Learn", 1)[1].split("\n## ", 1)[0]
    linked = re.findall(r"\]\((examples/[0-9][0-9]_[^)]+\.ipynb)\)", learn)
    assert linked == [f"examples/{path.name}" for path in NOTEBOOKS]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_each_notebook_runs_from_top_to_bottom(path):
    """Executed in a fresh kernel from examples/, as a reader would run it; any cell error
    fails the test with the cell and its traceback."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute()  # raises CellExecutionError, with the cell, on the first failing one


def _lengths_mask(lengths, width):
    return np.arange(width)[None, :] >= np.array(lengths)[:, None]  # True from each length on


def _stable_softmax(s):
    e = np.exp(s - s.max())
    return e / e.sum()


def _naive_softmax(s):
    return np.exp(s) / np.exp(s).sum()


def _split_heads(q, n_heads):
    B, T, C = q.shape
    return q.reshape(B, T, n_heads, C // n_heads).transpose(0, 2, 1, 3)


def _split_heads_by_reshape_only(q, n_heads):
    B, T, C = q.shape
    return q.reshape(B, n_heads, T, C // n_heads)  # right shape, positions cut into groups


def _encoding(pos, channel, d_model):
    i = channel // 2
    angle = pos / 10000 ** (2 * i / d_model)
    return math.sin(angle) if channel % 2 == 0 else math.cos(angle)


def _encoding_with_the_channel_as_exponent(pos, channel, d_model):
    angle = pos / 10000 ** (channel / d_model)  # odd channels get the next pair's rate
    return math.sin(angle) if channel % 2 == 0 else math.cos(angle)


def _causal(T):
    return np.tril(np.ones((T, T), dtype=bool))


def _upper_triangle(T):
    return np.triu(np.ones((T, T), dtype=bool))  # each query sees itself and the future


def _growth_exponent(ns, times):
    return np.polyfit(np.log(ns), np.log(times), 1)[0]


def _ratio_of_the_last_two_times(ns, times):
    return times[-1] / times[-2]  # the factor per doubling, not the exponent


def _tanh_backward(y, grad):
    return grad * (1 - y**2)


def _mul_backward(a, b, grad):
    return grad * b, grad * a


def _softmax_backward(y, grad):
    return y * (grad - (grad * y).sum(axis=-1, keepdims=True))


# A held-out sentence of the context task and bank's attention row at each snapshot step,
# as notebook 11 records them: the context word ("water", at 6) first gets more than half
# of the attention at step `first`.
_WORDS = ["then", "near", "the", "bank", "with", "the", "water", "and"]


def _snapshots(first):
    rows = {}
    for step in (0, 2, 4, 6, 8, 12, 20):
        on_context = 0.9 if step >= first else 0.3
        rows[step] = np.full(8, (1 - on_context) / 7)
        rows[step][6] = on_context
    return rows


def _context_model():
    """Notebook 11's model, untrained: without positions the order of words cannot matter."""
    from attention import AttentionModel
    from attention.tasks import make_task

    task = make_task("context")
    mg.manual_seed(0)
    return AttentionModel(vocab_size=len(task.vocab), n_classes=len(task.classes), d_model=32,
                          n_heads=1, positional="none", residual=True)


def _dropout_backward(keep, p, grad):
    return grad * keep / (1 - p)


def _sums_model(causal):
    """Notebook 12's language model, untrained (the checks measure what the mask does)."""
    from attention import CausalLM
    from attention.tasks import make_task

    task = make_task("sums")
    mg.manual_seed(0)
    return CausalLM(len(task.vocab), max_len=task.seq_len, causal=causal)


def _concatenate(heads):
    B, nh, T, hs = heads.shape
    return heads.transpose(0, 2, 1, 3).reshape(B, T, nh * hs)


# Each exercise answered as a learner who solved it would, and as one who did not: (check
# module, check, right answer, wrong answer), the answers as arguments to the check.
# Strings in <angle brackets> stand for run folders, for the checks that measure a run:
# <empty> a new folder the check trains into, the others trained once here (RUNS).
# The checks that train a model (a second or more each) run with the slow set (CI runs it).
TRAINS = {"check_previous_digit_head", "check_learning_rates", "check_svo_without_positions",
          "check_length_prediction", "check_two_heads_removed"}
EXERCISES = [
    ("notebook01", "check_steep_weights", ([0.112, 0.338, 0.112, 0.438],),
     ([0.105, 0.472, 0.105, 0.317],)),
    ("notebook01", "check_louder_steep", ([2.0, 0.0, 1.2, 0.0],), ([2.0, 0.0, 0.0, 0.0],)),
    ("notebook01", "check_reversed_sentence", (False,), (True,)),
    ("notebook02", "check_powers", (([1 / 6, 2 / 6, 3 / 6], [1 / 14, 4 / 14, 9 / 14]),),
     (([1 / 6, 2 / 6, 3 / 6], [2 / 12, 4 / 12, 6 / 12]),)),
    ("notebook02", "check_limits", (([0.5, 0, 0.5, 0], [0.25] * 4),),
     (([1, 0, 0, 0], [0.25] * 4),)),
    ("notebook02", "check_stable_softmax", (_stable_softmax,), (_naive_softmax,)),
    ("notebook03", "check_bank_scores", ([0, 0, 0, 6.4 / np.sqrt(2)],), ([0, 0, 0, 6.4],)),
    ("notebook03", "check_context_attends_to_bank",  # the answer: W_Q and W_K
     ([[4, 0], [4, 0], [0, 0], [0, 0]], [[0, 0], [0, 0], [4, 0], [0, 0]]),
     ([[0, 0], [0, 0], [4, 0], [0, 0]], [[4, 0], [4, 0], [-4, 0], [0, 0]])),
    ("notebook04", "check_score_variance", (128,), (32,)),
    ("notebook04", "check_scale", (1 / np.sqrt(128),), (1 / np.sqrt(32),)),
    ("notebook04", "check_overscaled", ("lower", "smaller"), ("lower", "larger")),
    ("notebook05", "check_head_shapes", (((3, 4, 6, 3), (3, 4, 6, 6)),),
     (((3, 6, 4, 3), (3, 4, 6, 6)),)),
    ("notebook05", "check_split_heads", (_split_heads,), (_split_heads_by_reshape_only,)),
    ("notebook05", "check_previous_digit_head", (0, "<empty>"), (1, "<empty>")),
    ("notebook06", "check_shuffle_with_positions", (False,), (True,)),
    ("notebook06", "check_encoding", (_encoding,), (_encoding_with_the_channel_as_exponent,)),
    ("notebook06", "check_self_similarity", (16,), (32,)),
    ("notebook07", "check_causal_mask", (_causal,), (_upper_triangle,)),
    ("notebook07", "check_cross_shapes", (((2, 4, 8), (2, 2, 4, 9)),),
     (((2, 9, 8), (2, 2, 4, 9)),)),
    ("notebook07", "check_memory_shuffle", (True,), (False,)),
    ("notebook08", "check_growth_factors", ((9, 3),), ((3, 3),)),
    ("notebook08", "check_growth_exponent", (_growth_exponent,),
     (_ratio_of_the_last_two_times,)),
    ("notebook09", "check_dL_dx", (0.4022,), (0.754,)),
    ("notebook09", "check_tanh_backward", (_tanh_backward,), (lambda y, grad: 1 - y**2,)),
    ("notebook09", "check_mul_backward", (_mul_backward,),
     (lambda a, b, grad: (grad * a, grad * b),)),
    ("notebook10", "check_wrong_op", ("pow",), ("matmul",)),
    ("notebook10", "check_wrong_entries", (12,), (6,)),
    ("notebook10", "check_softmax_backward", (_softmax_backward,),
     (lambda y, grad: grad * y * (1 - y),)),
    ("notebook11", "check_attention_step", (6, _snapshots(6), _WORDS),
     (4, _snapshots(6), _WORDS)),
    ("notebook11", "check_learning_rates", ({0.001: "later", 0.1: "never"},),
     ({0.001: "later", 0.1: "sooner"},)),
    ("notebook11", "check_word_order", (False, _context_model()), (True, _context_model())),
    ("notebook12", "check_dropout_backward", (_dropout_backward,),
     (lambda keep, p, grad: grad * keep,)),
    ("notebook12", "check_positions_computed", (21,), (3,)),
    ("notebook12", "check_earlier_predictions",
     ((False, True), _sums_model(True), _sums_model(False)),
     ((True, True), _sums_model(True), _sums_model(False))),
    ("notebook13", "check_symmetry_prediction", (True,), (False,)),
    ("notebook13", "check_padding_mask", ([2, 4, 3], 4, _lengths_mask([2, 4, 3], 4)),
     ([2, 4, 3], 4, ~_lengths_mask([2, 4, 3], 4))),
    ("notebook13", "check_padding_mask", ([2, 4, 3], 4, _lengths_mask([2, 4, 3], 4)),
     ([2, 4, 3], 4, _lengths_mask([2, 4, 3], 4).astype(int))),
    ("notebook13", "check_cycle_ceiling", (2,), (3,)),
    ("notebook14", "check_svo_without_positions", (False, "<empty>"), (True, "<empty>")),
    ("notebook14", "check_length_prediction", (False, "<context, no positions>"),
     (True, "<context, no positions>")),  # measured 94% at 256 tokens
    ("notebook14", "check_sequential_steps", ((24, 1),), ((1, 24),)),
    ("notebook15", "check_rows_of_a_head", (slice(18, 24),), (slice(16, 24),)),
    ("notebook15", "check_concatenation", (_concatenate,),
     (lambda heads: heads.transpose(0, 2, 3, 1).reshape(2, 4, 15),)),  # channel by channel
    ("notebook15", "check_two_heads_removed", (["position"], "<relations, seed 1>"),
     (["position", "meaning"], "<relations, seed 1>")),
]


ANSWER_AT = {"check_padding_mask": 2}  # the learner's answer, where it is not the first argument


def _import_check(module: str, name: str, monkeypatch):
    """A check, imported as the notebook imports it (examples/ on the path, which the checks
    that measure a run need too)."""
    import importlib

    monkeypatch.syspath_prepend(str(EXAMPLES))
    return getattr(importlib.import_module(f"exercise_checks.{module}"), name)


RUNS = {"<relations, seed 1>": dict(task="relations", seed=1),
        "<context, no positions>": dict(task="context", positional="none", max_len=64)}


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory):
    """Each run in RUNS, trained when a check first needs it."""
    from attention.train import TrainConfig, train

    done = {}

    def get(name):
        if name not in done:
            out = tmp_path_factory.mktemp("run")
            train(TrainConfig(out=str(out), **RUNS[name]), progress=False, plots=False)
            done[name] = str(out)
        return done[name]
    return get


@pytest.mark.parametrize("module, name, right, wrong", [
    pytest.param(*case, id=f"{case[0]}-{case[1]}",
                 marks=[pytest.mark.slow] if case[1] in TRAINS else [])
    for case in EXERCISES])
def test_each_exercise_check_accepts_a_right_answer_and_rejects_a_wrong_one(
        module, name, right, wrong, capsys, tmp_path, trained_runs, monkeypatch):
    """The check cell says "Right." to the solved exercise, and "Not yet." with a hint to the
    wrong answer and to the blank one (None) the notebook is saved with."""
    check = _import_check(module, name, monkeypatch)

    def folder(arg):
        if not (isinstance(arg, str) and arg.startswith("<")):
            return arg
        return str(tmp_path) if arg == "<empty>" else trained_runs(arg)

    def fill(args):
        return tuple(folder(a) for a in args)

    assert check(*fill(right)) is True, capsys.readouterr().out
    assert "Right." in capsys.readouterr().out
    assert check(*fill(wrong)) is False
    said = capsys.readouterr().out
    assert "Not yet." in said and len(said.split("Not yet.", 1)[1].strip()) > 20  # a hint
    answer_at = ANSWER_AT.get(name, 0)
    blank = tuple(None if i == answer_at else a for i, a in enumerate(fill(right)))
    if callable(right[0]):  # the answer is a function the learner writes
        blank = (lambda *args: None,)
    assert check(*blank) is False and "still None" in capsys.readouterr().out
