"""Anomaly mode: stop at the first NaN or inf, naming the op and the line that made it."""

import os

import numpy as np
import pytest

import minigrad as mg
from attention import scaled_dot_product_attention

HERE = os.path.basename(__file__)


def test_anomaly_mode_names_the_op_and_the_line_of_a_log_of_zero():
    x = mg.tensor([1.0, 0.0], requires_grad=True, name="probs")
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as info:
        x.log()  # the line the error must name
    message = str(info.value)
    assert message.startswith("log: forward produced 1 inf of 2 elements, first at (1,)")
    assert "'probs'" in message
    assert f"{HERE}:{_line_of('x.log()  # the line')}" in message


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
    assert f"{HERE}:{_line_of('y = x.sqrt()')}" in message


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
    assert f"{HERE}:{_line_of('y = x.sqrt()  # creates')}" in message


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


def test_anomaly_mode_accepts_the_deliberate_infinities_of_a_causal_mask():
    q = mg.randn(1, 3, 4, requires_grad=True)
    with mg.detect_anomaly():
        out, _ = scaled_dot_product_attention(q, q, q, causal=True)
        out.sum().backward()
    assert np.isfinite(q.grad).all()
