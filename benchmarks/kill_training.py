"""Kill training at random moments, many times, and check what each kill left behind.

Each trial starts `python -m attention.train` on the pair task with a checkpoint every
SAVE_EVERY steps, waits a random time, and sends one of SIGINT (Ctrl-C), SIGTERM (`kill`),
SIGHUP (a closed terminal) or SIGKILL (`kill -9`, which cannot be caught). Some trials send
a second SIGINT right after the first, to land in the save that the first one starts. The
child prints each step as it completes, so the test knows how far it got. Then:

  - the newest checkpoint must load (whole, every member matching its manifest);
  - after a signal that can be caught, it holds the last step printed (or the one running
    when the signal came); after SIGKILL it is at most SAVE_EVERY steps older;
  - no signal ever leaves a traceback on stderr.

    python benchmarks/kill_training.py [--trials 40]

prints a table by signal. tests/test_stopping.py runs a few trials (under `slow`).
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict

SAVE_EVERY = 3
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGKILL", "SIGINT twice")

# The child: the training command, printing each step as it completes.
CHILD = """
import sys
import attention.train as train

step = train._train_step

def printed(config, model, optimizer, sampler, history, train_set, i):
    step(config, model, optimizer, sampler, history, train_set, i)
    print(i + 1, flush=True)

train._train_step = printed
train.main(sys.argv[1:])
"""


def trial(kind: str, folder: str, rng: random.Random) -> dict:
    """One run killed by `kind` after a random time; what it left, checked."""
    out = os.path.join(folder, "run")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, "--task", "pair", "--steps", "100000", "--save-every",
         str(SAVE_EVERY), "--out", out, "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed = []
    reader = threading.Thread(target=lambda: printed.extend(
        int(line) for line in child.stdout if line.strip().isdigit()), daemon=True)
    reader.start()
    while not printed and child.poll() is None:  # started training: imports are done
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.6))
    last = printed[-1] if printed else 0
    name = kind.split()[0]
    child.send_signal(getattr(signal, name))
    if kind == "SIGINT twice":
        time.sleep(rng.uniform(0.0, 0.01))
        child.send_signal(signal.SIGINT)
    err = child.stderr.read()  # to the end: the child has exited (stdout is the reader's)
    child.wait(timeout=60)
    reader.join(timeout=5)
    return dict(kind=kind, last=last, code=child.returncode, err=err,
                problem=_problem(kind, out, last, printed, err),
                waited="please wait" in err)


def _problem(kind: str, out: str, last: int, printed: list, err: str) -> str:
    """What is wrong with what the kill left behind, or ""."""
    import numpy as np

    from attention.settings import TrainConfig
    from attention.tasks import make_task
    from attention.train import build_model
    from minigrad.io import CheckpointError, load_checkpoint

    if "Traceback" in err:
        return "a traceback: " + err.strip().splitlines()[-1]
    path = os.path.join(out, "checkpoint.npz")
    if not os.path.exists(path):
        return "" if kind == "SIGKILL" and last < SAVE_EVERY else "no checkpoint"
    config = TrainConfig(task="pair").resolved()
    try:
        meta = load_checkpoint(path, build_model(config, make_task("pair")))
    except CheckpointError as error:
        return f"the checkpoint does not load: {error}"
    step = meta["step"]
    reached = printed[-1] if printed else 0  # the child's last word, after the signal
    if kind == "SIGKILL":
        return "" if step >= last - SAVE_EVERY else f"step {step}, {last} done when killed"
    if not last <= step <= reached:
        return f"step {step}, but {last} were done when the signal came and {reached} at the end"
    if len(meta["history"]["train_loss"]) != step or not np.isfinite(step):
        return "its history disagrees with its step"
    return ""


def run(trials: int, seed: int = 0) -> dict:
    """{kind: [trial results]}, trials spread evenly over SIGNALS."""
    rng = random.Random(seed)
    results = defaultdict(list)
    for i in range(trials):
        kind = SIGNALS[i % len(SIGNALS)]
        with tempfile.TemporaryDirectory() as folder:
            results[kind].append(trial(kind, folder, rng))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = run(args.trials, args.seed)
    print(f"{'signal':<14}{'trials':>7}{'during a save':>15}{'loaded':>8}{'problems':>10}")
    for kind in SIGNALS:
        rows = results[kind]
        problems = [r["problem"] for r in rows if r["problem"]]
        print(f"{kind:<14}{len(rows):>7}{sum(r['waited'] for r in rows):>15}"
              f"{len(rows) - len(problems):>8}{len(problems):>10}")
        for problem in problems:
            print("   ", problem)


if __name__ == "__main__":
    main()
