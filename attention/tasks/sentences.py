"""The word tasks: sentences whose answers need attention to find the right words.

  context    "bank": its sense decided by a river or a money word elsewhere in the row
  svo        at the verb, who did what to whom (its subject and its object)
  relations  at the verb, three answers found three ways: position, agreement, meaning
"""

import numpy as np

from attention.tasks.task import Task, one_layer

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


def _context_task():
    return Task("context", "the sense of 'bank' is decided by a context word elsewhere",
                FILLERS + ["bank"] + RIVER + MONEY, ["river bank", "money bank"], 8,
                one_layer("none", 150, residual=True), make_rows=_context)


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


def _svo_task():
    return Task("svo", "at the verb, who did what to whom: its subject and its object",
                NOUNS + VERBS + DETERMINERS + ADJECTIVES + ADVERBS + ["."],
                [f"{s} -> {o}" for s in NOUNS for o in NOUNS], 9,
                one_layer("learned", 400, residual=True, n_heads=2), pad=".",
                make_rows=_svo)


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


def _relations_task():
    verbs = list(MEANINGS) + list(PLURAL_VERB.values())
    objects = [word for words in MEANINGS.values() for word in words]
    nouns = [form for forms in SUBJECTS for form in forms]
    return Task("relations", "at the verb: the noun agreeing with it, the word its meaning "
                "selects, the word before it", nouns + verbs + objects + LINKS,
                [f"{'/'.join(s)} {o} {link}" for s in SUBJECTS for o in objects for link in LINKS],
                8, one_layer("learned", 800, residual=True, n_heads=3, d_model=24),
                make_rows=_relations)


RELATIONS = ("position", "agreement", "meaning")


def relation_answers(targets) -> tuple:
    """A relations target (or prediction) split into its three answers, in RELATIONS'
    order: (the filler before the verb, the agreeing noun, the selected word), as indices
    into LINKS, SUBJECTS and the objects (MEANINGS' words in order)."""
    targets = np.asarray(targets)
    n_objects = sum(len(words) for words in MEANINGS.values())
    rest, link = np.divmod(targets, len(LINKS))
    noun, obj = np.divmod(rest, n_objects)
    return link, noun, obj


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
