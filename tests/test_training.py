"""Training on the toy tasks: accuracy with the defaults, determinism, resume, outputs."""

import json
import shutil

import numpy as np
import pytest

from attention.tasks import make_splits, make_task, order_blind_accuracy
from attention.train import TrainConfig, main, train
from minigrad.io import CheckpointError, read_arrays, write_arrays


@pytest.mark.parametrize("task", ["context", "reverse", "pair", "lookup"])
def test_each_task_reaches_99_percent_held_out_with_its_defaults(task, tmp_path):
    metrics = train(TrainConfig(task=task, out=str(tmp_path)), progress=False, plots=False)
    assert metrics["held_out_accuracy"] >= 0.99, metrics


def test_reverse_without_positions_stays_at_the_order_blind_ceiling(tmp_path):
    config = TrainConfig(task="reverse", positional="none", out=str(tmp_path))
    metrics = train(config, progress=False, plots=False)
    task = make_task("reverse")
    _, held_out = make_splits(task, config.n_train, config.n_test, config.seed)
    ceiling = order_blind_accuracy(held_out)  # best any position-blind guess can do
    assert ceiling < 0.35
    assert metrics["held_out_accuracy"] <= ceiling + 0.02, (metrics, ceiling)


def test_same_seed_gives_the_same_final_loss_bit_for_bit(tmp_path):
    runs = [train(TrainConfig(task="pair", steps=60, out=str(tmp_path / str(i))),
                  progress=False, plots=False) for i in range(2)]
    assert runs[0]["final_train_loss"] == runs[1]["final_train_loss"]
    other_seed = train(TrainConfig(task="pair", steps=60, seed=1, out=str(tmp_path / "s1")),
                       progress=False, plots=False)
    assert other_seed["final_train_loss"] != runs[0]["final_train_loss"]


