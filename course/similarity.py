"""Pairs of submissions whose answers are unusually alike.

Only the lines between TASK markers are compared: the handout's stubs and code are the
same for everyone. Each submission's answers are fingerprinted with copydetect (Pygments
tokens with every name replaced by one letter, so renaming changes nothing; hashes of
k-grams of tokens, winnowed, so moving lines around keeps most of them). Two kinds of
fingerprints say nothing about copying and are dropped before comparing: those of the
handout's own stubs, and those that many submissions share (a task that admits one
natural line gets it from many students independently). A pair is listed when the share
of one submission's remaining fingerprinted code found in the other is at least
`threshold` and the shared code is longer than `min_shared` tokens.
"""

import hashlib
import io
from dataclasses import dataclass, field
from itertools import combinations

NOISE = 20  # k: shared runs shorter than this many tokens are never counted
GUARANTEE = 25  # any shared run this long is always found (window = GUARANTEE - NOISE + 1)
THRESHOLD = 0.55
MIN_SHARED = 120  # tokens: below this, two answers are too short to tell copying apart
# A fingerprint in more submissions than this is common code, not a sign of copying (as
# MOSS ignores a passage found in more than 10 programs); in a small class, in more than
# half of them.
COMMON = 10


@dataclass
class Pair:
    first: str
    second: str
    similarity: float  # the larger of the two shares
    shares: tuple  # (share of first's code found in second, and the reverse)
    shared_tokens: int
    regions: list = field(default_factory=list)  # [(region, first's answer, second's)]


def document(answers: dict) -> tuple:
    """One text of a submission's answers ({(task, what): body}), in a fixed order, and
    where each answer lies in it: [((task, what), start, end)]."""
    text, spans = "", []
    for key, body in sorted(answers.items()):
        text += f"# {key[0]}: {key[1]}\n"
        start = len(text)
        text += body.strip("\n") + "\n"
        spans.append((key, start, len(text)))
    return text, spans


def _fingerprint(text: str, boilerplate):
    from unittest import mock

    import copydetect.utils
    from copydetect import CodeFingerprint

    # copydetect hashes k-grams with Python's hash(), which differs from one run to the
    # next: the same class would list different pairs each time. A stable hash instead.
    with mock.patch.object(copydetect.utils, "hashed_kgrams", _stable_kgrams):
        return CodeFingerprint("answers.py", NOISE, GUARANTEE - NOISE + 1,
                               boilerplate=boilerplate, fp=io.StringIO(text))


def _stable_kgrams(string: str, k: int):
    import numpy as np

    return np.array([int.from_bytes(hashlib.blake2b(string[i:i + k].encode(),
                                                    digest_size=8).digest(), "little",
                                    signed=True)
                     for i in range(len(string) - k + 1)], dtype=np.int64)


def _hashes(fingerprint):
    import numpy as np

    return np.array(sorted(fingerprint.hashes), dtype=np.int64)


def similar_pairs(answers: dict, stubs: str, threshold: float = THRESHOLD,
                  min_shared: int = MIN_SHARED) -> tuple:
    """(pairs above the threshold, most alike first; every pair's similarity as
    {(first, second): similarity}) for `answers` {submission: {(task, what): body}};
    `stubs` is the handout's text of the same regions."""
    import numpy as np
    from copydetect import compare_files

    keys = sorted(k for k in answers if answers[k])
    texts, spans = {}, {}
    for k in keys:
        texts[k], spans[k] = document(answers[k])
    boilerplate = _hashes(_fingerprint(stubs, []))
    first = {k: _fingerprint(texts[k], boilerplate) for k in keys}
    counts = {}
    for k in keys:
        for h in set(first[k].hashes):
            counts[h] = counts.get(h, 0) + 1
    most = min(COMMON, max(2, len(keys) // 2))
    common = [h for h, n in counts.items() if n > most]
    boilerplate = np.unique(np.concatenate([boilerplate, np.array(common, dtype=np.int64)]))
    prints = {k: _fingerprint(texts[k], boilerplate) for k in keys}
    sets = {k: set(prints[k].hashes) for k in keys}
    pairs, scores = [], {}
    for a, b in combinations(keys, 2):
        if not sets[a] & sets[b]:
            scores[(a, b)] = 0.0
            continue
        overlap, shares, slices = compare_files(prints[a], prints[b])
        similarity = float(max(shares))
        scores[(a, b)] = similarity
        if similarity >= threshold and overlap >= min_shared:
            involved = _involved(spans[a], slices[0]) | _involved(spans[b], slices[1])
            pairs.append(Pair(a, b, similarity, tuple(float(s) for s in shares), int(overlap),
                              _side_by_side(answers[a], answers[b], involved)))
    pairs.sort(key=lambda p: -p.similarity)
    return pairs, scores


def _involved(spans, slices) -> set:
    """The answers that the copied stretches (`slices`: starts, ends) fall in."""
    return {key for key, start, end in spans
            if any(s < end and e > start for s, e in zip(*slices))}


def _side_by_side(a: dict, b: dict, involved: set) -> list:
    """[(task region, a's answer, b's answer)] for the regions the shared code is in."""
    from course.catalogue import BY_ID

    return [(f"{BY_ID[task].number if task in BY_ID else task} {what}",
             a.get((task, what), ""), b.get((task, what), ""))
            for task, what in sorted(involved)]
