"""Cross-entropy over integer targets, fused with log_softmax into one stable op.

loss = mean over counted positions of -log softmax(logits)[target]. Fusing the two gives
the simplest possible gradient, d loss / d logits = (softmax(logits) - onehot(target)) / n,
and computing log-probabilities as `shifted - log(sum(exp(shifted)))` (logsumexp with the
max subtracted) never takes the log of an underflowed 0, whatever the logits' magnitude.
"""

import numpy as np

import minigrad as mg
from attention.softmax import row_max


class CrossEntropy(mg.Function):
    """mean_i -log p_i[t_i];  d/dlogits_i = (p_i - onehot(t_i)) / n for counted i, else 0.

    backward returns (d logits, None, None): one entry per forward input, and the targets
    and the `counted` mask take no gradient. Forward saved (log_probs, targets, counted)
    and ctx.count = n; the incoming gradient is a scalar that multiplies everything."""

    name = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, targets, counted):
        shifted = logits - row_max(logits, axis=-1)  # the same guarded max as softmax
        log_norm = np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        log_probs = shifted - log_norm  # (..., C)
        safe_targets = np.where(counted, targets, 0)  # ignored rows may hold any id
        picked = np.take_along_axis(log_probs, safe_targets[..., None], axis=-1)[..., 0]
        count = max(int(counted.sum()), 1)  # all ignored: loss 0 and zero gradient
        ctx.save_for_backward(log_probs, safe_targets, counted)
        ctx.count = count
        # where, not a product: an excluded row's stand-in pick may be -inf, and -inf * 0 is NaN
        return np.asarray(-np.sum(np.where(counted, picked, 0.0)) / count, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        log_probs, targets, counted = ctx.saved_arrays
        # BEGIN SOLUTION task2_1: the backward of cross-entropy
        dlogits = np.exp(log_probs)  # softmax(logits)
        np.put_along_axis(dlogits, targets[..., None],
                          np.take_along_axis(dlogits, targets[..., None], axis=-1) - 1, axis=-1)
        dlogits *= (counted[..., None] * (grad / ctx.count)).astype(dlogits.dtype)
        return dlogits, None, None
        # END SOLUTION


def cross_entropy(logits, targets, mask=None, ignore_index=None):
    """Mean cross-entropy of logits (..., C) against integer targets (...).

    mask: boolean (...), True where a position counts; ignore_index: a target value that
    does not count (as in PyTorch). Positions excluded by either add nothing to the loss
    or the gradient; the mean is over the counted positions."""
    if not isinstance(logits, mg.Tensor):
        logits = mg.tensor(logits)
    if logits.ndim == 0 or logits.dtype.kind != "f":
        raise TypeError(f"cross_entropy: logits must be floating point with a class axis "
                        f"last, got shape {logits.shape} and dtype {logits.dtype} (logits "
                        "and targets swapped?)")
    targets = np.asarray(targets.data if isinstance(targets, mg.Tensor) else targets)
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"cross_entropy: targets must be integers, got dtype {targets.dtype}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(
            f"cross_entropy: logits of shape {logits.shape} need targets of shape "
            f"{logits.shape[:-1]}, got {targets.shape}"
        )
    counted = np.ones(targets.shape, dtype=bool)
    if mask is not None:
        mask = np.asarray(mask.data if isinstance(mask, mg.Tensor) else mask)
        if mask.dtype != bool or mask.shape != targets.shape:
            raise ValueError(f"cross_entropy: mask must be boolean of the targets' shape "
                             f"{targets.shape}, got dtype {mask.dtype} and shape {mask.shape}")
        counted &= mask
    if ignore_index is not None:
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            # 1.5 or "1" would match no target, and silently ignore nothing.
            raise TypeError(f"cross_entropy: ignore_index must be an integer class index, got "
                            f"{ignore_index!r}")
        counted &= targets != ignore_index
    n_classes = logits.shape[-1]
    bad = counted & ((targets < 0) | (targets >= n_classes))
    if bad.any():
        raise IndexError(
            f"cross_entropy: target {targets[bad][0]} is out of range for {n_classes} classes"
        )
    return CrossEntropy.apply(logits, targets, counted)