def test_an_interrupted_and_resumed_run_ends_exactly_like_an_uninterrupted_one(tmp_path):
    straight = train(TrainConfig(task="pair", steps=80, out=str(tmp_path / "a")),
                     progress=False, plots=False)
    halves = TrainConfig(task="pair", steps=80, out=str(tmp_path / "b"))
    first = train(halves, progress=False, plots=False, stop_at=35)
    assert first["steps_done"] == 35
    resumed = train(halves, resume=True, progress=False, plots=False)
    assert resumed["steps_done"] == 80
    assert resumed["final_train_loss"] == straight["final_train_loss"]
    a = read_arrays(tmp_path / "a" / "checkpoint.npz")
    b = read_arrays(tmp_path / "b" / "checkpoint.npz")
    for key in a:
        if key.startswith(("model/", "optimizer/")):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_command_line_writes_checkpoint_metrics_and_pictures(tmp_path):
    out = tmp_path / "run"
    main(["--task", "context", "--steps", "40", "--out", str(out), "--no-progress"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps_done"] == 40 and 0 <= metrics["held_out_accuracy"] <= 1
    for picture in ("loss_curve.png", "attention.png"):
        data = (out / picture).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, picture
    assert any(k.startswith("model/") for k in read_arrays(out / "checkpoint.npz"))


def test_resuming_with_other_settings_is_refused_by_name(tmp_path, capsys):
    config = TrainConfig(task="pair", steps=20, out=str(tmp_path))
    train(config, progress=False, plots=False, stop_at=10)
    changed = TrainConfig(task="pair", steps=20, seed=3, out=str(tmp_path))
    with pytest.raises(CheckpointError, match="seed: 0 in the checkpoint, 3 now"):
        train(changed, resume=True, progress=False, plots=False)
    with pytest.raises(SystemExit, match="error: checkpoint .* other settings"):
        main(["--task", "pair", "--steps", "20", "--seed", "3", "--out", str(tmp_path),
              "--resume", "--no-progress"])


# ---- runs that never lose work ------------------------------------------------------------------

@pytest.mark.parametrize("argument, value", [
    ("--heads", "0"), ("--d-model", "0"), ("--seed", "-1"), ("--batch-size", "-1"),
    ("--batch-size", "0"), ("--ffn", "-3"), ("--steps", "-5"), ("--lr", "nan"),
    ("--lr", "-0.1"), ("--steps", "ten"),
])
def test_a_bad_command_line_value_is_a_usage_error_naming_the_option(argument, value, capsys):
    with pytest.raises(SystemExit) as stop:
        main([argument, value, "--no-progress"])
    assert stop.value.code == 2
    assert f"argument {argument}" in capsys.readouterr().err


def test_an_output_folder_that_cannot_take_the_files_is_refused_before_training(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for out, message in [(afile, "is a file, not a folder"),
                         (afile / "below", "cannot write into the output folder")]:
        with pytest.raises(SystemExit, match=message):
            main(["--steps", "5", "--out", str(out), "--no-progress"])
    (tmp_path / "run" / "checkpoint.npz").mkdir(parents=True)
    with pytest.raises(SystemExit, match="checkpoint.npz is a folder"):
        main(["--steps", "5", "--out", str(tmp_path / "run"), "--no-progress"])
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoint.npz"]


def test_ctrl_c_inside_an_optimizer_step_lands_after_it(tmp_path, monkeypatch):
    import os
    import signal

    from minigrad.optim import Adam

    straight = train(TrainConfig(task="pair", steps=12, out=str(tmp_path / "a")),
                     progress=False, plots=False)
    original = Adam._update

    def update(self, i, p, grad):
        if self.step_count == 5 and i == 2:  # the fifth step, after two parameters moved
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, i, p, grad)

    monkeypatch.setattr(Adam, "_update", update)
    config = TrainConfig(task="pair", steps=12, out=str(tmp_path / "b"))
    first = train(config, progress=False, plots=False)
    assert first["steps_done"] == 5  # the interrupted step finished, and was saved as done
    monkeypatch.setattr(Adam, "_update", original)
    resumed = train(config, resume=True, progress=False, plots=False)
    assert resumed["final_train_loss"] == straight["final_train_loss"]


@pytest.mark.parametrize("meta", [
    {"step": "3"}, {"step": -1}, {"history": []}, {"history": {"step": 3}},
    {"sampler_state": {"state": "garbage"}}, {"config": None},
])
def test_resuming_from_malformed_metadata_is_refused_by_name(tmp_path, meta):

    config = TrainConfig(task="pair", steps=10, out=str(tmp_path))
    train(config, progress=False, plots=False, stop_at=4)
    path = tmp_path / "checkpoint.npz"
    arrays = read_arrays(path)
    stored = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**stored, **meta}))
    write_arrays(path, arrays)
    with pytest.raises(CheckpointError, match="checkpoint.npz"):
        train(config, resume=True, progress=False, plots=False)


def test_heads_that_do_not_divide_the_width_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--task", "pair", "--heads", "3", "--no-progress"])
    assert stop.value.code == 2
    assert "--d-model 8 is not divisible by --heads 3" in capsys.readouterr().err


@pytest.mark.parametrize("meta", [
    {"history": {}}, {"history": {"step": ["x"], "train_loss": [], "eval_step": [],
                                  "eval_loss": [], "eval_accuracy": []}},
    {"sampler_state": {"bit_generator": "PCG64", "state": {"state": 2**200, "inc": 1},
                       "has_uint32": 0, "uinteger": 0}},
])
def test_resuming_from_more_malformed_metadata_is_refused_by_name(tmp_path, meta):
    test_resuming_from_malformed_metadata_is_refused_by_name(tmp_path, meta)


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory):
    """A short run of the pair task with its default settings, to resume from."""
    out = tmp_path_factory.mktemp("pair") / "run"
    train(TrainConfig(task="pair", steps=4, out=str(out)), progress=False, plots=False)
    return out


