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
            position is scored; the held-out score is the exact match of the answers.
"""

from dataclasses import dataclass

import numpy as np

RIVER = ["river", "water", "fish", "boat", "shore", "mud"]
MONEY = ["money", "cash", "teller", "coins", "vault", "clerk"]
# The context task's rows are short clauses in a row. One says "bank" and nothing of which
# bank; one names a river or a money word ("C"); the rest say nothing of either. Clauses
# of every length from 1 to 4 fill a row of any length exactly.
BANK_CLAUSES = [["the", "bank", "was", "old"], ["we", "saw", "the", "bank"],
                ["by", "the", "bank"], ["near", "the", "bank"], ["the", "bank", "is", "new"],
                ["at", "the", "bank"]]
CONTEXT_CLAUSES = [["we", "saw", "the", "C"], ["near", "the", "C"], ["the", "C", "was", "big"],
                   ["by", "the", "C"], ["the", "C", "is", "near"], ["with", "the", "C"]]
NEUTRAL_CLAUSES = [["then"], ["and"], ["it", "was", "new"], ["we", "sat"], ["it", "is", "big"],
                   ["we", "saw", "it"], ["the", "day", "was", "new"]]
FILLERS = sorted({w for clause in BANK_CLAUSES + CONTEXT_CLAUSES + NEUTRAL_CLAUSES
                  for w in clause} - {"bank", "C"})


@dataclass(frozen=True)
class Settings:
    """The model and training settings that train a task in seconds: what a TrainConfig
    field left at None becomes for that task."""

    steps: int
    positional: str = "none"  # "none", "sinusoidal" or "learned"
    residual: bool = False
    d_model: int = 32
    n_heads: int = 1
    n_layers: int = 1
    ffn_hidden: int = 0  # 0: no feed-forward layer
    dropout: float = 0.0
    causal: bool = False  # the language model's causal mask
    lr: float = 0.01
    batch_size: int = 64
    eval_every: int | None = None  # None: about 30 evaluations per run


@dataclass(frozen=True)
class Task:
    """A toy task: its tokens, its answers, its row length, and what it trains with."""

    name: str
    description: str  # one sentence, for --help
    vocab: list  # token strings, indexed by id
    classes: list  # answer names, indexed by target
    seq_len: int
    settings: Settings
    # "AttentionModel" (self-attention over the row), "CrossAttentionModel" (a memory, then
    # queries that look it up) or "CausalLM" (a language model predicting every next token).
    model: str = "AttentionModel"
    digits: int | None = None  # cycle and pair: values per token; sums: digits per operand
    memory: int | None = None  # lookup: the first `memory` tokens of a row are the memory
    pad: str | None = None  # svo: the token shorter rows are padded with (masked)
    prompt_len: int | None = None  # sums: the tokens of "ab+cd=", the prompt to complete

    def generate(self, rng: np.random.Generator, n: int):
        """(ids (n, T) int64, targets (n, T) int64, mask (n, T) bool)."""
        return GENERATORS[self.name](self, rng, n)

    def decode(self, ids) -> list:
        return [self.vocab[i] for i in ids]

    def encode(self, tokens) -> list:
        """Token ids of a sequence of tokens (a string, when every token is one character)."""
        return [self.vocab.index(token) for token in tokens]


def _context(task, rng, n):
    """Rows such as "by the bank and we saw the fish": a clause with "bank", a clause with a
    river or money word, in either order, and clauses that say nothing of either to make
    up the length. The target at "bank" is its sense, decided by the context word alone."""
    T = task.seq_len
    vocab = {word: i for i, word in enumerate(task.vocab)}
    ids = np.zeros((n, T), dtype=np.int64)
    targets = np.zeros((n, T), dtype=np.int64)
    mask = np.zeros((n, T), dtype=bool)
    for row in range(n):
        sense = rng.integers(2)  # 0: river bank, 1: money bank
        word = rng.choice(RIVER if sense == 0 else MONEY)
        bank = BANK_CLAUSES[rng.integers(len(BANK_CLAUSES))]
        context = [word if w == "C" else w for w in CONTEXT_CLAUSES[rng.integers(len(
            CONTEXT_CLAUSES))]]
        clauses = [bank, context] if rng.random() < 0.5 else [context, bank]
        room = T - len(bank) - len(context)
        if room < 0:
            raise ValueError(f"context rows need at least 8 tokens, not {T}")
        while room:  # neutral clauses, each put at a random boundary between clauses
            fits = [c for c in NEUTRAL_CLAUSES if len(c) <= room]
            clause = fits[rng.integers(len(fits))]
            clauses.insert(rng.integers(len(clauses) + 1), clause)
            room -= len(clause)
        words = [w for clause in clauses for w in clause]
        ids[row] = [vocab[w] for w in words]
        targets[row, words.index("bank")] = sense
        mask[row, words.index("bank")] = True  # only the ambiguous word is scored
    return ids, targets, mask


def _reverse(task, rng, n):
    ids = rng.integers(0, len(task.vocab), size=(n, task.seq_len))
    return ids, ids[:, ::-1].copy(), np.ones(ids.shape, dtype=bool)


def _previous(task, rng, n):
    ids = rng.integers(0, len(task.vocab), size=(n, task.seq_len))
    targets = np.concatenate([ids[:, :1], ids[:, :-1]], axis=1)  # position t: token t - 1
    mask = np.ones(ids.shape, dtype=bool)
    mask[:, 0] = False  # position 0 has no previous token
    return ids, targets, mask


NOUNS = ["cat", "dog", "mouse", "bird", "fox", "hen"]
VERBS = ["chased", "saw", "bit", "liked"]
DETERMINERS, ADJECTIVES, ADVERBS = ["the", "a"], ["old", "small", "big", "red"], \
    ["quickly", "then", "never"]


def _svo(task, rng, n):
    """Sentences [det] [adj] SUBJECT [adv] VERB [det] [adj] OBJECT, padded with "." to
    length T (the model's key_padding_mask keeps every position from attending to the
    padding); the verb's target is the (subject, object) pair, the one scored position."""
    T, vocab = task.seq_len, {word: i for i, word in enumerate(task.vocab)}
    ids = np.full((n, T), vocab["."], dtype=np.int64)
    targets = np.zeros((n, T), dtype=np.int64)
    mask = np.zeros((n, T), dtype=bool)
    for row in range(n):
        subject, obj = rng.choice(len(NOUNS), size=2, replace=False)
        words = [rng.choice(DETERMINERS)] + ([rng.choice(ADJECTIVES)] if rng.random() < 0.5
                                             else []) + [NOUNS[subject]]
        words += [rng.choice(ADVERBS)] if rng.random() < 0.5 else []
        verb_at = len(words)
        words += [rng.choice(VERBS), rng.choice(DETERMINERS)]
        words += ([rng.choice(ADJECTIVES)] if rng.random() < 0.5 else []) + [NOUNS[obj]]
        ids[row, :len(words)] = [vocab[w] for w in words]
        targets[row, verb_at] = subject * len(NOUNS) + obj
        mask[row, verb_at] = True
    return ids, targets, mask


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


