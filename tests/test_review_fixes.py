"""Behaviours pinned after review: each test once failed on an earlier version."""

import ast
import warnings

import numpy as np
import pytest

import minigrad as mg
from attention import AttentionModel, MultiHeadAttention, scaled_dot_product_attention
from attention.train import TrainConfig, main, train
from minigrad import viz
from minigrad.course.catalogue import BY_ID
from minigrad.course.regions import blank
from minigrad.io import CheckpointError, load_checkpoint, save_checkpoint
from minigrad.nn import Module, Parameter
from minigrad.optim import SGD, Adam


def test_anomaly_mode_accepts_the_deliberate_infinities_of_a_causal_mask():
    q = mg.randn(1, 3, 4, requires_grad=True)
    with mg.detect_anomaly():
        out, _ = scaled_dot_product_attention(q, q, q, causal=True)
        out.sum().backward()
    assert np.isfinite(q.grad).all()


@pytest.mark.oracle
def test_adam_counts_steps_per_parameter_like_torch(torch_oracle):
    torch = torch_oracle
    a, b = Parameter(np.array([1.0])), Parameter(np.array([3.0]))
    ta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    ours, theirs = Adam([a, b], lr=0.1), torch.optim.Adam([ta, tb], lr=0.1)
    for step in range(5):
        ours.zero_grad()
        theirs.zero_grad()
        use_b = step >= 3  # b gets its first gradient at step 3
        ((a * a).sum() + ((b * b).sum() if use_b else 0)).backward()
        ((ta * ta).sum() + ((tb * tb).sum() if use_b else 0)).backward()
        ours.step()
        theirs.step()
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-12)


def test_optimizer_refuses_state_it_does_not_keep_and_malformed_steps():
    opt = Adam([Parameter(np.zeros(3))])
    with pytest.raises(ValueError, match="'momentum.0', which Adam does not keep"):
        opt.load_state_dict(SGD([Parameter(np.zeros(3))], momentum=0.9).state_dict()
                            | {"momentum.0": np.zeros(3)})
    with pytest.raises(ValueError, match="'step' or 'lr' that is not a single number"):
        opt.load_state_dict({"step": np.array([1, 2])})
    assert opt.state == {} and opt.step_count == 0


def test_a_checkpoint_with_a_malformed_optimizer_step_leaves_everything_unchanged(tmp_path):
    mg.manual_seed(0)
    model = AttentionModel(5, 2, d_model=8)
    opt = Adam(model.parameters())
    path = tmp_path / "ck.npz"
    save_checkpoint(path, model, opt)
    arrays = dict(np.load(path))
    arrays["optimizer/step"] = np.array([1, 2])
    np.savez(path, **arrays)
    other = AttentionModel(5, 2, d_model=8)
    before = {k: v.copy() for k, v in other.state_dict().items()}
    with pytest.raises(CheckpointError, match="not a single number"):
        load_checkpoint(path, other, Adam(other.parameters()))
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_assigning_to_a_buffer_keeps_it_registered():
    class WithBuffer(Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("running", np.zeros(2))

    module = WithBuffer()
    module.running = mg.tensor([9.0, 9.0])
    np.testing.assert_array_equal(module.state_dict()["running"], [9.0, 9.0])


def test_resuming_with_other_settings_is_refused_by_name(tmp_path, capsys):
    config = TrainConfig(task="pair", steps=20, out=str(tmp_path))
    train(config, progress=False, plots=False, stop_at=10)
    changed = TrainConfig(task="pair", steps=20, seed=3, out=str(tmp_path))
    with pytest.raises(CheckpointError, match="seed: 0 in the checkpoint, 3 now"):
        train(changed, resume=True, progress=False, plots=False)
    with pytest.raises(SystemExit, match="error: checkpoint .* other settings"):
        main(["--task", "pair", "--steps", "20", "--seed", "3", "--out", str(tmp_path),
              "--resume", "--no-progress"])


def test_drawing_keeps_an_edge_per_input_and_respects_max_nodes_after_collapsing():
    x = mg.ones(2, requires_grad=True, name="x")
    edges = viz.draw(x * x).source.count(" -> op0")
    assert edges == 2  # x feeds mul twice
    mg.manual_seed(0)
    mha = MultiHeadAttention(8, 2)
    h = mha(mg.randn(1, 2, 8))
    for _ in range(300):
        h = h * 1.001
    source = viz.draw(h.sum(), max_nodes=60).source
    assert source.count("[label=") <= 70 and "more tensors not drawn" in source


def test_graph_render_method_works_without_a_system_graphviz(tmp_path):
    x = mg.ones(2, requires_grad=True, name="x")
    path = viz.draw((x * 2).sum()).render(str(tmp_path / "g"), format="png")
    assert path.endswith("g.png") and open(path, "rb").read(4) == b"\x89PNG"


def test_a_trace_records_one_backward_and_names_modules():
    mg.manual_seed(0)
    model = AttentionModel(5, 2, d_model=8)
    loss = model(np.array([[1, 2, 3]])).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with mg.trace_backward() as trace:
            loss.backward(retain_graph=True)
            loss.backward()
    assert trace.ignored_passes == 1 and any("one backward()" in str(w.message) for w in caught)
    assert any(step.output.startswith("head: ") for step in trace.steps)
    assert trace.steps[0].index == 1  # steps count from 1, as the HTML page does


def test_break_on_an_op_that_is_not_in_the_graph_warns():
    x = mg.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="break_on='softmaxx' matches no op"):
        (x * 2).sum().backward(break_on="softmaxx")


def test_per_node_check_skips_inputs_exactly_at_a_kink_instead_of_failing():
    x = mg.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    report = mg.check_graph(x.relu().relu().sum())  # the outer relu sees exact zeros
    assert report.ok and report.kinks == [("relu", 0)]
    assert "skipped" in str(report)


def test_stub_messages_stay_valid_python_whatever_the_description():
    text = "def f():\n    # BEGIN SOLUTION task1_1: a \\N{y} \"quoted\" thing\n    pass\n" \
           "    # END SOLUTION\n"
    ast.parse(blank(text, {"task1_1": BY_ID["task1_1"]}))
