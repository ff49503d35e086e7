"""Train an attention model on a toy task, and save what it learned.

    python -m attention.train --task context            # or reverse, pair, lookup, sums
    python -m attention.train --task reverse --positional none   # watch it fail
    python -m attention.train --task sums --no-causal    # a language model that cheats

Writes into --out (default runs/<task>): checkpoint.npz (model, optimizer, progress),
loss_curve.png, attention.png (held-out examples, one panel per head, tokens on both axes)
and metrics.json. For the language-model task (sums), the held-out accuracy is the exact
match of greedily generated answers (attention.generate continues prompts of your own).

--resume continues from the checkpoint; a run and its resumed halves give the same final
loss bit for bit, because the data, the initialisation and the batch order all come from
the seed, and the states of the batch sampler and of the dropout generator are saved with
the checkpoint.
"""

import dataclasses
import json
import math
import os
import signal
import sys
from dataclasses import asdict

import numpy as np

import minigrad as mg
from attention.language_model import CausalLM, exact_match
from attention.losses import cross_entropy
from attention.model import AttentionModel, CrossAttentionModel
from attention.rnn import RNNModel
from attention.runs import (
    OutputError,
    Run,
    interrupts_deferred,
    prepare_output,
    resume_run,
    signal_name,
    signals_stop_training,
)
from attention.settings import TrainConfig, model_kind, parse_args
from attention.tasks import make_splits, make_task
from minigrad.io import CheckpointError, json_safe, load_checkpoint, read_meta
from minigrad.nn import evaluating
from minigrad.optim import Adam, clip_grad_norm_
from minigrad.threads import one_blas_thread

# ---- one training step: read this first -----------------------------------------------

def optimizer_step(config, model, optimizer, sampler, train_set) -> float:
    """One training step on a random batch; returns the batch loss as a float.

    train_set is (ids, targets, mask), arrays with one row per example. Draw the batch's
    row numbers with `sampler.integers(0, len(ids), size=config.batch_size)`, run the model
    on those rows of ids, take cross_entropy of its output against the same rows of
    targets (with mask=the same rows of mask), clear the old gradients (optimizer.zero_grad,
    before backward or after the previous step), backpropagate (only parameters need
    gradients: intermediate_grads=False), clip the gradient norm to config.clip with
    clip_grad_norm_, and let the optimizer step. The learning rate is set for you.

    Any order of these that clears the old gradients before the new ones arrive gives the
    same parameters and losses for the same data and seeds."""
    # BEGIN SOLUTION task2_4: one training step
    ids, targets, mask = train_set
    batch = sampler.integers(0, len(ids), size=config.batch_size)
    logits = model(ids[batch])  # (B, T, n_classes)
    loss = cross_entropy(logits, targets[batch], mask=mask[batch])
    optimizer.zero_grad()
    loss.backward(intermediate_grads=False)  # only the parameters' gradients are needed
    clip_grad_norm_(model.parameters(), config.clip)
    optimizer.step()
    return loss.item()
    # END SOLUTION


def _train_step(config, model, optimizer, sampler, history, train_set, step):
    """Step `step` of training: the scheduled learning rate, one optimizer step, and the
    batch loss appended to history."""
    optimizer.lr = learning_rate(config, step)
    loss = optimizer_step(config, model, optimizer, sampler, train_set)
    history["step"].append(step + 1)
    history["train_loss"].append(loss)


def learning_rate(config: TrainConfig, step: int) -> float:
    """Cosine decay from lr to lr/10: big steps early, fine ones at the end."""
    progress = step / max(config.steps, 1)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


# ---- the loop ----------------------------------------------------------------------------

def train(config: TrainConfig, resume: bool = False, progress: bool | str = True,
          plots: bool = True, stop_at: int | None = None, overwrite: bool = False) -> dict:
    """Train, evaluate on the held-out split, write the outputs; returns the final metrics.

    progress: show a progress bar, labelled "training <task>", or with the text given
    (progress="sums, no mask", say) when several runs share a terminal.
    stop_at: stop (and save a resumable checkpoint) after this many steps of the schedule,
    as if the run had been interrupted there; Ctrl-C, `kill` and a closed terminal do the
    same, and a checkpoint is saved every config.save_every steps on the way.
    overwrite: start again in an output folder that holds a run already (without it, and
    without resume, such a folder is refused: its run is not replaced by accident)."""
    with one_blas_thread():  # small matrices: threads cost more than they give
        with signals_stop_training():
            return _train(config.resolved(), resume, progress, plots, stop_at, overwrite)


