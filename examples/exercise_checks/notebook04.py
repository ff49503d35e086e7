"""Notebook 4: why divide by sqrt(d_k)?"""

import numpy as np

import minigrad as mg
from attention import softmax
from exercise_checks import say, unanswered

# The setting of exercises 1 and 2: queries whose entries have standard deviation 2 (say, a
# layer initialised too large), keys with standard deviation 1.
D_K, Q_STD, K_STD = 32, 2.0, 1.0


def sampled_scores(n: int = 50_000) -> np.ndarray:
    """n unscaled dot products q . k in that setting: the measurement the checks use."""
    rng = np.random.default_rng(0)
    q = Q_STD * rng.standard_normal((n, D_K))
    k = K_STD * rng.standard_normal((n, D_K))
    return (q * k).sum(axis=1)  # (n,)


def a_number(answer, what: str):
    """The answer as a float, or None after saying what was expected."""
    try:
        number = float(answer)
    except (TypeError, ValueError):
        number = None
    if number is None or not np.isfinite(number):
        say(False, "", f"give {what} as one number (an expression such as 3 / 4 is fine); "
                       f"you gave {answer!r}.")
        return None
    return number


def check_score_variance(answer) -> bool:
    """Exercise: the variance of q . k for d_k = 32, query entries of standard deviation 2 and
    key entries of standard deviation 1, all independent with mean 0. Judged by sampling."""
    if unanswered(answer):
        return False
    variance = a_number(answer, "the variance")
    if variance is None:
        return False
    measured = sampled_scores().var()
    right = abs(variance - measured) < 0.05 * measured  # the sample's own error is under 1%
    if right:
        print(f"measured over 50,000 dot products: {measured:.1f}")
    return say(right, "Each term q_i k_i has variance var(q_i) var(k_i) = 4, and the variances "
               "of d_k independent terms add up.",
               "q . k is a sum of d_k independent terms q_i k_i, each with mean 0. What is the "
               "variance of one term, when var(q_i) is the square of its standard deviation? "
               "Then add d_k of them.")


def check_scale(answer) -> bool:
    """Exercise: the number to multiply the scores by so that, in the same setting, their
    variance is 1 again. Judged by the variance of the sampled scores times it."""
    if unanswered(answer):
        return False
    scale = a_number(answer, "the scale")
    if scale is None:
        return False
    if scale <= 0:
        return say(False, "", "a negative scale flips every score, so the query would prefer "
                              "the keys it matches least: the scale must be positive.")
    variance = (sampled_scores() * scale).var()
    print(f"variance of the scores times your scale: {variance:.3f}")
    return say(abs(variance - 1) < 0.05,
               "Multiplying by a number multiplies the variance by its square, so the scale "
               "is one over the standard deviation of the scores: 1/sqrt(d_k) only when the "
               "entries have variance 1.",
               "multiplying a score by c multiplies its variance by c squared. Which c takes "
               "the variance you found in exercise 1 to 1? (1/sqrt(d_k) assumes entries of "
               "variance 1.)")


def peak_and_gradient(d_k: int, scale: float, T: int = 16, n: int = 256) -> tuple:
    """The average largest attention weight and the median gradient norm at a query, measured
    as the notebook measures them (a random loss on the attention output)."""
    rng = np.random.default_rng(1)
    q = mg.tensor(rng.standard_normal((n, 1, d_k)), requires_grad=True)
    k = mg.tensor(rng.standard_normal((n, T, d_k)))
    v = mg.tensor(rng.standard_normal((n, T, 8)))
    weights = softmax((q @ k.swapaxes(-1, -2)) * scale)  # (n, 1, T)
    out = weights @ v  # (n, 1, 8)
    (out * mg.tensor(rng.standard_normal(out.shape))).sum().backward()
    peak = weights.data.max(axis=-1).mean()
    return peak, np.median(np.linalg.norm(q.grad, axis=-1))


def check_overscaled(peak, gradient) -> bool:
    """Exercise: at d_k = 256, scaling by 1/d_k instead of 1/sqrt(d_k): is the largest weight
    "higher" or "lower", is the gradient at a query "larger" or "smaller"? Judged by measuring
    both with both scales."""
    if unanswered(peak) or unanswered(gradient):
        return False
    if peak not in ("higher", "lower") or gradient not in ("larger", "smaller"):
        return say(False, "", f'set peak to "higher" or "lower" and gradient to "larger" or '
                              f'"smaller"; you gave {peak!r} and {gradient!r}.')
    d_k = 256
    usual_peak, usual_gradient = peak_and_gradient(d_k, 1 / np.sqrt(d_k))
    over_peak, over_gradient = peak_and_gradient(d_k, 1 / d_k)
    measured_peak = "higher" if over_peak > usual_peak else "lower"
    measured_gradient = "larger" if over_gradient > usual_gradient else "smaller"
    right = (peak, gradient) == (measured_peak, measured_gradient)
    if right:
        print(f"largest weight {usual_peak:.3f} -> {over_peak:.3f} (uniform: {1 / 16:.3f}); "
              f"gradient at a query {usual_gradient:.3f} -> {over_gradient:.4f}")
        return say(True, "Too small a scale squeezes every score towards 0, so softmax spreads "
                   "its weight evenly and cannot choose; and the scale also multiplies every "
                   "gradient that flows back to the queries. Both too large and too small a "
                   "scale starve learning; 1/sqrt(d_k) keeps the scores' spread near 1.", "")
    if peak != measured_peak:
        return say(False, "", "1/256 is 16 times smaller than 1/sqrt(256): how spread out are "
                              "the scores then, and what does softmax do with scores that are "
                              "all nearly equal (notebook 2)?")
    return say(False, "", "the softmax is further from saturating, but look at the chain rule: "
                          "the scores are (q @ k^T) * scale, so what does the scale do to "
                          "d(scores)/dq, and so to every gradient that reaches q?")
