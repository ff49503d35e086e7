"""Notebook 8: the price, attention costs O(n^2)."""

import numpy as np

import minigrad as mg
from attention import Linear, scaled_dot_product_attention
from exercise_checks import say, unanswered


def check_growth_factors(factors) -> bool:
    """Exercise: when n grows from 1,000 to 3,000, the factors by which (a) the number of
    attention scores and (b) the number of values the Linear layer outputs grow. Judged by
    counting both at two lengths in the same ratio."""
    if unanswered(factors):
        return False
    if not (isinstance(factors, (tuple, list)) and len(factors) == 2 and
            all(isinstance(f, (int, float, np.number)) and not isinstance(f, bool)
                for f in factors)):
        return say(False, "", "give two numbers: (factor for the scores, factor for the "
                              "Linear layer's outputs).")
    d = 16
    projection = Linear(d, d)
    counts = []
    for n in (10, 30):  # the same ratio, 3, at lengths that take no time
        q, k, v = (mg.randn(1, n, d) for _ in range(3))
        with mg.no_grad():
            _, weights = scaled_dot_product_attention(q, k, v)  # one per score: (1, n, n)
            counts.append((weights.size, projection(q).size))
    measured = [after / before for before, after in zip(*counts)]
    if not np.isclose(factors[0], measured[0]):
        return say(False, "", "the scores' factor is not right: there is one score per "
                              "(query, key) pair. How many pairs do n tokens make?")
    if not np.isclose(factors[1], measured[1]):
        return say(False, "", "the scores are right, the Linear layer's factor is not: it "
                              "makes one output vector per position, each of width d.")
    return say(True, "n x n pairs: three times the length, nine times the scores; one output "
               "per position: three times the outputs.", "")


def check_growth_exponent(growth_exponent) -> bool:
    """Exercise: growth_exponent(ns, times), the p of time ~ c * n^p fitted to timings.
    Judged on timings made up by the check, of known exponent, with a little noise."""
    rng = np.random.default_rng(0)
    ns = np.array([250.0, 500, 1000, 2000, 4000])
    first = growth_exponent(list(ns), list(3e-7 * ns ** 2))
    if unanswered(first):
        return False
    if np.ndim(first) != 0:
        return say(False, "", f"return one number, the exponent p; yours has shape "
                              f"{np.shape(first)}.")
    for p, c in ((2.0, 3e-7), (1.0, 2e-5), (3.0, 1e-10), (1.5, 4e-6)):
        times = c * ns ** p * np.exp(rng.normal(0, 0.02, ns.size))  # about 2% noise
        got = float(growth_exponent(list(ns), list(times)))
        if not abs(got - p) < 0.1:
            return say(False, "", f"for timings that grow as n^{p:g} your function gives "
                                  f"{got:.3g}. A power law t = c * n^p is a straight line "
                                  "when you plot log t against log n: what is its slope?")
    return say(True, "log t = log c + p log n: the exponent is the slope of log t against "
               "log n, whatever c is.", "")