def _train(config, resume, progress, plots, stop_at, overwrite) -> dict:
    task = make_task(config.task)
    prepare_output(config.out)  # before the first step: never train, then fail to save
    checkpoint = os.path.join(config.out, "checkpoint.npz")
    if not resume and not overwrite and os.path.exists(checkpoint):
        raise OutputError(f"{config.out} holds a run already ({checkpoint}): add --resume to "
                          "continue it, or --overwrite to start again and replace it")
    train_set, test_set = make_splits(task, config.n_train, config.n_test, config.seed)
    mg.manual_seed(config.seed)
    model = build_model(config, task)
    optimizer = Adam(model.parameters(), lr=config.lr)
    sampler = np.random.default_rng(config.seed + 1)  # batch order
    run = Run(config, model, optimizer, sampler, checkpoint)
    if resume:
        resume_run(run)

    end = config.steps if stop_at is None else min(stop_at, config.steps)
    stopped_by = _run_steps(run, task, (train_set, test_set), end, progress)
    run.save()
    return _write_results(config, task, model, test_set, run, stopped_by, plots)


def _run_steps(run, task, splits, end, progress):
    """Steps run.done..end-1, evaluating every eval_every steps and saving every save_every;
    stops early, after a whole step, on Ctrl-C, `kill` or a closed terminal. Returns the
    name of the signal that stopped it, or None."""
    config, history = run.config, run.history
    train_set, test_set = splits
    bar = _progress_bar(progress, run.done, config.steps,
                        progress if isinstance(progress, str) else config.task)
    try:
        for step in range(run.done, end):
            # The step, its bookkeeping and its evaluation, whole: a signal waits for them.
            with interrupts_deferred():
                _train_step(config, run.model, run.optimizer, run.sampler, history,
                            train_set, step)
                run.stepped()
                if run.done % config.eval_every == 0 or run.done == config.steps:
                    scores = evaluate(run.model, test_set, task=task)
                    history["eval_step"].append(run.done)
                    history["eval_loss"].append(scores["loss"])
                    history["eval_accuracy"].append(scores["accuracy"])
                    bar.set_postfix(loss=f"{history['train_loss'][-1]:.3g}",
                                    held_out_acc=f"{scores['accuracy']:.3f}")
            bar.update(1)
            if config.save_every and run.done % config.save_every == 0 and run.done < end:
                run.save()  # at most save_every steps are lost to a crash or SIGKILL
    except KeyboardInterrupt as stop:
        # Resume from the last completed step: its sampler state matches its parameters.
        name = signal_name(stop)
        how = f" ({name})" if name != "SIGINT" else ""
        print(f"\ninterrupted{how} after step {run.done}; saving a checkpoint to resume from",
              file=sys.stderr)
        return name
    finally:
        bar.close()
    return None


# ---- measuring, building and loading a model ---------------------------------------------

def evaluate(model, data, batch_size=500, task=None) -> dict:
    """Held-out loss and accuracy over the scored positions, without recording a graph.
    For a language model, the accuracy is the exact match of its generated answers."""
    ids, targets, mask = data
    total_loss, correct, counted = 0.0, 0, 0
    with evaluating(model):  # no dropout while measuring
        for start in range(0, len(ids), batch_size):
            part = slice(start, start + batch_size)
            logits = model(ids[part])
            n = int(mask[part].sum())
            total_loss += cross_entropy(logits, targets[part], mask=mask[part]).item() * n
            hits = logits.data.argmax(axis=-1) == targets[part]
            correct += int(hits[mask[part]].sum())
            counted += n
    scores = {"loss": total_loss / counted, "accuracy": correct / counted}
    if task is not None and task.model == "CausalLM":
        scores["accuracy"] = exact_match(model, data, task.prompt_len)
    return scores


def _write_results(config, task, model, test_set, run, stopped_by, plots) -> dict:
    """Final held-out scores into metrics.json, and the pictures; returns the metrics.
    stopped_by: None, or the signal that stopped the run early."""
    final = evaluate(model, test_set, task=task)
    history = run.history
    metrics = {
        "task": config.task, "steps_done": run.done, "steps": config.steps,
        "final_train_loss": history["train_loss"][-1] if history["train_loss"] else None,
        "held_out_loss": final["loss"], "held_out_accuracy": final["accuracy"],
        "stopped_by": stopped_by, "config": asdict(config),
    }
    with open(os.path.join(config.out, "metrics.json"), "w") as f:
        json.dump(json_safe(metrics), f, indent=2, allow_nan=False)
    if plots:
        from attention.plots import plot_attention, plot_history, plot_lm_attention

        measured = "held-out exact match" if task.model == "CausalLM" else \
            "held-out accuracy"
        plot_history(history, os.path.join(config.out, "loss_curve.png"), title=config.task,
                     accuracy=measured)
        draw = plot_lm_attention if task.model == "CausalLM" else plot_attention
        if model.attention_maps():  # a recurrent network has none to draw
            draw(model, task, test_set, os.path.join(config.out, "attention.png"))
    return metrics


