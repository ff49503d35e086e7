"""Checks of the training step (task 2.4), judged by what it does, not by its call order.

A tiny model (float64) takes three steps of the student's optimizer_step, with data and
seeds drawn at grading time; its parameters after each step and the losses it returned
must equal the reference's (the steps the stub's docstring lists, taken by hand). Any
correct way of clearing the old gradients (zero_grad before the forward, after the step,
or setting p.grad = None by hand) gives the same parameters; forgetting to clear them,
skipping the clip or stepping before backward does not.

The step is judged on its own, whatever the student's other answers: the model is an
embedding and a linear layer (no attention task's code), and backward() gives each
parameter a made-up gradient, a smooth function of the parameter and the loss, instead of
running the student's engine and op backwards. The order of the step's parts decides the
numbers just the same.
"""

import importlib
from unittest import mock

import numpy as np

from course.grader.checks import Check, Mistake

N_ROWS, STEPS = 12, 3


def _draw(rng):
    from attention.tasks import make_task

    task = make_task("pair")
    shape = (N_ROWS, task.seq_len)
    return {"ids": rng.integers(0, len(task.vocab), shape),
            "targets": rng.integers(0, len(task.classes), shape),
            "mask": rng.random(shape) < 0.7,
            "seeds": rng.integers(0, 2**31, 2)}


def _tiny_model(task):
    from attention.embedding import Embedding
    from attention.linear import Linear
    from minigrad.nn import Module

    class Tiny(Module):
        def __init__(self):
            super().__init__()
            self.embed = Embedding(len(task.vocab), 6)
            self.head = Linear(6, len(task.classes))

        def forward(self, ids):
            return self.head(self.embed(ids))  # (B, T, n_classes)

    return Tiny()


def _made_up_backward(model):
    """(topological_order, backpropagate) that give every parameter of `model` the gradient
    cos(3 p + loss) / 2 through the engine's own bookkeeping (step.keep), so that .grad
    accumulates across calls exactly as with the real engine."""
    def order(root):
        return [root]

    def backpropagate(root, grad, order, step):
        for p in model.parameters():
            step.keep(p, np.cos(3 * p.data + float(root.data)) / 2)
    return order, backpropagate


def _setup(inputs):
    """(config, model, optimizer, train module): the same on both sides."""
    import minigrad as mg
    from minigrad.optim import Adam

    train = importlib.import_module("attention.train")
    from attention.tasks import make_task

    config = train.TrainConfig(task="pair", d_model=8, n_heads=2, batch_size=4, steps=STEPS,
                               lr=0.05, clip=0.05).resolved()
    mg.manual_seed(int(inputs["seeds"][0]))
    model = _tiny_model(make_task("pair")).to("float64")
    return config, model, Adam(model.parameters(), lr=config.lr), train


def _reference(inputs):
    """Three steps as optimizer_step's docstring orders them, with the made-up gradient set
    by hand in place of backward: what any correct answer leaves behind."""
    import minigrad as mg

    config, model, optimizer, train = _setup(inputs)
    sampler = np.random.default_rng(int(inputs["seeds"][1]))
    ids, targets, mask = inputs["ids"], inputs["targets"], inputs["mask"]
    result, losses = {}, []
    for step in range(STEPS):
        optimizer.lr = train.learning_rate(config, step)
        rows = sampler.integers(0, len(ids), size=config.batch_size)
        with mg.no_grad():
            loss = float(train.cross_entropy(model(ids[rows]), targets[rows],
                                             mask=mask[rows]).data)
        for p in model.parameters():
            p.grad = np.cos(3 * p.data + loss) / 2
        train.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        losses.append(loss)
        if step == 0:
            result.update({f"after one step: {n}": np.array(p.data)
                           for n, p in model.named_parameters()})
    result.update({f"after three steps: {n}": np.array(p.data)
                   for n, p in model.named_parameters()})
    result["returned losses"] = np.array(losses)
    return result


def _three_steps(inputs):
    from minigrad import autograd

    config, model, optimizer, train = _setup(inputs)
    order, backpropagate = _made_up_backward(model)
    with mock.patch.object(autograd, "topological_order", order), \
            mock.patch.object(autograd, "backpropagate", backpropagate):
        return _steps(inputs, config, model, optimizer, train)


def _steps(inputs, config, model, optimizer, train):
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


# ---- wrong training steps (in models.py), to name a mistake ---------------------------------

def _mistake(sentence, **variant):
    def model(inputs, expected):
        from course.grader.models import training_step

        train = importlib.import_module("attention.train")
        with mock.patch.object(train, "optimizer_step", training_step(**variant)):
            return _three_steps(inputs)
    return Mistake(sentence, model)


MISTAKES = (
    _mistake("the old gradients are never cleared, so each step adds this batch's gradient "
             "to the last ones: call optimizer.zero_grad() (or set every p.grad = None) "
             "before backward", zero=False),
    _mistake("the gradient norm is not clipped: call clip_grad_norm_(model.parameters(), "
             "config.clip) between backward and step", clip=False),
    _mistake("the optimizer steps without a gradient, so the parameters never change: "
             "zero_grad between backward and step, or step before backward?",
             order="zero-after-backward"),
    _mistake("the batch is not drawn with sampler.integers(0, len(ids), "
             "size=config.batch_size): the check replays that random stream", batch="choice"),
)

CHECKS = [
    Check("task2_4", "three steps on a tiny model", _draw, _three_steps, reference=_reference,
          mistakes=MISTAKES, rtol=1e-7, atol=1e-10),
]
