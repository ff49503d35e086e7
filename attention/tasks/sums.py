"""The language-modelling task: rows such as "12+35=047", every next token predicted."""

import numpy as np

from attention.tasks.task import Settings, Task, digit_tokens


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


def _sums_task(digits=2):
    symbols = digit_tokens(10) + ["+", "="]
    return Task("sums", "a causal language model: complete 'ab+cd=' with the sum's digits",
                symbols, symbols, 3 * digits + 2,  # "ab+cd=efg" less its last token
                Settings(steps=800, causal=True, d_model=64, n_heads=4, n_layers=2,
                         ffn_hidden=128, dropout=0.1, lr=0.005, eval_every=100),
                model="CausalLM", digits=digits, prompt_len=2 * digits + 2, make_rows=_sums)
