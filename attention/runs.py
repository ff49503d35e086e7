"""A training run that never loses work: its output folder checked before the first step,
Ctrl-C landing between steps, and a checkpoint resumed only into the run that made it.
"""

import contextlib
import os
import signal
import sys
import tempfile
import threading
from dataclasses import asdict

import minigrad as mg
from minigrad.io import CheckpointError, load_checkpoint, read_meta, save_checkpoint


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


# The signals that ask a run to stop: Ctrl-C, `kill`, and a closed terminal. Each one saves
# the run as Ctrl-C always did (SIGKILL cannot be caught: the periodic saves bound its loss).
STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                 if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """A stop asked for by a signal; `.signal` names it (SIGINT for Ctrl-C)."""

    def __init__(self, signum=signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signal = signal.Signals(signum).name


def signal_name(stop: KeyboardInterrupt) -> str:
    """The signal behind a stop: a Stopped names its own; a plain KeyboardInterrupt is
    Ctrl-C's SIGINT."""
    return stop.signal if isinstance(stop, Stopped) else "SIGINT"


@contextlib.contextmanager
def _handling_stops(handler):
    """Every stopping signal goes to `handler` inside the block; the previous handlers are
    back after it. Only in the main thread, where signals arrive (elsewhere: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in STOPPING}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def signals_stop_training():
    """Inside the block, Ctrl-C (SIGINT), `kill` (SIGTERM) and a closed terminal (SIGHUP)
    stop training, as Stopped (a KeyboardInterrupt), so one piece of code saves the run.
    The first one stops it; any more while it is being saved are told to wait, so that
    pressing Ctrl-C twice never loses the save. Only in the main thread, where signals
    arrive; the previous handlers are back when the block ends."""
    stopping = []

    def stop(signum, frame):
        if stopping:
            print("\nstopping: saving the run first, please wait", file=sys.stderr, flush=True)
            return
        stopping.append(signum)
        raise Stopped(signum)

    with _handling_stops(stop):
        yield


@contextlib.contextmanager
def interrupts_deferred(note: str | None = None):
    """A stopping signal during the block takes effect when it ends, as Stopped: an
    interrupt never leaves a half-stepped model, a half-recorded evaluation or a half-
    written checkpoint. `note` is printed when a signal arrives and must wait ("saving,
    please wait"). Only in the main thread, where signals go."""
    pressed = []

    def wait(signum, frame):
        if note and not pressed:
            print(f"\n{note}", file=sys.stderr, flush=True)
        pressed.append(signum)

    with _handling_stops(wait):
        yield
    if pressed:
        raise Stopped(pressed[0])


# Settings that decide the model and the data: a run can only be resumed with the same ones
# (the number of steps and the learning rate may change, say to train longer).
SAME_ON_RESUME = ("task", "d_model", "n_heads", "positional", "residual", "layer_norm",
                   "ffn_hidden", "n_layers", "dropout", "causal", "share", "max_len", "model",
                   "n_train", "n_test", "seed", "batch_size")


def history_problem(step: int, history: dict) -> str:
    """What makes a run's record inconsistent, in words, or "" if nothing: a loss per step
    done, steps numbered 1 to `step`, and evaluations in order, each with its loss and
    accuracy, none after the last step."""
    steps, losses = history["step"], history["train_loss"]
    if len(steps) != step or len(losses) != step:
        return (f"{step} steps done, but {len(steps)} step numbers and {len(losses)} "
                "training losses")
    if steps != list(range(1, step + 1)):
        return f"its step numbers are not 1 to {step}"
    evals = history["eval_step"]
    if not len(evals) == len(history["eval_loss"]) == len(history["eval_accuracy"]):
        return (f"{len(evals)} evaluation steps, {len(history['eval_loss'])} evaluation "
                f"losses and {len(history['eval_accuracy'])} accuracies")
    if any(not isinstance(e, int) or not 0 < e <= step for e in evals) or \
            any(a >= b for a, b in zip(evals, evals[1:])):
        return f"evaluation steps {evals[:5]}... are not increasing steps from 1 to {step}"
    return ""


def check_resumable(path, meta, config):
    """Refuse, naming what is wrong, metadata that is missing or malformed, or made with
    other settings than `config` (before anything is loaded)."""
    missing = [key for key in ("step", "history", "config", "sampler_state", "dropout_state")
               if key not in meta]
    if missing:
        raise CheckpointError(f"checkpoint '{path}': its metadata lacks {missing}, so the run "
                              "cannot be resumed from it")
    kinds = {"step": int, "history": dict, "config": dict, "sampler_state": dict,
             "dropout_state": dict}
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
    problem = history_problem(meta["step"], meta["history"])
    if problem:
        raise CheckpointError(f"checkpoint '{path}': its run record disagrees with itself "
                              f"({problem}), so the run cannot be resumed from it")
    recorded = meta["config"]
    differ = [f"{key}: {recorded.get(key)!r} in the checkpoint, {getattr(config, key)!r} now"
              for key in SAME_ON_RESUME if recorded.get(key) != getattr(config, key)]
    if differ:
        raise CheckpointError(f"checkpoint '{path}' was made with other settings ("
                              + "; ".join(differ) + "); resume with the same ones")


# ---- a run in progress: saved whole, resumed exactly -------------------------------------

class Run:
    """What a checkpoint holds of a run in progress: the model, the optimizer, the steps
    done, the history, and the random states that go with them."""

    def __init__(self, config, model, optimizer, sampler, checkpoint):
        self.config, self.model, self.optimizer = config, model, optimizer
        self.sampler, self.checkpoint = sampler, checkpoint
        self.done = 0
        self.history = {"step": [], "train_loss": [], "eval_step": [], "eval_loss": [],
                        "eval_accuracy": []}
        self.states = random_states(sampler)

    def stepped(self):
        """Record that one more step is done: the random states now belong to it."""
        self.done += 1
        self.states = random_states(self.sampler)

    def save(self):
        """Write the checkpoint, whole, with signals held off until it is on disk. If the
        output folder fails (a full disk, the folder removed), the checkpoint goes to a new
        temporary folder instead, and the error names both places."""
        meta = {"step": self.done, "history": self.history, "config": asdict(self.config),
                "sampler_state": self.states[0], "dropout_state": self.states[1]}
        with interrupts_deferred("saving a checkpoint, please wait"):
            try:
                save_checkpoint(self.checkpoint, self.model, self.optimizer, meta)
            except OSError as error:
                raise _rescued(self, meta, error) from None


def _rescued(run, meta, error) -> OutputError:
    """Save the run somewhere else after `error` at its own checkpoint; the error to report."""
    failed = f"could not save the checkpoint to {run.checkpoint} ({error.strerror or error})"
    try:
        rescue = os.path.join(tempfile.mkdtemp(prefix="minigrad-rescued-"), "checkpoint.npz")
        save_checkpoint(rescue, run.model, run.optimizer, meta)
    except OSError as second:
        return OutputError(f"{failed}, nor to a temporary folder ({second.strerror or second}):"
                           f" the run's {run.done} steps are lost")
    return OutputError(f"{failed}; the run (step {run.done}) is saved at {rescue} instead: move "
                       f"it to {run.checkpoint} and add --resume to continue")


def resume_run(run):
    """Load the run's checkpoint, if there is one, into `run`."""
    checkpoint, config = run.checkpoint, run.config
    if not os.path.exists(checkpoint):
        print(f"no checkpoint at {checkpoint}: starting from step 0", file=sys.stderr)
        return
    # The settings first: a run made with other ones is named as such, not as a list of
    # parameter shapes that do not fit.
    check_resumable(checkpoint, read_meta(checkpoint), config)
    meta = load_checkpoint(checkpoint, run.model, run.optimizer)
    # The dropout masks come from minigrad's generator: restored too, so that a resumed run
    # drops the same units as an uninterrupted one.
    generators = [(run.sampler, "sampler_state", "batch sampler"),
                  (mg.default_generator(), "dropout_state", "dropout generator")]
    for generator, key, what in generators:
        try:
            generator.bit_generator.state = meta[key]
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise CheckpointError(f"checkpoint '{checkpoint}': its {what} state is "
                                  f"malformed ({type(error).__name__}: {error})") from None
    if meta["step"] >= config.steps:
        print(f"{checkpoint} is at step {meta['step']} already (--steps {config.steps}); "
              "nothing to train", file=sys.stderr)
    run.done, run.history = meta["step"], meta["history"]
    run.states = random_states(run.sampler)


def random_states(sampler) -> tuple:
    return sampler.bit_generator.state, mg.default_generator().bit_generator.state
