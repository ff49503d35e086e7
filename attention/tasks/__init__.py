"""Toy tasks: seeded data generators, each with a held-out split no training sequence is in.

Every task yields token ids (N, T), targets (N, T) and a boolean mask (N, T) of the positions
that are scored. Each is small enough to train in seconds on a laptop CPU, and each needs
attention for a different reason:

  context   the lecture notes' "bank" example: one ambiguous word whose sense is decided by
            a context word elsewhere in the row ("near the bank and we saw the fish").
            Found by content; no positions needed.
  reverse   output position i is input position T-1-i. Content alone cannot say which token
            is where, so without positional information this stays near chance.
  pair      every position's answer combines two tokens found in different ways: the
            previous token (by position) and the one marked token (by content). Two heads
            can split the work; one head of the same width has to blur them together.
  lookup    cross-attention: a memory of key=value pairs and a few queries that each name
            a key; a query's answer is that key's value, which only the memory holds. The
            queries attend to the memory (queries from one sequence, keys and values from
            another), as a decoder attends to its encoder. A row holds the memory first,
            then the queries; only the queries are scored.
  svo       "the old cat quickly chased a small mouse": at the verb, say who did what to
            whom (subject and object). The lecture's "the cat sat on the mat": the verb
            gathers its subject and its object, which sit at different places in each
            sentence (optional adjectives and adverbs move them), and little from "the".
  far       one starred digit somewhere in a row, and a "?" at its end that must answer
            with it, from 1 to T - 1 tokens back. Attention finds the star by content in
            one step at any distance; a recurrent network must carry the digit through
            every step between (attention/rnn.py, --model rnn).
  previous  each position answers with the token before it: a relation that is not
            symmetric (i looks at i - 1, not i - 1 at i), found by position. Separate query
            and key matrices learn it; with the query's matrix reused for keys (share=qk)
            every score is symmetric and the model cannot.
  cycle     rock, paper and scissors in each row, each holding a digit; each answers with
            the digit of the one it beats. A relation in a cycle (rock -> scissors ->
            paper -> rock) that no symmetric score can follow: with one matrix for queries
            and keys, score(rock, scissors) = score(scissors, rock), and the three
            preferences contradict each other.
  relations at the verb of eight shuffled words, three answers found three ways: the
            word just before it (by position), the noun that agrees with it in number
            ("cat eats", "dogs eat"; by agreement) and the word its meaning selects (food
            for "eats", a place for "sleeps"; by meaning). Three heads can take one each.
  sums      a language-modelling task: rows such as "12+35=047", and a causal model that
            learns to predict every next token. Given "12+35=", it must generate "047"
            one digit at a time. The targets are the inputs shifted by one, and every
            position is scored; the held-out score is the exact match of the answers."""

import numpy as np

from attention.tasks.sentences import (
    DETERMINERS,
    LINKS,
    MEANINGS,
    MONEY,
    NOUNS,
    RELATIONS,
    RIVER,
    SUBJECTS,
    _context_task,
    _relations_task,
    _svo_task,
    relation_answers,
    relation_positions,
)
from attention.tasks.sequences import (
    _cycle_task,
    _far_task,
    _lookup_task,
    _pair_task,
    _previous_task,
    _reverse_task,
    distance_to_star,
    order_blind_accuracy,
)
from attention.tasks.sums import _sums_task
from attention.tasks.task import Settings, Task

BUILDERS = {"context": _context_task, "reverse": _reverse_task, "svo": _svo_task,
            "previous": _previous_task, "cycle": _cycle_task, "far": _far_task,
            "pair": _pair_task, "relations": _relations_task, "lookup": _lookup_task,
            "sums": _sums_task}
TASKS = tuple(BUILDERS)


def make_task(name: str) -> Task:
    if name not in BUILDERS:
        raise ValueError(f"make_task: unknown task {name!r}; choose one of {sorted(BUILDERS)}")
    return BUILDERS[name]()


def make_splits(task: Task, n_train: int, n_test: int, seed: int):
    """Train and held-out sets from one seed; held-out sequences never occur in training."""
    rng = np.random.default_rng(seed)
    train = task.generate(rng, n_train)
    seen = {row.tobytes() for row in train[0]}
    test_parts, have, fruitless = [], 0, 0
    while have < n_test:
        ids, targets, mask = task.generate(rng, n_test)
        fresh = np.array([row.tobytes() not in seen for row in ids])
        test_parts.append((ids[fresh], targets[fresh], mask[fresh]))
        have += int(fresh.sum())
        fruitless = 0 if fresh.any() else fruitless + 1
        if fruitless == 20:  # the training set holds (nearly) every row the task can make
            raise ValueError(f"make_splits: the {task.name} task has too few distinct rows "
                             f"for n_train={n_train}: no unseen row is left to hold out; "
                             "use a smaller n_train")
    test = tuple(np.concatenate(parts)[:n_test] for parts in zip(*test_parts))
    return train, test


__all__ = ["DETERMINERS", "LINKS", "MEANINGS", "MONEY", "NOUNS", "RELATIONS", "RIVER",
           "SUBJECTS", "TASKS", "Settings", "Task", "distance_to_star", "make_splits",
           "make_task", "order_blind_accuracy", "relation_answers", "relation_positions"]
