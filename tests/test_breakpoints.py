"""break_on: pdb inside an op's backward, from a script, as a learner runs it."""

import os
import subprocess
import sys

import numpy as np
import pytest

import attention  # noqa: F401  (so that sys.modules holds attention.softmax)
import minigrad as mg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pdb_stops_inside_softmax_backward_prints_a_shape_and_continues():
    script = os.path.join(ROOT, "examples", "step_through_backprop.py")
    done = subprocess.run(
        [sys.executable, script, "--break-on", "softmax"],
        input="p grad.shape\np type(grad).__name__\nc\n", capture_output=True, text=True,
        timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "attention/softmax.py" in out and "backward()" in out  # stopped in the op
    assert "(2, 2, 5, 5)" in out  # (B, heads, T, T), printed at the pdb prompt
    assert "ndarray" in out
    assert "backward finished" in out  # and the run went on to the end


def test_break_on_an_op_that_is_not_in_the_graph_warns():
    x = mg.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="break_on='softmaxx' matches no op"):
        with mg.break_on("softmaxx"):
            (x * 2).sum().backward()


SCRIPT = """
import minigrad as mg
from attention import softmax

x = mg.tensor([[0.5, 1.0, -1.0]], requires_grad=True, name="x")
w = mg.tensor([2.0, 1.0, 0.5], requires_grad=True, name="w")
loss = softmax(x * w).sum()
{backward}
print("after backward:", w.grad is not None)
"""


