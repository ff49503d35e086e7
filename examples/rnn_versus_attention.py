"""Parallel, unlike an RNN: attention against a tanh recurrent network on a task that needs
a far-away token, trained with the same loop (`python -m attention.train --task far
--model rnn`).

    python examples/rnn_versus_attention.py      # two runs, then timings: about a minute

Prints held-out accuracy by distance (how many tokens back the starred digit is), the
time of one training step (forward and backward, a batch of 64) at several lengths, and
the number of steps each model must take one after another.
"""

import argparse
import os
import sys
import time

import numpy as np

import minigrad as mg
from attention.tasks import distance_to_star, make_splits, make_task
from attention.train import TrainConfig, build_model, load_run, train
from minigrad.threads import one_blas_thread

BINS = ((1, 4), (5, 8), (9, 12), (13, 16), (17, 23))


def accuracy_by_distance(folder: str) -> list:
    model, task, config = load_run(folder)
    ids, targets, mask = make_splits(task, config.n_train, config.n_test, config.seed)[1]
    with mg.no_grad():
        right = model(ids).data.argmax(-1)[:, -1] == targets[:, -1]
    distance = distance_to_star(ids)
    return [float(right[(distance >= lo) & (distance <= hi)].mean()) for lo, hi in BINS]


def step_seconds(model_name: str, length: int, repeats: int = 3) -> float:
    """One forward and backward of the model at rows of `length` tokens, batch 64."""
    import dataclasses

    task = dataclasses.replace(make_task("far"), seq_len=length)
    config = TrainConfig(task="far", model=model_name).resolved()
    model = build_model(config, task)
    ids = task.generate(np.random.default_rng(0), 64)[0]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model(ids).sum().backward()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python examples/rnn_versus_attention.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs", help="folder for the two runs")
    args = parser.parse_args(argv)
    folders = {}
    for name in ("attention", "rnn"):
        folders[name] = os.path.join(args.out, f"far-{name}")
        train(TrainConfig(task="far", model=name, out=folders[name]), progress=f"far, {name}",
              plots=False, overwrite=True)
    print("\nheld-out accuracy by distance to the starred digit")
    print(f"{'model':<10}" + "".join(f"{f'{lo}-{hi}':>8}" for lo, hi in BINS))
    for name, folder in folders.items():
        print(f"{name:<10}" + "".join(f"{a:>8.0%}" for a in accuracy_by_distance(folder)))
    print("\none training step (forward + backward, batch 64): one BLAS thread, and every core")
    for length in (16, 64, 256):
        with one_blas_thread():
            one = {name: step_seconds(name, length) for name in folders}
        every = {name: step_seconds(name, length) for name in folders}
        print(f"n={length:>4}: attention {one['attention'] * 1e3:6.1f} ms, "
              f"{every['attention'] * 1e3:6.1f} ms (1 step); rnn {one['rnn'] * 1e3:6.1f} ms, "
              f"{every['rnn'] * 1e3:6.1f} ms ({length} steps one after another)")

if __name__ == "__main__":
    main(sys.argv[1:])