def distance_to_star(ids) -> np.ndarray:
    """For *far* rows: how many tokens back from the "?" the starred digit is."""
    return ids.shape[1] - 1 - (ids >= 10).argmax(axis=1)


# The relations task: at the verb, three answers, each found by a relation of its own.
SUBJECTS = [("cat", "cats"), ("dog", "dogs"), ("fox", "foxes")]  # (singular, plural)
MEANINGS = {"eats": ["fish", "seeds", "bread"], "sleeps": ["barn", "den", "nest"]}
PLURAL_VERB = {"eats": "eat", "sleeps": "sleep"}
LINKS = ["then", "now", "so", "still"]  # fillers; the one just before the verb is an answer


def _relations(task, rng, n):
    """Eight words in random order: a singular and a plural noun, a food and a place, a verb
    and three fillers, one of them just before the verb. At the verb, the answer is
    (the noun that agrees with it in number, the word its meaning selects, the filler
    before it): found by agreement, by meaning and by position."""
    T, vocab = task.seq_len, {word: i for i, word in enumerate(task.vocab)}
    targets = np.zeros((n, T), dtype=np.int64)
    mask = np.zeros((n, T), dtype=bool)
    ids = np.zeros((n, T), dtype=np.int64)
    objects = [word for words in MEANINGS.values() for word in words]
    for row in range(n):
        singular, plural = rng.choice(len(SUBJECTS), size=2, replace=False)
        food, place = rng.choice(MEANINGS["eats"]), rng.choice(MEANINGS["sleeps"])
        verb = rng.choice(list(MEANINGS))
        agrees = singular if rng.random() < 0.5 else plural
        said = verb if agrees == singular else PLURAL_VERB[verb]
        verb_at = rng.integers(1, T)  # the verb is never first: a filler comes before it
        others = [SUBJECTS[singular][0], SUBJECTS[plural][1], food, place]
        free = [i for i in range(T) if i not in (verb_at, verb_at - 1)]
        slots = rng.permutation(free)
        words = list(rng.choice(LINKS, size=T))
        words[verb_at] = said
        for slot, word in zip(slots, others):
            words[slot] = word
        ids[row] = [vocab[w] for w in words]
        meant = food if verb == "eats" else place
        targets[row, verb_at] = (agrees * len(objects) + objects.index(meant)) * len(LINKS) \
            + LINKS.index(words[verb_at - 1])
        mask[row, verb_at] = True
    return ids, targets, mask


