"""Judging one check: what the student's code returned against what the solution returns.

Every output is right or wrong on its own, so a check earns the share of its outputs that
are right (the forward values of an attention without gradients still count). A wrong
output's message says what it is, the shapes, the first differing element with both
values, a few values of each side, and the likely mistake when a known one fits.
"""

from dataclasses import dataclass, field

import numpy as np

from course.grader.sum_back import sum_back

# Errors whose cause is almost always the same; said once, next to the error.
ERROR_HINTS = {
    "RecursionError": "a recursive walk overflows Python's stack on a long chain: keep the "
                      "nodes still to visit in a list (an explicit stack) instead",
    "NotImplementedError": "this part is not written yet",
}


@dataclass
class Verdict:
    check: object
    right: int = 0
    total: int = 0
    messages: list = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.right / self.total if self.total else 0.0


SHOWN = 2  # wrong outputs described in full per check; the others are only named


def _number(x) -> str:
    if np.asarray(x).dtype == bool:
        return str(bool(x))
    return f"{float(x):.6g}"


def _preview(a: np.ndarray, start: int = 0) -> str:
    """A few values from flat position `start`: enough to see the pattern, never a dump."""
    flat = np.asarray(a).reshape(-1)
    shown = ", ".join(_number(v) for v in flat[start:start + 4])
    if not np.ndim(a):
        return shown
    return f"[{'..., ' if start else ''}{shown}{', ...' if flat.size > start + 4 else ''}]"


def _close(got, expected, check) -> np.ndarray:
    """Elementwise: equal within the check's tolerance (NaN only matches NaN)."""
    if expected.dtype == bool or got.dtype == bool:
        return got == expected
    with np.errstate(invalid="ignore"):
        return np.isclose(got, expected, rtol=check.rtol, atol=check.atol, equal_nan=True)


def _same(got, expected, check) -> bool:
    return got is not None and expected is not None and got.shape == expected.shape and \
        bool(np.all(_close(got, expected, check)))


def _shape_hint(got, expected) -> str:
    if got.ndim >= expected.ndim and got.size > expected.size:
        try:
            np.broadcast_shapes(got.shape, expected.shape)
            if np.broadcast_shapes(got.shape, expected.shape) == got.shape:
                return (" It has the broadcast shape: sum it back over the axes broadcasting "
                        "added or stretched.")
        except ValueError:
            pass
    if got.shape == expected.shape[::-1] and got.ndim > 1:
        return " It has the transposed shape."
    return ""


def difference(label, got, expected, check) -> str:
    """One wrong output, in words."""
    if got.shape != expected.shape:
        return (f"{label}: shape {got.shape}, expected {expected.shape}."
                f"{_shape_hint(got, expected)} Returned {_preview(got)}.")
    wrong = ~_close(got, expected, check)
    count = int(wrong.sum())
    if expected.ndim == 0:
        return f"{label}: expected {_number(expected)}, got {_number(got)}."
    first = int(np.argmax(wrong))
    where = tuple(int(i) for i in np.unravel_index(first, expected.shape))
    want, have = _number(expected[where]), _number(got[where])
    if want == have:  # equal to six digits: show enough of them to see the difference
        want, have = f"{float(expected[where]):.15g}", f"{float(got[where]):.15g}"
    return (f"{label}: wrong values (shape {expected.shape}, as expected): at element "
            f"{where} expected {want}, got {have}; "
            f"{count} of {expected.size} elements differ. From there, returned "
            f"{_preview(got, first)}, expected {_preview(expected, first)}."
            + _near_miss(got, expected))


def _near_miss(got, expected) -> str:
    """A hint when every value is right to about six digits but not to float64's: the mark
    of a numerical difference, not of a derivative."""
    with np.errstate(all="ignore"):
        close = np.allclose(got, expected, rtol=1e-5, atol=1e-7)
    if not close:
        return ""
    return (" Every value is within about 1e-6 of the expected one, but an analytic "
            "derivative in float64 is exact to about 1e-15: is this a numerical difference "
            "(finite differences of the forward) rather than the derivative?")


def _likely(check, inputs, expected, got, wrong_keys) -> list:
    """The sentence of the first known mistake that reproduces the wrong outputs (the
    mistakes are listed most likely first), or nothing."""
    for mistake in check.mistakes:
        try:
            with np.errstate(all="ignore"):
                modelled = mistake.model(inputs, expected)
        except Exception:  # a mistake that cannot happen on these inputs
            continue
        hits = [k for k in wrong_keys if k in modelled and got.get(k) is not None
                and _same(got[k], np.asarray(modelled[k], dtype=got[k].dtype), check)]
        if hits:
            return [mistake.sentence]
    return []


def summed_back(got: dict, expected: dict) -> dict:
    """Gradients in the output's broadcast shape, summed back to the input's shape (what the
    engine does with what an op's backward returns), by the judge's own definition."""
    fitted = dict(got)
    for key, value in got.items():
        want = expected.get(key)
        if value is not None and want is not None and value.shape != want.shape:
            try:
                broadcast = np.broadcast_shapes(value.shape, want.shape) == value.shape
            except ValueError:
                broadcast = False  # judged as it is: the shapes go in the message
            if broadcast:
                fitted[key] = sum_back(value, want.shape)
    return fitted


def judge(check, inputs, expected, got, error=None) -> Verdict:
    """Compare the child's outputs (`got`, or the `error` it raised) with `expected`."""
    verdict = Verdict(check, total=len(expected))
    if check.summed_back and got:
        got = summed_back(got, expected)
    note = None
    if check.replay is not None and got:
        got, note = check.replay(inputs, got)
    if error is not None:
        hint = ERROR_HINTS.get(error.get("type", ""), "")
        where = f" (at {error['where']})" if error.get("where") else ""
        verdict.messages.append(f"raised {error.get('type')}: {error.get('message')}{where}"
                                + (f". {hint[0].upper()}{hint[1:]}." if hint else ""))
        if not got:
            return verdict
    wrong, missing = [], []
    for key, want in expected.items():
        if error is not None and key not in got:
            continue  # never computed: the error above says why
        have = got.get(key)
        label = check.label(key)
        if want is None:
            verdict.right += have is None
            continue
        if have is None:
            missing.append(key)
            reason = check.missing.get(key, "nothing came back (None)")
            verdict.messages.append(reason if reason.startswith(label) else f"{label}: {reason}")
            continue
        if _same(have, want, check):
            verdict.right += 1
            continue
        wrong.append(key)
        if len(wrong) <= SHOWN:
            verdict.messages.append(difference(label, have, want, check))
    if len(wrong) > SHOWN:
        others = [check.label(k) for k in wrong[SHOWN:]]
        verdict.messages.append(f"Also wrong: {', '.join(others[:6])}"
                                + (f" and {len(others) - 6} more" if len(others) > 6 else "")
                                + ".")
    if wrong:
        for sentence in _likely(check, inputs, expected, got, wrong):
            verdict.messages.append(f"Likely mistake: {sentence}.")
    if note and (wrong or missing):
        verdict.messages.append(note)
    return verdict