def run_script(tmp_path, commands, options="", under_pdb=False):
    path = tmp_path / "learner.py"
    line = "loss.backward()  # THE LEARNER'S LINE"
    backward = f"with mg.break_on({options}):\n    {line}" if options else line
    path.write_text(SCRIPT.format(backward=backward))
    command = [sys.executable] + (["-m", "pdb"] if under_pdb else []) + [str(path)]
    return subprocess.run(command, input="".join(c + "\n" for c in commands),
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": ROOT})


def test_q_at_a_break_on_stop_stops_backward_with_one_clear_error(tmp_path):
    done = run_script(tmp_path, ["q"], options="'softmax'")
    assert done.returncode == 1
    assert "after backward" not in done.stdout  # never reported as finished
    assert "BackwardStopped: backward stopped: you quit the debugger in softmax.backward, " \
           "so the gradients are incomplete" in done.stderr
    assert "BdbQuit" not in done.stderr and "During handling" not in done.stderr


def test_q_at_a_breakpoint_in_an_ops_backward_under_python_m_pdb_quits_cleanly(tmp_path):
    code = sys.modules["attention.softmax"].Softmax.backward.__code__
    line = code.co_firstlineno + 2  # the body's first line (after the decorator and def)
    done = run_script(tmp_path, [f"break {code.co_filename}:{line}", "c", "q"],
                      under_pdb=True)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "you quit the debugger in softmax.backward" in out
    assert "RuntimeError" not in out and "post mortem" not in out.lower()
    assert "after backward" not in out


def test_up_from_a_break_on_stop_reaches_the_engine_and_the_learners_line(tmp_path):
    done = run_script(tmp_path, ["where", "p ctx"] + ["up"] * 8 + ["c"],
                      options="'softmax'")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "backpropagate()" in out and "autograd.py" in out  # the engine loop
    assert "loss.backward(" in out and "THE LEARNER'S LINE" in out  # the learner's line
    assert "<Context softmax; inputs: an unnamed tensor (1, 3) float32" in out
    assert "after backward: True" in out


def test_the_ide_launch_configuration_runs_the_step_through_example_with_library_code():
    import json

    with open(os.path.join(ROOT, ".vscode", "launch.json")) as f:
        configurations = json.load(f)["configurations"]
    for configuration in configurations:
        program = configuration["program"].replace("${workspaceFolder}", ROOT)
        assert os.path.exists(program), program
        assert configuration["justMyCode"] is False  # breakpoints in minigrad/ops work
    assert ["--break-on", "softmax"] in [c.get("args") for c in configurations]


def test_explain_at_a_break_on_stop_prints_the_jacobian_then_backward_goes_on(tmp_path):
    # A real pdb session through a pipe: the alias works at the stop, after `up` (it
    # explains the stopped op, whatever frame is shown), and `c` finishes backward.
    done = run_script(tmp_path, ["explain", "up", "explain", "c"],
                      options="'softmax'")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "'explain' shows why it sends what it sends" in out
    assert out.count("local Jacobian dy/dx (3 x 3)") == 2
    assert out.count("equals what backward sent") == 2
    assert "y[0,2]" in out and "x[0,1]" in out
    assert "after backward: True" in out


def test_each_trace_step_explains_its_node():
    x = mg.tensor([[0.5, 1.0, -1.0]], requires_grad=True)
    with mg.trace_backward() as trace:
        (x * 2.0).exp().sum().backward()
    explained = [step.explain() for step in trace.steps]
    assert [e.fn.name for e in explained] == [step.op for step in trace.steps]
    exp_step = explained[[s.op for s in trace.steps].index("exp")]
    np.testing.assert_allclose(exp_step.sent[0], exp_step.incoming * np.exp(x.data * 2.0))


def test_the_first_line_of_every_backward_is_code_where_a_breakpoint_stops():
    # An editor moves a breakpoint set on a comment (a task's BEGIN marker) elsewhere, to
    # the def line, which runs at import: so each backward starts with a line of code.
    import ast
    from pathlib import Path

    offenders = []
    for path in sorted([*Path(ROOT, "minigrad", "ops").glob("*.py"),
                        *Path(ROOT, "attention").glob("*.py")]):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef) or node.name != "backward":
                continue
            start = node.body[0].end_lineno if ast.get_docstring(node) else node.lineno
            first = next(line for line in lines[start:] if line.strip())
            if first.strip().startswith("#"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def _launch(name):
    """argv and cwd of a configuration in .vscode/launch.json, as VS Code would run it."""
    import json

    configurations = json.loads(open(os.path.join(ROOT, ".vscode", "launch.json")).read())
    (config,) = [c for c in configurations["configurations"] if c["name"] == name]
    expand = lambda text: text.replace("${workspaceFolder}", ROOT)  # noqa: E731
    return ([expand(config["program"]), *map(expand, config.get("args", []))],
            expand(config["cwd"]), config.get("justMyCode", True))


@pytest.mark.slow
def test_a_breakpoint_on_the_first_line_of_softmax_backward_stops_there_in_vs_code():
    from tests.dap import DebugSession

    argv, cwd, just_my_code = _launch("Step through backprop")
    code = sys.modules["attention.softmax"].Softmax.backward.__code__
    first = code.co_firstlineno + 2  # after @staticmethod and def: the body's first line
    with DebugSession(argv, cwd=cwd) as session:
        session.start(breakpoints={code.co_filename: [first]}, just_my_code=just_my_code)
        frame = session.wait_stopped()
        assert (frame["path"], frame["line"], frame["name"]) == (code.co_filename, first,
                                                                  "backward")
        session.clear_breakpoints(code.co_filename)  # one stop is enough: run to the end
        session.resume()
        session.wait_event("terminated")


@pytest.mark.slow
def test_break_on_under_vs_codes_debugger_stops_in_the_editor_and_steps_into_backward():
    from tests.dap import DebugSession

    argv, cwd, just_my_code = _launch("Step through backprop, stopping in softmax's backward")
    code = sys.modules["attention.softmax"].Softmax.backward.__code__
    with DebugSession(argv, cwd=cwd) as session:
        session.start(just_my_code=just_my_code)
        frame = session.wait_stopped()
        assert frame["path"].endswith(os.path.join("minigrad", "debug", "breakpoints.py"))
        session.step_in()
        frame = session.wait_stopped()
        assert (frame["path"], frame["line"]) == (code.co_filename, code.co_firstlineno + 2)
        session.resume()
        session.wait_event("terminated")
    assert "Step Into (F11) enters it" in session.output()