def build_model(config: TrainConfig, task):
    kind = model_kind(task, config.model)
    if kind == "RNNModel":  # the recurrent network attention is compared with
        return RNNModel(len(task.vocab), len(task.classes), d_model=config.d_model)
    if kind == "CausalLM":
        return CausalLM(len(task.vocab), d_model=config.d_model, n_heads=config.n_heads,
                        n_layers=config.n_layers, max_len=task.seq_len,
                        ffn_hidden=config.ffn_hidden, dropout=config.dropout,
                        causal=config.causal)
    if kind == "CrossAttentionModel":  # a memory then queries: cross-attention
        return CrossAttentionModel(len(task.vocab), len(task.classes), task.memory,
                                   d_model=config.d_model, n_heads=config.n_heads)
    return AttentionModel(
        vocab_size=len(task.vocab), n_classes=len(task.classes), d_model=config.d_model,
        n_heads=config.n_heads, n_layers=config.n_layers,
        max_len=config.max_len or task.seq_len,
        positional=config.positional, residual=config.residual, layer_norm=config.layer_norm,
        ffn_hidden=config.ffn_hidden, share=config.share,
        pad_id=task.vocab.index(task.pad) if task.pad is not None else None,
    )


def load_run(folder: str):
    """(model, task, config) of a finished or interrupted run, from its checkpoint.npz: the
    model is rebuilt with the run's own settings, given its trained weights, and put in
    eval mode (no dropout), ready to be looked at or used."""
    path = os.path.join(folder, "checkpoint.npz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}: train one first with "
                                "`python -m attention.train`")
    meta = read_meta(path)
    try:
        config = TrainConfig(**meta["config"]).resolved()  # settings it lacks: defaults
        task = make_task(config.task)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint '{path}': its settings are unreadable "
                              f"({type(error).__name__}: {error})") from None
    model = build_model(config, task)
    load_checkpoint(path, model)
    return model.eval(), task, config


def accuracy_at_length(model, task, length: int, n: int = 500, seed: int = 12345) -> float:
    """Accuracy on `n` fresh rows of the task made `length` tokens long: how a model
    trained on one length does on others. Positions past the model's max_len are refused
    by its positional layer, with a message that says so."""
    longer = dataclasses.replace(task, seq_len=length)
    data = longer.generate(np.random.default_rng(seed), n)
    return evaluate(model, data)["accuracy"]


def _progress_bar(enabled, start, total, label):
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc=f"training {label}", disable=not enabled,
                unit="step", dynamic_ncols=True)


# ---- the command line --------------------------------------------------------------------

def main(argv=None):
    config, args = parse_args(argv, description=__doc__.split("\n\n")[0])
    out = config.resolved().out
    try:
        metrics = train(config, resume=args.resume, progress=not args.no_progress,
                        overwrite=args.overwrite)
    except (CheckpointError, FileNotFoundError, OutputError) as error:
        raise SystemExit(f"error: {error}") from None
    except MemoryError:
        resolved = config.resolved()
        raise SystemExit(f"error: out of memory with --d-model {resolved.d_model}, --heads "
                         f"{resolved.n_heads}, --batch-size {resolved.batch_size}: try "
                         "smaller ones") from None
    except KeyboardInterrupt as stop:
        # A stop before the first step, during the last save (which finished first), or
        # while the pictures were drawn.
        saved = os.path.exists(os.path.join(out, "checkpoint.npz"))
        print("\nstopped; " + (f"the checkpoint in {out}/ is saved (--resume continues it)"
                               if saved else "before the first step, so nothing was saved"),
              file=sys.stderr)
        raise SystemExit(128 + signal.Signals[signal_name(stop)].value) from None
    print(f"held-out accuracy {metrics['held_out_accuracy']:.4f}, "
          f"loss {metrics['held_out_loss']:.3g}")
    pictures = "loss_curve.png" + ("" if config.model == "rnn" else ", attention.png")
    print(f"wrote {out}/: checkpoint.npz, metrics.json, {pictures}")
    if metrics["stopped_by"]:  # saved and resumable, but not finished: a script should know
        raise SystemExit(128 + signal.Signals[metrics["stopped_by"]].value)
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
