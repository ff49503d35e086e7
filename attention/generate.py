"""Continue prompts with a trained language model, one greedy token at a time.

    python -m attention.train --task sums           # about 20 s; writes runs/sums/
    python -m attention.generate 12+35= 70+8 4      # -> 12+35=047, 70+08=078, ...

Each prompt is completed to the length of a training row ("ab+cd=efg"). A prompt may stop
anywhere: the model writes the rest, operands included ("4" lets it invent a whole sum).
Complete operands with fewer digits are padded ("7+8=" is read as "07+08="), as in the
training rows. Each finished row is checked and marked right or wrong.
"""

import argparse
import os
import re
import sys

import numpy as np

from attention.language_model import generate
from attention.train import load_run
from minigrad.io import CheckpointError


def load_language_model(run: str):
    """(model, task) from a run folder written by `python -m attention.train --task sums`."""
    model, task, _ = load_run(run)
    if task.model != "CausalLM":
        raise ValueError(f"{os.path.join(run, 'checkpoint.npz')} holds a model of the "
                         f"'{task.name}' task, not a language model: generation needs one "
                         "trained with --task sums")
    return model.eval(), task


def encode(task, prompt: str) -> list:
    """The prompt's token ids. A complete operand (one followed by + or =) with fewer
    digits than the training rows' is zero-padded ("7+8=" is read as "07+08="); a
    character outside the vocabulary, an operand with too many digits, or a prompt longer
    than a whole row is refused by name."""
    digits = task.digits
    text = prompt.strip()
    too_long = [number for number in re.findall(r"\d+", text.split("=")[0])
                if len(number) > digits]
    if too_long:
        raise ValueError(f"prompt {prompt!r}: the model was trained on {digits}-digit "
                         f"operands, not {too_long[0]}")
    padded = re.sub(r"\d+(?=[+=])", lambda m: m.group().zfill(digits), text)
    unknown = sorted(set(padded) - set(task.vocab))
    if unknown:
        raise ValueError(f"prompt {prompt!r}: {''.join(unknown)!r} is not in the vocabulary "
                         f"({' '.join(task.vocab)})")
    if not padded or len(padded) > task.seq_len + 1:
        shown = f" ({padded!r} once padded)" if padded != text else ""
        raise ValueError(f"prompt {prompt!r}{shown}: needs 1 to {task.seq_len + 1} tokens, "
                         f"the length of a whole row such as '12+35=047'")
    return task.encode(padded)


def verdict(text: str) -> str:
    """'right' or 'wrong (a+b is ...)' for a complete sum, '' for anything else."""
    match = re.fullmatch(r"(\d+)\+(\d+)=(\d+)", text)
    if not match:
        return ""
    a, b, total = (int(group) for group in match.groups())
    return "right" if a + b == total else f"wrong ({a}+{b} is {a + b})"


def complete(model, task, prompt: str) -> str:
    ids = np.array([encode(task, prompt)])  # (1, t)
    row = generate(model, ids, task.seq_len + 1 - ids.shape[1])  # (1, T + 1)
    return "".join(task.decode(row[0]))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m attention.generate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("prompts", nargs="+",
                        help='e.g. "12+35=", "7+8=", or "4" to let it invent the rest')
    parser.add_argument("--run", default=os.path.join("runs", "sums"),
                        help="the training run's output folder (default: runs/sums)")
    args = parser.parse_args(argv)
    try:
        model, task = load_language_model(args.run)
        for prompt in args.prompts:
            text = complete(model, task, prompt)
            print(f"{prompt:>10} -> {text}  {verdict(text)}".rstrip())
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
