"""A training run that never loses work: its output folder checked before the first step,
Ctrl-C landing between steps, and a checkpoint resumed only into the run that made it.
"""

import contextlib
import os
import signal
import tempfile
import threading

from attention.settings import UNLESS_THE_TASK_SAYS
from minigrad.io import CheckpointError


class OutputError(OSError):
    """The output folder cannot take the run's files."""


OUTPUTS = ("checkpoint.npz", "metrics.json", "loss_curve.png", "attention.png")


def prepare_output(out: str):
    """Make `out` and check that every output file can be written there."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"--out {out} is a file, not a folder")
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as error:
        raise OutputError(f"cannot write into the output folder {out} "
                          f"({error.strerror or error})") from None
    for name in OUTPUTS:
        if os.path.isdir(os.path.join(out, name)):
            raise OutputError(f"{os.path.join(out, name)} is a folder; the run must write a "
                              "file there")


@contextlib.contextmanager
def interrupts_deferred():
    """Ctrl-C during the block takes effect when it ends, so that an interrupt never
    leaves a half-stepped model to be saved (only in the main thread, where signals go)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


# Settings that decide the model and the data: a run can only be resumed with the same ones
# (the number of steps and the learning rate may change, say to train longer).
SAME_ON_RESUME = ("task", "d_model", "n_heads", "positional", "residual", "layer_norm",
                   "ffn_hidden", "n_layers", "dropout", "causal", "share", "max_len", "model",
                   "n_train", "n_test", "seed", "batch_size")


def check_resumable(path, meta, config):
    """Refuse, naming what is wrong, metadata that is missing or malformed, or made with
    other settings than `config` (before anything is loaded)."""
    missing = [key for key in ("step", "history", "config", "sampler_state") if key not in meta]
    if missing:
        raise CheckpointError(f"checkpoint '{path}': its metadata lacks {missing}, so the run "
                              "cannot be resumed from it")
    kinds = {"step": int, "history": dict, "config": dict, "sampler_state": dict}
    wrong = [f"{key} ({type(meta[key]).__name__})" for key, kind in kinds.items()
             if not isinstance(meta[key], kind) or isinstance(meta[key], bool)]
    history_keys = ("step", "train_loss", "eval_step", "eval_loss", "eval_accuracy")
    if not wrong and (meta["step"] < 0 or set(meta["history"]) != set(history_keys) or not all(
            isinstance(v, list) and all(x is None or isinstance(x, (int, float)) for x in v)
            for v in meta["history"].values())):
        wrong = ["step or history"]
    if wrong:
        raise CheckpointError(f"checkpoint '{path}': its metadata has malformed "
                              f"{', '.join(wrong)}, so the run cannot be resumed from it")
    # A setting added after the checkpoint was written took the value a task gets when
    # it names none (one block, no dropout, no causal mask).
    recorded = {**UNLESS_THE_TASK_SAYS, **meta["config"]}
    differ = [f"{key}: {recorded.get(key)!r} in the checkpoint, {getattr(config, key)!r} now"
              for key in SAME_ON_RESUME if recorded.get(key) != getattr(config, key)]
    if differ:
        raise CheckpointError(f"checkpoint '{path}' was made with other settings ("
                              + "; ".join(differ) + "); resume with the same ones")
