"""Why a language model needs the causal mask: train it with and without, and compare.

    python examples/causal_masking.py        # two runs of about 20 s each

Both runs train the same tiny language model on "ab+cd=efg" sums, from the same seed, for
the same number of steps; the only difference is the mask. Writes runs/sums-causal/ and
runs/sums-no-mask/, each with its attention picture, and runs/masking.png (--out puts all
three elsewhere), and prints the losses and the held-out exact match of each. (The run
`python -m attention.generate` reads, runs/sums/, is left as it is.)

Without the mask, position t sees token t + 1, the very token it is asked to predict: the
training loss falls almost to zero, but at generation time that token does not exist yet,
and the answers come out wrong. With the mask, the loss stays above the floor set by the
random operand digits, and the generated answers are right.
"""

import argparse
import math
import os
import sys

from attention.plots import plot_masking
from attention.tasks import make_task
from attention.train import TrainConfig, train
from minigrad.io import read_meta


def loss_floor(task) -> float:
    """The lowest average loss a model that cannot see ahead can reach on rows it has not
    memorised: of the T targets in a row, the operand digits after the first (2 * digits -
    1 of them) are uniformly random, each costing ln(10) at best; the rest can be
    predicted exactly. (The held-out loss, on unseen rows, is the fair comparison.)"""
    return (2 * task.digits - 1) * math.log(10) / task.seq_len


def compare(out: str = "runs", progress: bool = True, **settings) -> dict:
    """{label: metrics} of the two runs; settings go to TrainConfig (steps=..., say)."""
    results, pictures = {}, {}
    for label, causal, folder in (("causal mask", True, "sums-causal"),
                                  ("no mask", False, "sums-no-mask")):
        config = TrainConfig(task="sums", causal=causal, out=os.path.join(out, folder),
                             **settings)
        metrics = train(config, progress=progress and f"sums, {label}", overwrite=True)
        history = read_meta(os.path.join(config.out, "checkpoint.npz"))["history"]
        results[label] = metrics
        pictures[label] = (history, metrics["held_out_accuracy"])
    plot_masking(pictures, os.path.join(out, "masking.png"), floor=loss_floor(make_task("sums")))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python examples/causal_masking.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs",
                        help="folder for the two runs and masking.png (default: runs)")
    args = parser.parse_args(argv)
    results = compare(out=args.out)
    for label, metrics in results.items():
        print(f"{label:>12}: final training loss {metrics['final_train_loss']:.4f}, "
              f"held-out loss {metrics['held_out_loss']:.4f}, "
              f"held-out exact match {metrics['held_out_accuracy']:.1%}")
    print(f"floor without seeing ahead: {loss_floor(make_task('sums')):.3f}")
    print(f"wrote {os.path.join(args.out, 'masking.png')}")


if __name__ == "__main__":
    main(sys.argv[1:])