@pytest.mark.parametrize("option, value, named", [
    ("--d-model", "16", "d_model: 8 in the checkpoint, 16 now"),
    ("--heads", "1", "n_heads: 2 in the checkpoint, 1 now"),
    ("--positional", "sinusoidal", "positional: 'learned' in the checkpoint, 'sinusoidal' now"),
    ("--layer-norm", None, "layer_norm: False in the checkpoint, True now"),
    ("--ffn", "8", "ffn_hidden: 0 in the checkpoint, 8 now"),
    ("--residual", None, "residual: False in the checkpoint, True now"),
])
def test_resuming_with_another_model_setting_names_the_setting(pair_run, tmp_path, option,
                                                              value, named):
    out = str(shutil.copytree(pair_run, tmp_path / "run"))
    argv = ["--task", "pair", "--steps", "8", "--out", out, "--resume", "--no-progress",
            option] + ([value] if value else [])
    with pytest.raises(SystemExit) as stop:
        main(argv)
    message = str(stop.value)
    assert "was made with other settings" in message and named in message, message
    assert len(message) < 300, message  # the setting, not a list of parameter shapes


def test_lookup_rows_hold_a_memory_then_queries_answered_by_it():
    task = make_task("lookup")
    ids, targets, mask = task.generate(np.random.default_rng(0), 50)
    S = task.memory
    assert not mask[:, :S].any() and mask[:, S:].all()
    for row, target in zip(ids, targets):
        memory = dict(task.vocab[i].split("=") for i in row[:S])  # key -> value
        assert len(memory) == S  # distinct keys
        for token, answer in zip(row[S:], target[S:]):
            assert task.classes[answer] == memory[task.vocab[token].rstrip("?")]


def test_the_cross_attention_model_differentiates_through_both_sequences():
    import minigrad as mg
    from attention.losses import cross_entropy
    from attention.model import CrossAttentionModel

    task = make_task("lookup")
    ids, targets, mask = task.generate(np.random.default_rng(1), 3)
    mg.manual_seed(0)
    model = CrossAttentionModel(len(task.vocab), 10, task.memory, d_model=8,
                                n_heads=2).to("float64")
    logits = model(ids)
    assert logits.shape == (3, 12, 10) and not logits.data[:, :6].any()
    assert model.attention_maps()[0].shape == (3, 2, 6, 6)  # (B, nh, queries, memory)
    cross_entropy(logits, targets, mask=mask).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad).all(), name
    # The embedding feeds both the memory and the queries: its gradient gathers both.
    memory_rows, query_rows = np.unique(ids[:, :6]), np.unique(ids[:, 6:])
    assert np.abs(model.embed.weight.grad[memory_rows]).sum() > 0
    assert np.abs(model.embed.weight.grad[query_rows]).sum() > 0


@pytest.mark.parametrize("argv, refused", [
    (["--task", "sums", "--positional", "learned"], "--positional: the sums task's model "
                                                    "(CausalLM) does not use this option"),
    (["--task", "pair", "--dropout", "0.1"], "--dropout: the pair task's model"),
    (["--task", "context", "--no-causal"], "--causal: the context task's model"),
    (["--task", "lookup", "--layers", "2", "--ffn", "8"], "--layers, --ffn: the lookup task's "
                                                          "model (CrossAttentionModel) does not "
                                                          "use these options"),
])
def test_an_option_the_tasks_model_would_ignore_is_refused(argv, refused, capsys):
    with pytest.raises(SystemExit):
        main(argv + ["--no-progress"])
    assert refused in capsys.readouterr().err


def test_layers_builds_that_many_attention_blocks():
    from attention.train import build_model

    config = TrainConfig(task="pair", n_layers=3).resolved()
    model = build_model(config, make_task("pair"))
    assert len(model.blocks) == 3


def test_a_progress_bar_carries_the_label_it_is_given(tmp_path, capsys):
    """Two runs in one terminal (examples/causal_masking.py) tell their bars apart."""
    config = TrainConfig(task="previous", steps=2, n_train=64, n_test=16, out=str(tmp_path))
    train(config, progress="previous, one of two", plots=False)
    assert "training previous, one of two" in capsys.readouterr().err


def test_a_model_shorter_than_the_tasks_rows_is_refused_on_the_command_line(capsys):
    with pytest.raises(SystemExit):
        main(["--task", "previous", "--max-len", "4", "--no-progress"])
    assert "--max-len 4: the previous task's rows are 8 tokens long" in capsys.readouterr().err
