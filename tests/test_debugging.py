"""Debugging backprop: anomaly mode, the per-node gradient check, breaking into pdb."""

import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from attention import AttentionModel, cross_entropy
from attention.softmax import Softmax
from minigrad.ops.matmul import MatMul

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def toy_model_loss(record=True):
    """The full toy model (embedding, positions, attention, LayerNorm, feed-forward)."""
    mg.manual_seed(0)
    model = AttentionModel(10, 4, d_model=16, n_heads=2, positional="learned",
                           layer_norm=True, ffn_hidden=32, max_len=8)
    ids = np.random.default_rng(0).integers(0, 10, (4, 6))
    with mg.record_sources():
        loss = cross_entropy(model(ids), ids % 4)
    return model, loss


# ---- anomaly mode -----------------------------------------------------------------------

def test_anomaly_mode_names_the_op_and_the_line_of_a_log_of_zero():
    x = mg.tensor([1.0, 0.0], requires_grad=True, name="probs")
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as info:
        x.log()  # the line the error must name
    message = str(info.value)
    assert message.startswith("log: forward produced 1 inf of 2 elements, first at (1,)")
    assert "'probs'" in message
    assert f"test_debugging.py:{_line_of('x.log()  # the line')}" in message


def test_anomaly_mode_names_the_op_where_an_inf_first_appears_in_backward():
    x = mg.tensor([4.0, 0.0], requires_grad=True, name="x")
    with mg.detect_anomaly():
        y = x.sqrt()  # finite forward (sqrt(0) = 0), but d sqrt/dx at 0 is inf
        loss = (y * 3).sum()
        with pytest.raises(mg.AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert message.startswith("sqrt.backward: the gradient for input 0 ('x', shape (2,))")
    assert "1 inf of 2 elements" in message and "its incoming gradient was finite" in message
    assert f"test_debugging.py:{_line_of('y = x.sqrt()')}" in message


def test_anomaly_mode_is_off_outside_the_block():
    x = mg.tensor([0.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        assert np.isinf(mg.log(x).data).all()  # no error without detect_anomaly


def _line_of(text):
    with open(__file__) as f:
        for number, line in enumerate(f, 1):
            if text in line and "_line_of" not in line:
                return number
    raise AssertionError(text)


# ---- the per-node gradient check ---------------------------------------------------------

def test_per_node_check_finds_nothing_wrong_in_the_correct_toy_model():
    _, loss = toy_model_loss()
    report = mg.check_graph(loss)
    assert report.ok, str(report)
    assert report.checked > 40  # every op of the model was checked


@pytest.mark.parametrize("function", [Softmax, MatMul], ids=["softmax", "matmul"])
def test_per_node_check_pins_a_broken_backward_to_that_op_and_no_other(function, monkeypatch):
    _, loss = toy_model_loss()
    original = function.backward

    def broken(ctx, grad):
        grads = original(ctx, grad)
        if isinstance(grads, tuple):
            return (grads[0] * 1.5,) + grads[1:]
        return grads * 1.5

    monkeypatch.setattr(function, "backward", staticmethod(broken))
    report = mg.check_graph(loss)
    assert not report.ok
    assert report.failing_ops() == {function.name}
    failure = report.failures[0]
    assert failure.input_index == 0 and failure.function is function
    assert failure.source and ".py:" in failure.source  # the line that created the node
    assert function.name in str(report) and "analytic" in str(report)
    # The drawing highlights exactly the failing nodes.
    source = report.draw().source
    assert source.count("#ffd54f") == 2 * len({id(f.tensor) for f in report.failures})


# ---- breaking into pdb inside an op's backward ------------------------------------------

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


def test_anomaly_mode_names_the_op_where_a_nan_first_appears_in_backward():
    # Forward is finite: sqrt(0) * 0 = 0. Backward: mul sends 0, and sqrt's backward
    # computes 0 / (2 * sqrt(0)) = 0 / 0 = NaN. The error must point at sqrt, not mul.
    x = mg.tensor([0.0, 4.0], requires_grad=True, name="x")
    with mg.detect_anomaly():
        y = x.sqrt()  # creates the op whose backward makes the NaN
        loss = (y * 0.0).sum()
        with pytest.raises(mg.AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert message.startswith("sqrt.backward: the gradient for input 0 ('x', shape (2,))")
    assert "1 NaN of 2 elements, first at (0,)" in message
    assert f"test_debugging.py:{_line_of('y = x.sqrt()  # creates')}" in message


def test_check_function_catches_a_planted_wrong_backward_and_names_the_element():
    class HalfTanh(mg.Function):
        name = "half_tanh"

        @staticmethod
        def forward(ctx, a):
            out = np.tanh(a)
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            (out,) = ctx.saved_arrays
            return grad * (1 - out)  # planted: the square is missing

    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    with pytest.raises(mg.GradcheckError) as info:
        mg.check_function(HalfTanh, x)
    error = info.value
    assert error.element == error.output_element == (0, 0)
    assert error.numeric == pytest.approx(1 - np.tanh(0.5) ** 2, rel=1e-6)
    assert error.analytic == pytest.approx(1 - np.tanh(0.5), rel=1e-9)
    assert str(error).startswith("HalfTanh.backward: wrong gradient for input 0 (shape (2, 2))")
    assert mg.check_function(mg.ops.elementwise.Tanh, x)  # the real one passes
