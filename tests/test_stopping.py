"""A run stopped or failing in any way loses nothing: Ctrl-C, `kill` and a closed terminal
save it after a whole step, a second Ctrl-C waits for the save, a save that fails is made
somewhere else and named, a folder holding a run is not replaced by accident, and a
checkpoint whose record disagrees with itself is refused before it is resumed.

Signals are sent by the test process to itself at a chosen moment (inside an optimizer
step, an evaluation or a save), which is where they would do harm.
"""

import os
import re
import shutil
import signal

import pytest

import attention.runs as runs_module
import attention.train as train_module
from attention.train import TrainConfig, main, train
from minigrad.io import load_checkpoint, read_arrays, read_meta, write_arrays
from minigrad.optim import Adam

STOPS = [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)]


def config(out, **more):
    settings = dict(task="pair", steps=12, eval_every=4, save_every=0, out=str(out))
    return TrainConfig(**{**settings, **more})


def send_at(monkeypatch, signum, step):
    """Send `signum` to this process in the middle of optimizer step `step` (after some
    parameters moved, before the others)."""
    original = Adam._update

    def update(self, i, p, grad):
        if self.step_count == step and i == 2:
            os.kill(os.getpid(), signum)
        return original(self, i, p, grad)

    monkeypatch.setattr(Adam, "_update", update)
    return original


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The loss of the same run, never stopped."""
    out = tmp_path_factory.mktemp("straight")
    return train(config(out), progress=False, plots=False)["final_train_loss"]


@pytest.mark.parametrize("name, code", STOPS, ids=[name for name, _ in STOPS])
def test_each_stopping_signal_saves_the_run_after_a_whole_step(name, code, tmp_path,
                                                               monkeypatch, straight):
    original = send_at(monkeypatch, getattr(signal, name), 5)
    stopped = train(config(tmp_path), progress=False, plots=False)
    assert stopped["steps_done"] == 5 and stopped["stopped_by"] == name
    assert read_meta(tmp_path / "checkpoint.npz")["step"] == 5
    monkeypatch.setattr(Adam, "_update", original)
    resumed = train(config(tmp_path), resume=True, progress=False, plots=False)
    assert resumed["final_train_loss"] == straight  # exactly where it would have been


@pytest.mark.parametrize("name, code", STOPS, ids=[name for name, _ in STOPS])
def test_the_command_exits_with_the_signals_status_after_saving(name, code, tmp_path,
                                                                monkeypatch, capsys):
    send_at(monkeypatch, getattr(signal, name), 3)
    with pytest.raises(SystemExit) as stop:
        main(["--task", "pair", "--steps", "12", "--out", str(tmp_path), "--no-progress"])
    assert stop.value.code == code  # a script running it knows it did not finish
    err = capsys.readouterr().err
    assert "after step 3; saving a checkpoint" in err
    assert (f"({name})" in err) == (name != "SIGINT")
    assert read_meta(tmp_path / "checkpoint.npz")["step"] == 3


def test_ctrl_c_twice_while_saving_waits_for_the_save(tmp_path, monkeypatch, capsys):
    real_save, calls = runs_module.save_checkpoint, []

    def save_pressed_twice(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 1:  # the periodic save at step 4: Ctrl-C, and Ctrl-C again
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(runs_module, "save_checkpoint", save_pressed_twice)
    metrics = train(config(tmp_path, save_every=4), progress=False, plots=False)
    assert "saving a checkpoint, please wait" in capsys.readouterr().err
    assert metrics["steps_done"] == 4 and len(calls) == 2  # the periodic save, then the last
    from attention.model import AttentionModel  # the saved file is whole and loads

    meta = read_meta(tmp_path / "checkpoint.npz")
    model = AttentionModel(16, 64, d_model=8, n_heads=2, positional="learned", max_len=8)
    assert load_checkpoint(tmp_path / "checkpoint.npz", model)["step"] == meta["step"] == 4


def test_a_stop_during_the_last_save_lets_it_finish_then_exits(tmp_path, monkeypatch,
                                                               capsys):
    real_save = runs_module.save_checkpoint

    def save_then_killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(runs_module, "save_checkpoint", save_then_killed)
    with pytest.raises(SystemExit) as stop:
        main(["--task", "pair", "--steps", "6", "--save-every", "0", "--out", str(tmp_path),
              "--no-progress"])
    assert stop.value.code == 143
    assert "the checkpoint in" in capsys.readouterr().err
    assert read_meta(tmp_path / "checkpoint.npz")["step"] == 6


def test_periodic_saves_bound_what_a_crash_loses(tmp_path, monkeypatch):
    # SIGKILL cannot be caught; an exception that is not a stop stands in for it here.
    original = Adam._update

    def crash(self, i, p, grad):
        if self.step_count == 11:
            raise RuntimeError("the machine went away")
        return original(self, i, p, grad)

    monkeypatch.setattr(Adam, "_update", crash)
    with pytest.raises(RuntimeError):
        train(config(tmp_path, save_every=4), progress=False, plots=False)
    assert read_meta(tmp_path / "checkpoint.npz")["step"] == 8  # at most 4 steps old


def test_ctrl_c_during_an_evaluation_keeps_that_evaluation(tmp_path, monkeypatch):
    real_evaluate, seen = train_module.evaluate, []

    def evaluate_interrupted(*args, **kwargs):
        seen.append(True)
        if len(seen) == 2:  # the evaluation after step 8
            os.kill(os.getpid(), signal.SIGINT)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate", evaluate_interrupted)
    train(config(tmp_path), progress=False, plots=False)
    history = read_meta(tmp_path / "checkpoint.npz")["history"]
    assert history["eval_step"] == [4, 8] and len(history["eval_loss"]) == 2


def test_a_failed_last_save_is_made_elsewhere_and_named(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    original = Adam._update

    def remove_the_folder(self, i, p, grad):
        if self.step_count == 3 and i == 0 and out.exists():
            shutil.rmtree(out)  # the output folder removed while the run trains
        return original(self, i, p, grad)

    monkeypatch.setattr(Adam, "_update", remove_the_folder)
    with pytest.raises(SystemExit) as failed:
        main(["--task", "pair", "--steps", "6", "--out", str(out), "--no-progress"])
    message = str(failed.value.code)
    assert message.startswith(f"error: could not save the checkpoint to {out}/checkpoint.npz")
    assert "No such file or directory" in message
    rescued = re.search(r"is saved at (\S+checkpoint\.npz) instead", message).group(1)
    try:
        assert read_meta(rescued)["step"] == 6 and "add --resume" in message
    finally:
        shutil.rmtree(os.path.dirname(rescued))


def test_a_folder_holding_a_run_is_not_replaced_without_saying_so(tmp_path, capsys):
    args = ["--task", "pair", "--steps", "3", "--out", str(tmp_path), "--no-progress"]
    main(args)
    first = (tmp_path / "checkpoint.npz").read_bytes()
    with pytest.raises(SystemExit, match="holds a run already .* add --resume to continue "
                                         "it, or --overwrite to start again"):
        main(args)
    assert (tmp_path / "checkpoint.npz").read_bytes() == first
    main(args + ["--overwrite"])  # on purpose
    with pytest.raises(SystemExit):
        main(args + ["--overwrite", "--resume"])
    assert "choose one" in capsys.readouterr().err


@pytest.mark.parametrize("edit, said", [
    (lambda m: m["history"]["train_loss"].pop(), "3 steps done, but 3 step numbers and 2"),
    (lambda m: m.update(step=2), "2 steps done, but 3 step numbers"),
    (lambda m: m["history"]["step"].reverse(), "step numbers are not 1 to 3"),
    (lambda m: m["history"]["eval_loss"].append(0.5), "evaluation losses"),
    (lambda m: m["history"]["eval_step"].__setitem__(0, 9), "evaluation steps"),
])
def test_a_run_record_that_disagrees_with_itself_is_refused_before_resuming(
        edit, said, tmp_path):
    import json

    import numpy as np

    train(config(tmp_path, steps=3, eval_every=1), progress=False, plots=False)
    path = tmp_path / "checkpoint.npz"
    arrays = read_arrays(path)
    meta = json.loads(str(arrays["meta"]))
    edit(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    arrays.pop("manifest", None)  # write_arrays makes a new one
    write_arrays(path, arrays)
    before = path.read_bytes()
    with pytest.raises(Exception, match=f"disagrees with itself .*{re.escape(said)}"):
        train(config(tmp_path, steps=6, eval_every=1), resume=True, progress=False,
              plots=False)
    assert path.read_bytes() == before


def test_each_failure_of_the_command_is_one_line_and_a_nonzero_exit(tmp_path, monkeypatch,
                                                                       capsys):
    import attention.plots

    with pytest.raises(SystemExit) as usage:
        main(["--out", ""])
    assert usage.value.code == 2 and "--out is empty" in capsys.readouterr().err
    # A model far too big for memory: numpy's MemoryError, deep in a layer, named instead.
    with pytest.raises(SystemExit, match=r"^error: out of memory with --d-model 200000"):
        main(["--d-model", "200000", "--steps", "1", "--out", str(tmp_path / "big"),
              "--no-progress"])
    with pytest.raises(ValueError, match="TrainConfig: n_test must be a positive integer"):
        TrainConfig(n_test=0).resolved()

    def interrupted_drawing(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the final pictures are drawn

    monkeypatch.setattr(attention.plots, "plot_history", interrupted_drawing)
    with pytest.raises(SystemExit) as stop:
        main(["--task", "pair", "--steps", "3", "--out", str(tmp_path / "run"),
              "--no-progress"])
    assert stop.value.code == 130
    assert f"the checkpoint in {tmp_path / 'run'}/ is saved" in capsys.readouterr().err
    assert read_meta(tmp_path / "run" / "checkpoint.npz")["step"] == 3


@pytest.mark.slow  # ten training processes, each killed: about 15 s
def test_training_killed_at_random_moments_always_leaves_a_checkpoint_that_loads():
    """Each signal, at random moments (some inside a save), two trials each: the newest
    checkpoint loads, and is never older than the save period (benchmarks/kill_training.py
    runs more, and prints a table)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "kill_training.py"
    spec = importlib.util.spec_from_file_location("kill_training", path)
    kill_training = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kill_training)
    results = kill_training.run(trials=10, seed=1)
    problems = [(kind, r["problem"]) for kind, rows in results.items() for r in rows
                if r["problem"]]
    assert not problems
    assert sorted(results) == sorted(kill_training.SIGNALS)
