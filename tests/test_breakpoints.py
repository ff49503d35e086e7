"""break_on: pdb inside an op's backward, from a script, as a learner runs it."""

import os
import subprocess
import sys

import pytest

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
        (x * 2).sum().backward(break_on="softmaxx")