def relation_answers(targets) -> tuple:
    """A relations target (or prediction) split into its three answers, in RELATIONS'
    order: (the filler before the verb, the agreeing noun, the selected word), as indices
    into LINKS, SUBJECTS and the objects (MEANINGS' words in order)."""
    targets = np.asarray(targets)
    n_objects = sum(len(words) for words in MEANINGS.values())
    rest, link = np.divmod(targets, len(LINKS))
    noun, obj = np.divmod(rest, n_objects)
    return link, noun, obj


RELATIONS = ("position", "agreement", "meaning")


def relation_positions(task, ids) -> tuple:
    """For relations rows (N, T): the verb's position (N,) and, per row, where each
    relation's token is (N, 3): the word before the verb, the noun that agrees with it,
    the word its meaning selects (in RELATIONS' order)."""
    ids = np.asarray(ids)
    words = [task.decode(row) for row in ids]
    verbs = list(MEANINGS) + list(PLURAL_VERB.values())
    verb_at = np.array([next(i for i, w in enumerate(row) if w in verbs) for row in words])
    found = []
    for row, at in zip(words, verb_at):
        plural = row[at] in PLURAL_VERB.values()
        kind = row[at] if not plural else {v: k for k, v in PLURAL_VERB.items()}[row[at]]
        noun = next(i for i, w in enumerate(row) if any(w == forms[plural] for forms in SUBJECTS))
        meant = next(i for i, w in enumerate(row) if w in MEANINGS[kind])
        found.append((at - 1, noun, meant))
    return verb_at, np.array(found)


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


def _sums(task, rng, n):
    """Rows "ab+cd=efg" as token ids: inputs are the row without its last token, targets
    the row without its first (the next token at every position)."""
    digits = task.digits
    a = rng.integers(0, 10 ** digits, size=n)
    b = rng.integers(0, 10 ** digits, size=n)
    rows = np.array([_sum_tokens(task, x, y, x + y) for x, y in zip(a, b)])  # (n, T + 1)
    # A language model learns every next token, so every position is scored (the operands'
    # digits are random: no model can predict them, which puts a floor under the loss).
    return rows[:, :-1], rows[:, 1:], np.ones((n, task.seq_len), dtype=bool)


def _sum_tokens(task, a, b, total) -> list:
    digits = task.digits
    return task.encode(f"{a:0{digits}d}+{b:0{digits}d}={total:0{digits + 1}d}")


GENERATORS = {"context": _context, "reverse": _reverse, "svo": _svo, "previous": _previous,
              "cycle": _cycle, "far": _far, "pair": _pair,
              "relations": _relations, "lookup": _lookup, "sums": _sums}
TASKS = tuple(GENERATORS)


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


