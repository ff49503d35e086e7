"""The engine's course region holds the chain rule and nothing else.

A student who fills task 1.4's two regions (topological_order, backpropagate) with any
correct textbook answer must get an engine on which every tool still works: the trace,
anomaly mode, break_on and the per-node check attach through the seam, outside the
region. These tests write such an answer into a copy of the package and run the engine's
and the tools' tests against it.
"""

import os
from pathlib import Path

import pytest

from course.regions import find_regions
from tests.copies import ROOT, copy_project, run_pytest, run_python

ENGINE = ROOT / "minigrad" / "autograd.py"
if not [r for r in find_regions(ENGINE.read_text(encoding="utf-8")) if r.task == "task1_4"]:
    # A student's handout: its regions' markers are gone, and task 1.4 is the student's.
    pytest.skip("the engine's solution regions are not marked here", allow_module_level=True)

# A depth-first search that lists each tensor after everything it feeds, then reversed:
# not the repository's answer (which sorts by creation number), but just as correct.
TEXTBOOK_ORDER = """\
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
        elif id(tensor) not in visited:
            visited.add(id(tensor))
            stack.append((tensor, True))
            if tensor._ctx is not None:
                stack.extend((x, False) for x in tensor._ctx.inputs if x is not None)
    return order[::-1]
"""

# The chain rule as a textbook states it: a dictionary of gradients received so far.
TEXTBOOK_CHAIN_RULE = """\
    received = {id(root): grad}
    for tensor in order:
        if id(tensor) not in received:
            continue
        g = received[id(tensor)]
        step.keep(tensor, g)
        if tensor._ctx is None:
            continue
        for x, gx in zip(tensor._ctx.inputs, step.through(tensor._ctx, g)):
            if gx is not None:
                received[id(x)] = received[id(x)] + gx if id(x) in received else gx
"""

# Another textbook form: every tensor starts from a zero gradient (float64, the NumPy
# default, whatever the tensors' dtype), and gradients are summed in the order visited.
ZEROS_FIRST_CHAIN_RULE = """\
    received = {id(t): np.zeros(t.shape) for t in order}
    received[id(root)] = grad
    for tensor in order:
        step.keep(tensor, received[id(tensor)])
        if tensor._ctx is not None:
            sent = step.through(tensor._ctx, received[id(tensor)])
            for x, gx in zip(tensor._ctx.inputs, sent):
                if gx is not None:
                    received[id(x)] = received[id(x)] + gx
"""

TOOL_TESTS = ["tests/test_engine.py", "tests/test_errors.py", "tests/test_trace.py",
              "tests/test_anomaly.py", "tests/test_nodecheck.py", "tests/test_breakpoints.py",
              "tests/test_viz.py"]


def with_region_bodies(text: str, task: str, bodies: list) -> str:
    """`text` with the bodies of `task`'s regions replaced, in order, by `bodies`."""
    lines = text.split("\n")
    regions = [r for r in find_regions(text) if r.task == task]
    assert len(regions) == len(bodies), f"{task} has {len(regions)} regions"
    for region, body in reversed(list(zip(regions, bodies))):
        lines[region.start + 1: region.end] = body.rstrip("\n").split("\n")
    return "\n".join(lines)


def copy_with_engine(tmp_path: Path, chain_rule: str) -> Path:
    """A copy of the project, with task 1.4 answered by the textbook code."""
    copy = copy_project(tmp_path)
    engine = copy / "minigrad" / "autograd.py"
    text = engine.read_text(encoding="utf-8")
    engine.write_text(with_region_bodies(text, "task1_4", [TEXTBOOK_ORDER, chain_rule]),
                      encoding="utf-8")
    return copy


def test_the_copy_really_runs_the_textbook_engine(tmp_path):
    copy = copy_with_engine(tmp_path, TEXTBOOK_CHAIN_RULE)
    done = run_python(copy, "import minigrad.autograd as a, inspect; "
                            "print('received' in inspect.getsource(a.backpropagate), a.__file__)")
    assert done.stdout.split() == ["True", str(copy / "minigrad" / "autograd.py")]


@pytest.mark.slow  # the engine's and every tool's tests, again, in a copy: run by CI
def test_a_textbook_engine_keeps_the_engine_and_every_tool_working(tmp_path):
    done = run_pytest(copy_with_engine(tmp_path, TEXTBOOK_CHAIN_RULE), TOOL_TESTS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
    assert " skipped" not in done.stdout or os.environ.get("MINIGRAD_REQUIRE_BROWSER") != "1"


def test_a_zeros_first_textbook_engine_keeps_grads_in_each_tensors_dtype(tmp_path):
    copy = copy_with_engine(tmp_path, ZEROS_FIRST_CHAIN_RULE)  # autograd.py imports np
    done = run_pytest(copy, ["tests/test_engine.py", "tests/test_errors.py"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout


def test_a_wrong_chain_rule_in_the_region_is_caught(tmp_path):
    # `=` for `+`: a tensor used twice keeps only the last gradient it received.
    wrong = TEXTBOOK_CHAIN_RULE.replace("received[id(x)] + gx if id(x) in received else gx",
                                        "gx")
    assert wrong != TEXTBOOK_CHAIN_RULE
    done = run_pytest(copy_with_engine(tmp_path, wrong), ["tests/test_engine.py"], "-x")
    assert done.returncode == 1 and " failed" in done.stdout
