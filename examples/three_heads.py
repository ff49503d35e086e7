"""Three heads, three relations: what each head of the *relations* task follows.

At the verb of eight shuffled words the model answers three things at once: the word just
before it (found by position), the noun that agrees with it in number (by agreement) and
the word its meaning selects (by meaning). For each of several seeds this trains the
task's default model (three heads), then measures per head:

  - its attention at the verb on each relation's token, and how specialised it is (the
    share of that attention on its main relation: 1 = one relation only, 1/3 = even);
  - the accuracy of each of the three answers with that head removed.

    python examples/three_heads.py [--seeds 0 1 2 3 4 5]
"""

import argparse
import os

import numpy as np

import minigrad as mg
from attention.heads import specialisation, without_heads
from attention.tasks import RELATIONS, make_splits, relation_answers, relation_positions
from attention.train import TrainConfig, load_run, train


def head_masses(model, task, ids) -> np.ndarray:
    """(nh, 3): each head's mean attention at the verb on each relation's token."""
    verb_at, where = relation_positions(task, ids)  # (N,), (N, 3)
    with mg.no_grad():
        model(ids)
    weights = model.attention_maps()[0]  # (N, nh, T, T)
    rows = np.arange(len(ids))
    at_verb = weights[rows, :, verb_at, :]  # (N, nh, T): each head's row at the verb
    return np.stack([at_verb[rows, :, where[:, r]] for r in range(len(RELATIONS))],
                    axis=-1).mean(axis=0)  # (nh, 3)


def answer_accuracy(model, task, ids, targets) -> np.ndarray:
    """(3,): the accuracy of each answer at the verb, in RELATIONS' order."""
    verb_at, _ = relation_positions(task, ids)
    rows = np.arange(len(ids))
    with mg.no_grad():
        predicted = model(ids).data.argmax(axis=-1)[rows, verb_at]
    truth = relation_answers(targets[rows, verb_at])
    return np.array([np.mean(p == t) for p, t in zip(relation_answers(predicted), truth)])


def measure(run_dir) -> dict:
    """A trained relations run's figures: accuracy, masses, specialisation, ablation."""
    model, task, config = load_run(run_dir)
    ids, targets, _ = make_splits(task, config.n_train, config.n_test, config.seed)[1]
    layer = model.blocks[0].attn
    removed = []
    for head in range(layer.n_heads):
        with without_heads(layer, head):
            removed.append(answer_accuracy(model, task, ids, targets))
    masses = head_masses(model, task, ids)
    return dict(accuracy=answer_accuracy(model, task, ids, targets), masses=masses,
                specialisation=specialisation(masses), removed=np.array(removed))


def train_seed(seed: int, root: str = "runs") -> str:
    out = os.path.join(root, f"relations-seed{seed}")
    if not os.path.exists(os.path.join(out, "metrics.json")):
        train(TrainConfig(task="relations", seed=seed, out=out), progress=False, plots=False,
              overwrite=True)
    return out


def report(seed: int, figures: dict) -> str:
    lines = [f"seed {seed}: answers right (position, agreement, meaning) "
             + " ".join(f"{a:.0%}" for a in figures["accuracy"])]
    for head, (masses, share, removed) in enumerate(zip(
            figures["masses"], figures["specialisation"], figures["removed"])):
        main = RELATIONS[int(masses.argmax())]
        lines.append(f"  head {head}: follows {main:<9} (specialisation {share:.2f}); "
                     "removed, answers right: " + " ".join(f"{a:4.0%}" for a in removed))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--root", default="runs", help="where the runs are kept")
    args = parser.parse_args()
    for seed in args.seeds:
        print(report(seed, measure(train_seed(seed, args.root))))


if __name__ == "__main__":
    main()
