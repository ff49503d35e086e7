"""The per-node gradient check, and check_function: a wrong backward pinned to its op."""

import numpy as np
import pytest

import minigrad as mg
from attention import AttentionModel, cross_entropy
from attention.softmax import Softmax
from minigrad.ops.matmul import MatMul


def toy_model_loss(record=True):
    """The full toy model (embedding, positions, attention, LayerNorm, feed-forward)."""
    mg.manual_seed(0)
    model = AttentionModel(10, 4, d_model=16, n_heads=2, positional="learned",
                           layer_norm=True, ffn_hidden=32, max_len=8)
    ids = np.random.default_rng(0).integers(0, 10, (4, 6))
    with mg.record_sources():
        loss = cross_entropy(model(ids), ids % 4)
    return model, loss


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


def test_per_node_check_skips_inputs_exactly_at_a_kink_instead_of_failing():
    x = mg.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    report = mg.check_graph(x.relu().relu().sum())  # the outer relu sees exact zeros
    assert report.ok and report.kinks == [("relu", 0)]
    assert "skipped" in str(report)


@pytest.mark.parametrize("filename", ["/tmp/ipykernel_4242/3141592653.py",
                                      "<ipython-input-7-0123456789ab>"])
def test_a_source_line_typed_into_a_notebook_is_called_a_notebook_cell(filename):
    """Jupyter and IPython run each cell from a temporary file whose name means nothing to
    the reader; the source note says which line of the cell, and in which function."""
    cell = "def double(x):\n    return x * 2\n\ny = double(x)\n"
    space = {"x": mg.ones(2, requires_grad=True)}
    with mg.record_sources():
        exec(compile(cell, filename, "exec"), space)
    source = space["y"]._ctx.note("source")
    assert source.startswith("line 2 of a notebook cell, in double, called from line 4 of "
                             "a notebook cell, in <module>"), source
    assert "ipykernel" not in source and "ipython-input" not in source
    assert source.count("called from") == 1  # the cell's top level, not the interpreter
