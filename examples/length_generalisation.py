"""Attention has no length limit of its own; positions may. Train on rows of 8 tokens,
test on rows of 16, 32 and 64, with no positions, sinusoidal and learned ones, on a task
where order matters (previous: answer with the token before) and one where it does not
(context: the sense of "bank").

    python examples/length_generalisation.py        # six runs of about a second each

Prints held-out accuracy by length. Each model holds 64 positions (--max-len 64), so that
it can be run on the longer rows at all; a model that holds fewer refuses longer rows with
a message that says so, rather than failing on an index.
"""

import argparse
import os
import sys

from attention.train import TrainConfig, accuracy_at_length, load_run, train

LENGTHS = (8, 16, 32, 64)


def measure(out: str = "runs", progress: bool = False) -> dict:
    """{(task, positional): [accuracy at each of LENGTHS]}."""
    table = {}
    for task in ("previous", "context"):
        for positional in ("none", "sinusoidal", "learned"):
            folder = os.path.join(out, f"lengths-{task}-{positional}")
            train(TrainConfig(task=task, positional=positional, max_len=max(LENGTHS),
                              out=folder), progress=progress and f"{task}, {positional}",
                  plots=False, overwrite=True)
            model, task_, _ = load_run(folder)
            table[(task, positional)] = [accuracy_at_length(model, task_, n) for n in LENGTHS]
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python examples/length_generalisation.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs", help="folder for the six runs")
    args = parser.parse_args(argv)
    table = measure(args.out, progress=True)
    print("\nheld-out accuracy by length (trained on 8)")
    print(f"{'task':<10} {'positions':<11}" + "".join(f"{n:>8}" for n in LENGTHS))
    for (task, positional), accuracies in table.items():
        print(f"{task:<10} {positional:<11}" + "".join(f"{a:>8.0%}" for a in accuracies))


if __name__ == "__main__":
    main(sys.argv[1:])