def _one_layer(positional: str, steps: int, residual: bool = False, n_heads: int = 1,
               d_model: int = 32) -> Settings:
    """The settings that train a one-block attention classifier on a task in seconds."""
    return Settings(steps=steps, positional=positional, residual=residual, n_heads=n_heads,
                    d_model=d_model)


def _digits(n: int) -> list:
    return [str(d) for d in range(n)]


# Each task: its name and description, vocabulary, classes, row length, settings.

def _context_task():
    return Task("context", "the sense of 'bank' is decided by a context word elsewhere",
                FILLERS + ["bank"] + RIVER + MONEY, ["river bank", "money bank"], 8,
                _one_layer("none", 150, residual=True))


def _reverse_task():
    return Task("reverse", "output position i copies input position T-1-i", _digits(16),
                _digits(16), 8, _one_layer("learned", 500))


def _svo_task():
    return Task("svo", "at the verb, who did what to whom: its subject and its object",
                NOUNS + VERBS + DETERMINERS + ADJECTIVES + ADVERBS + ["."],
                [f"{s} -> {o}" for s in NOUNS for o in NOUNS], 9,
                _one_layer("learned", 400, residual=True, n_heads=2), pad=".")


def _previous_task():
    return Task("previous", "each position answers with the token before it (not symmetric)",
                _digits(16), _digits(16), 8, _one_layer("learned", 300))


def _cycle_task(digits=4):
    return Task("cycle", "rock, paper, scissors: each answers with the digit of the one it "
                "beats (a cycle)",
                [f"{shape}{d}" for shape in SHAPES for d in range(digits)]
                + ["the", "a", "and", "then"], _digits(digits), 8, _one_layer("none", 300),
                digits=digits)


def _far_task():
    return Task("far", "at the '?', the starred digit from 1 to 23 tokens back (try --model "
                "rnn)", _digits(10) + [f"{d}*" for d in range(10)] + ["?"], _digits(10), 24,
                _one_layer("none", 600))


def _pair_task(K=8):
    return Task("pair", "each answer is (previous digit, the starred digit)",
                _digits(K) + [f"{d}*" for d in range(K)],
                [f"{a},{b}" for a in range(K) for b in range(K)], 8,
                _one_layer("learned", 1000, n_heads=2, d_model=8), digits=K)


def _lookup_task():
    return Task("lookup", "each query fetches its key's value from a memory (cross-attention)",
                [f"{k}={v}" for k in KEYS for v in range(10)] + [f"{k}?" for k in KEYS],
                _digits(10), 12, _one_layer("none", 500), model="CrossAttentionModel",
                memory=6)


def _relations_task():
    verbs = list(MEANINGS) + list(PLURAL_VERB.values())
    objects = [word for words in MEANINGS.values() for word in words]
    nouns = [form for forms in SUBJECTS for form in forms]
    return Task("relations", "at the verb: the noun agreeing with it, the word its meaning "
                "selects, the word before it", nouns + verbs + objects + LINKS,
                [f"{'/'.join(s)} {o} {link}" for s in SUBJECTS for o in objects for link in LINKS],
                8, _one_layer("learned", 800, residual=True, n_heads=3, d_model=24))


def _sums_task(digits=2):
    symbols = _digits(10) + ["+", "="]
    return Task("sums", "a causal language model: complete 'ab+cd=' with the sum's digits",
                symbols, symbols, 3 * digits + 2,  # "ab+cd=efg" less its last token
                Settings(steps=800, causal=True, d_model=64, n_heads=4, n_layers=2,
                         ffn_hidden=128, dropout=0.1, lr=0.005, eval_every=100),
                model="CausalLM", digits=digits, prompt_len=2 * digits + 2)


BUILDERS = {"context": _context_task, "reverse": _reverse_task, "svo": _svo_task,
            "previous": _previous_task, "cycle": _cycle_task, "far": _far_task,
            "pair": _pair_task, "relations": _relations_task, "lookup": _lookup_task,
            "sums": _sums_task}


def make_task(name: str) -> Task:
    if name not in BUILDERS:
        raise ValueError(f"make_task: unknown task {name!r}; choose one of {sorted(GENERATORS)}")
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
