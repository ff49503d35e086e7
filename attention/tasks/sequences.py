"""The sequence tasks: digits and symbols whose answers sit at a place, or behind a mark.

  reverse    position i answers with position T-1-i: positions are needed
  previous   each position answers with the token before it (not symmetric)
  far        a "?" answers with a starred digit 1 to T-1 tokens back (attention vs an RNN)
  cycle      rock, paper, scissors: each answers with the digit of the one it beats
  pair       each answer combines the previous digit and the starred one: two heads
  lookup     queries fetch values from a memory of key=value pairs: cross-attention
"""

import numpy as np

from attention.tasks.task import Task, digit_tokens, one_layer


def _reverse(task, rng, n):
    ids = rng.integers(0, len(task.vocab), size=(n, task.seq_len))
    return ids, ids[:, ::-1].copy(), np.ones(ids.shape, dtype=bool)


def _reverse_task():
    return Task("reverse", "output position i copies input position T-1-i", digit_tokens(16),
                digit_tokens(16), 8, one_layer("learned", 500), make_rows=_reverse)


def order_blind_accuracy(data) -> float:
    """The best accuracy on *reverse* of any guess that cannot see positions.

    Without positions, position i knows only its own token and the multiset of all tokens.
    Its target is one of the *other* tokens, so the best guess is the token that occurs
    most often among them (a tie broken at random). No model without positional
    information can beat this on average."""
    ids, targets, mask = data
    hits = 0
    for row, target in zip(ids, targets):
        counts = np.bincount(row, minlength=row.max() + 1)
        for token, answer in zip(row, target):
            others = counts.copy()
            others[token] -= 1
            best = others == others.max()
            hits += best[answer] / best.sum()  # a tie is broken at random
    return float(hits / mask.sum())


def _previous(task, rng, n):
    ids = rng.integers(0, len(task.vocab), size=(n, task.seq_len))
    targets = np.concatenate([ids[:, :1], ids[:, :-1]], axis=1)  # position t: token t - 1
    mask = np.ones(ids.shape, dtype=bool)
    mask[:, 0] = False  # position 0 has no previous token
    return ids, targets, mask


def _previous_task():
    return Task("previous", "each position answers with the token before it (not symmetric)",
                digit_tokens(16), digit_tokens(16), 8, one_layer("learned", 300),
                make_rows=_previous)


def _far(task, rng, n):
    T, K = task.seq_len, 10
    ids = rng.integers(0, K, size=(n, T))
    starred = rng.integers(0, T - 1, size=n)  # anywhere but the end: 1 to T - 1 back
    rows = np.arange(n)
    digit = ids[rows, starred].copy()
    ids[rows, starred] += K  # the starred digit d is the token "d*", id K + d
    ids[:, -1] = 2 * K  # "?"
    targets = np.zeros((n, T), dtype=np.int64)
    targets[:, -1] = digit
    mask = np.zeros((n, T), dtype=bool)
    mask[:, -1] = True
    return ids.astype(np.int64), targets, mask


def _far_task():
    return Task("far", "at the '?', the starred digit from 1 to 23 tokens back (try --model "
                "rnn)", digit_tokens(10) + [f"{d}*" for d in range(10)] + ["?"],
                digit_tokens(10), 24, one_layer("none", 600), make_rows=_far)


def distance_to_star(ids) -> np.ndarray:
    """For *far* rows: how many tokens back from the "?" the starred digit is."""
    return ids.shape[1] - 1 - (ids >= 10).argmax(axis=1)


SHAPES = ("rock", "paper", "scissors")  # each beats the next but one: rock beats scissors


def _cycle(task, rng, n):
    T, digits = task.seq_len, task.digits
    fillers = len(SHAPES) * digits  # filler token ids come after the shapes'
    ids = fillers + rng.integers(0, len(task.vocab) - fillers, size=(n, T))
    targets = np.zeros((n, T), dtype=np.int64)
    mask = np.zeros((n, T), dtype=bool)
    for row in range(n):
        where = rng.choice(T, size=len(SHAPES), replace=False)  # a slot for each shape
        values = rng.integers(0, digits, size=len(SHAPES))
        for shape, slot in enumerate(where):
            ids[row, slot] = shape * digits + values[shape]
            beaten = (shape + 2) % len(SHAPES)  # rock -> scissors, paper -> rock, ...
            targets[row, slot] = values[beaten]
            mask[row, slot] = True
    return ids.astype(np.int64), targets, mask


def _cycle_task(digits=4):
    return Task("cycle", "rock, paper, scissors: each answers with the digit of the one it "
                "beats (a cycle)",
                [f"{shape}{d}" for shape in SHAPES for d in range(digits)]
                + ["the", "a", "and", "then"], digit_tokens(digits), 8, one_layer("none", 300),
                digits=digits, make_rows=_cycle)


def _pair(task, rng, n):
    T, K = task.seq_len, task.digits
    digits = rng.integers(0, K, size=(n, T))
    marked_at = rng.integers(0, T, size=n)
    rows = np.arange(n)
    ids = digits.copy()
    ids[rows, marked_at] += K  # the marked digit d is the token "d*", id K + d
    marked = digits[rows, marked_at][:, None]  # (n, 1)
    previous = np.concatenate([np.zeros((n, 1), dtype=digits.dtype), digits[:, :-1]], axis=1)
    targets = previous * K + marked  # class "prev,marked", one of K * K
    mask = np.ones((n, T), dtype=bool)
    mask[:, 0] = False  # position 0 has no previous token
    return ids.astype(np.int64), targets.astype(np.int64), mask


def _pair_task(K=8):
    return Task("pair", "each answer is (previous digit, the starred digit)",
                digit_tokens(K) + [f"{d}*" for d in range(K)],
                [f"{a},{b}" for a in range(K) for b in range(K)], 8,
                one_layer("learned", 1000, n_heads=2, d_model=8), digits=K, make_rows=_pair)


KEYS = "abcdefgh"


def _lookup(task, rng, n):
    S, T, V = task.memory, task.seq_len - task.memory, 10
    vocab = {word: i for i, word in enumerate(task.vocab)}
    ids = np.zeros((n, S + T), dtype=np.int64)
    targets = np.zeros((n, S + T), dtype=np.int64)
    for row in range(n):
        keys = rng.choice(len(KEYS), size=S, replace=False)  # S distinct keys, any order
        values = rng.integers(0, V, size=S)
        asked = rng.integers(0, S, size=T)  # which memory slot each query names
        ids[row, :S] = [vocab[f"{KEYS[k]}={v}"] for k, v in zip(keys, values)]
        ids[row, S:] = [vocab[f"{KEYS[keys[a]]}?"] for a in asked]
        targets[row, S:] = values[asked]
    mask = np.zeros((n, S + T), dtype=bool)
    mask[:, S:] = True  # only the queries are scored
    return ids, targets, mask


def _lookup_task():
    return Task("lookup", "each query fetches its key's value from a memory (cross-attention)",
                [f"{k}={v}" for k in KEYS for v in range(10)] + [f"{k}?" for k in KEYS],
                digit_tokens(10), 12, one_layer("none", 500), model="CrossAttentionModel",
                memory=6, make_rows=_lookup)
