"""Checks of the training step (task 2.4), judged by what it does, not by its call order.

A tiny attention model (float64) takes three steps of the student's optimizer_step, with
data and seeds drawn at grading time; its parameters after each step and the losses it
returned must equal the solution's. Any correct way of clearing the old gradients
(zero_grad before the forward, after the step, or setting p.grad = None by hand) gives the
same parameters; forgetting to clear them, skipping the clip or stepping before backward
does not.
"""

import importlib
from unittest import mock

import numpy as np

from minigrad.course.grader.checks import Check, Mistake

N_ROWS, STEPS = 12, 3


def _draw(rng):
    from attention.tasks import make_task

    task = make_task("pair")
    shape = (N_ROWS, task.seq_len)
    return {"ids": rng.integers(0, len(task.vocab), shape),
            "targets": rng.integers(0, len(task.classes), shape),
            "mask": rng.random(shape) < 0.7,
            "seeds": rng.integers(0, 2**31, 2)}


def _three_steps(inputs):
    import minigrad as mg
    from minigrad.optim import Adam

    train = importlib.import_module("attention.train")
    from attention.tasks import make_task

    config = train.TrainConfig(task="pair", d_model=8, n_heads=2, batch_size=4, steps=STEPS,
                               lr=0.05, clip=0.05).resolved()
    mg.manual_seed(int(inputs["seeds"][0]))
    model = train.build_model(config, make_task("pair")).to("float64")
    optimizer = Adam(model.parameters(), lr=config.lr)
    sampler = np.random.default_rng(int(inputs["seeds"][1]))
    history = {"step": [], "train_loss": []}
    data = (inputs["ids"], inputs["targets"], inputs["mask"])
    result = {}
    for step in range(STEPS):
        train._train_step(config, model, optimizer, sampler, history, data, step)
        if step == 0:
            result.update({f"after one step: {n}": np.array(p.data)
                           for n, p in model.named_parameters()})
    result.update({f"after three steps: {n}": np.array(p.data)
                   for n, p in model.named_parameters()})
    result["returned losses"] = np.array([float(loss) for loss in history["train_loss"]])
    return result


# ---- wrong training steps, to name a mistake ------------------------------------------------

def _step(zero=True, clip=True, order="forward-backward-clip-step", batch="integers"):
    def optimizer_step(config, model, optimizer, sampler, train_set):
        train = importlib.import_module("attention.train")
        ids, targets, mask = train_set
        if batch == "integers":
            rows = sampler.integers(0, len(ids), size=config.batch_size)
        else:
            rows = sampler.choice(len(ids), size=config.batch_size, replace=False)
        loss = train.cross_entropy(model(ids[rows]), targets[rows], mask=mask[rows])
        if zero and order != "zero-after-backward":
            optimizer.zero_grad()
        if order == "step-before-backward":
            optimizer.step()
            loss.backward()
        else:
            loss.backward()
            if order == "zero-after-backward":
                optimizer.zero_grad()
            if clip:
                train.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
        return loss.item()
    return optimizer_step


def _mistake(sentence, **variant):
    def model(inputs, expected):
        train = importlib.import_module("attention.train")
        with mock.patch.object(train, "optimizer_step", _step(**variant)):
            return _three_steps(inputs)
    return Mistake(sentence, model)


MISTAKES = (
    _mistake("the old gradients are never cleared, so each step adds this batch's gradient "
             "to the last ones: call optimizer.zero_grad() (or set every p.grad = None) "
             "before backward", zero=False),
    _mistake("the gradient norm is not clipped: call clip_grad_norm_(model.parameters(), "
             "config.clip) between backward and step", clip=False),
    _mistake("zero_grad runs between backward and step, so the step sees no gradient",
             order="zero-after-backward"),
    _mistake("the optimizer steps before backward, with the previous batch's gradients",
             order="step-before-backward"),
    _mistake("the batch is not drawn with sampler.integers(0, len(ids), "
             "size=config.batch_size): the check replays that random stream", batch="choice"),
)

CHECKS = [
    Check("task2_4", "three steps on a tiny model", _draw, _three_steps, mistakes=MISTAKES,
          rtol=1e-7, atol=1e-10),
]
