"""Pictures of training: the loss curve, and attention heatmaps with tokens on both axes.

Each function returns a matplotlib Figure, and saves it when given a path. The figures are
made without pyplot, so drawing to a file needs no screen and changes no global backend: a
notebook shows a returned figure inline, a script on a server just writes the file.
"""

import numpy as np
from matplotlib.figure import Figure

from minigrad.nn import evaluating


def readable_log_scale(ax, axis: str = "y"):
    """Put `axis` of `ax` on a log scale whose ticks read as plain numbers.

    Over several decades the usual powers of ten read well. Over less than two, a log axis
    has one power of ten or none, and matplotlib labels what is there as "2.6 x 10^0";
    then five ticks spread evenly on the log scale, rounded to two figures, say "2.6"."""
    from matplotlib.ticker import NullFormatter

    getattr(ax, f"set_{axis}scale")("log")
    low, high = getattr(ax, f"get_{axis}lim")()
    if low <= 0 or high / low >= 100:
        return
    ticks = sorted({float(f"{t:.2g}") for t in np.geomspace(low, high, 5)[1:-1]} |
                   {float(f"{low:.2g}"), float(f"{high:.2g}")})
    ticks = [t for t in ticks if low <= t <= high]
    getattr(ax, f"set_{axis}ticks")(ticks, [f"{t:g}" for t in ticks])
    getattr(ax, f"{axis}axis").set_minor_formatter(NullFormatter())


def _finish(fig, path, **savefig):
    if path is not None:
        fig.savefig(path, **savefig)
    return fig


def plot_history(history: dict, path: str | None = None, title: str = "",
                 accuracy: str = "held-out accuracy"):
    """Training loss per step, held-out loss and accuracy at each evaluation (`accuracy`
    names what was measured, say "held-out exact match" for a language model)."""
    fig = Figure(figsize=(10, 3.6), layout="tight")
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(history["step"], history["train_loss"], lw=0.8, alpha=0.7,
                 label="training batch")
    ax_loss.plot(history["eval_step"], history["eval_loss"], "o-", ms=3, label="held-out")
    readable_log_scale(ax_loss)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend()
    ax_loss.set_title(f"{title}: loss")
    ax_acc.plot(history["eval_step"], history["eval_accuracy"], "o-", ms=3, color="C2")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel(accuracy)
    ax_acc.set_title(f"{title}: accuracy")
    ax_acc.grid(alpha=0.3)
    return _finish(fig, path, dpi=110)


def pick_examples(task, data, n: int) -> np.ndarray:
    """Indices of n held-out examples, covering different target classes where possible."""
    ids, targets, mask = data
    first_class = np.array([t[m][0] if m.any() else -1 for t, m in zip(targets, mask)])
    chosen = []
    for cls in np.unique(first_class):
        chosen.append(int(np.flatnonzero(first_class == cls)[0]))
    rest = [i for i in range(len(ids)) if i not in chosen]
    return np.array((chosen + rest)[:n])


def plot_attention(model, task, data, path: str | None = None, n_examples: int = 3,
                   block: int = -1):
    """Heatmaps of the attention weights of `block` on a few held-out examples.

    One column per example, one panel (row) per head; in a panel, rows are queries and
    columns keys, both labelled with the tokens. Scored query positions have an arrow."""
    ids, targets, mask = data
    chosen = pick_examples(task, data, n_examples)
    with evaluating(model):
        logits = model(ids[chosen])
    weights = model.attention_maps()[block]  # (n, nh, T, T)
    predictions = logits.data.argmax(axis=-1)
    n_heads = weights.shape[1]
    # Cross-attention (a memory, then queries, in one row): queries against the memory.
    split = getattr(model, "memory_len", 0)
    # The arrow says which rows the loss reads, when not all of them.
    arrows = "" if all(mask[e][split:].all() for e in chosen) else \
        "\n(→ marks the queries whose answer is scored)"
    # One column per example, one row per head: reading down a column compares the heads.
    fig = Figure(figsize=(3.4 * len(chosen) + 1.0, 3.4 * n_heads + 0.6 + 0.5 * bool(arrows)),
                 layout="constrained")
    axes = fig.subplots(n_heads, len(chosen), squeeze=False)
    for col, example in enumerate(chosen):
        tokens = task.decode(ids[example])
        keys, queries = (tokens[:split], tokens[split:]) if split else (tokens, tokens)
        scored = np.flatnonzero(mask[example][split:])
        for head in range(n_heads):
            ax = axes[head, col]
            image = ax.imshow(weights[col, head], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(len(keys)), keys, rotation=90, fontsize=8)
            ax.set_yticks(range(len(queries)),
                          [f"{t} →" if i in scored else t for i, t in enumerate(queries)],
                          fontsize=8)
            ax.set_xlabel("memory slot (attended to)" if split else "key (attended to)",
                          fontsize=8)
            if col == 0:
                ax.set_ylabel(f"head {head}: query" if n_heads > 1 else "query", fontsize=8)
            if head > 0:
                continue  # the example's title sits above its column, once
            title = f"example {col + 1}"
            if len(scored) == 1:
                position = scored[0] + split
                truth = task.classes[targets[example, position]]
                guess = task.classes[predictions[col, position]]
                title += f"\n'{tokens[position]}' read as: {guess}\n(true: {truth})"
            elif split:
                answers = predictions[col, split:]
                right = int((answers == targets[example, split:]).sum())
                title += f"\nanswers {' '.join(task.classes[a] for a in answers)} " \
                         f"({right} of {len(answers)} right)"
            ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight")
    fig.suptitle(f"{task.name}: attention weights on held-out examples{arrows}", fontsize=11)
    return _finish(fig, path, dpi=110, bbox_inches="tight")


def plot_lm_attention(model, task, data, path: str | None = None, example: int = 0):
    """A language model's attention on one held-out row: one panel per head, a row of
    panels per block. The causal mask shows as an empty upper triangle: no query attends
    to a key after it. The title gives the prompt and the answer the model generates."""
    from attention.language_model import generate

    ids, targets, _ = data
    row = np.concatenate([ids[example], targets[example, -1:]])  # the whole "ab+cd=efg"
    prompt_len = task.prompt_len
    answer = generate(model, row[None, :prompt_len], len(row) - prompt_len)[0, prompt_len:]
    with evaluating(model):
        model(ids[example:example + 1])  # (1, T): fills the attention maps
    maps = model.attention_maps()  # n_layers arrays of (1, nh, T, T)
    tokens = task.decode(ids[example])
    n_layers, n_heads = len(maps), maps[0].shape[1]
    fig = Figure(figsize=(2.3 * n_heads + 1.0, 2.4 * n_layers + 0.8), layout="constrained")
    axes = fig.subplots(n_layers, n_heads, squeeze=False)
    for layer, weights in enumerate(maps):
        for head in range(n_heads):
            ax = axes[layer, head]
            image = ax.imshow(weights[0, head], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(len(tokens)), tokens, fontsize=9)
            ax.set_yticks(range(len(tokens)), tokens, fontsize=9)
            ax.set_title(f"block {layer + 1}, head {head + 1}", fontsize=9)
            if head == 0:
                ax.set_ylabel("query (predicts the next token)", fontsize=8)
            if layer == n_layers - 1:
                ax.set_xlabel("key (attended to)", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.7, label="attention weight")
    prompt = "".join(task.decode(row[:prompt_len]))
    truth, made = "".join(task.decode(row[prompt_len:])), "".join(task.decode(answer))
    mask_says = "causal mask" if model.causal else "no causal mask"
    fig.suptitle(f"{task.name} ({mask_says}): '{prompt}' generates '{made}' (true: '{truth}')",
                 fontsize=11)
    return _finish(fig, path, dpi=110, bbox_inches="tight")


def plot_masking(runs: dict, path: str | None = None, floor: float | None = None):
    """The lecture's point about the causal mask, from two runs of the same model, seed and
    steps: {label: (history, exact_match)}. Left, the training loss (the unmasked model's
    falls far lower: it reads the next token); right, the exact match of generated answers
    on held-out prompts (the unmasked model's is near zero). floor: the lowest loss a model
    that cannot see the future can reach, drawn as a dashed line."""
    fig = Figure(figsize=(10, 3.6), layout="tight")
    ax_loss, ax_match = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    labels = list(runs)
    for i, label in enumerate(labels):
        history, _ = runs[label]
        ax_loss.plot(history["step"], history["train_loss"], lw=0.8, color=f"C{i}",
                     label=label)
    if floor is not None:
        ax_loss.axhline(floor, color="gray", ls="--", lw=1,
                        label="floor without seeing ahead")
    readable_log_scale(ax_loss)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training cross-entropy (every next token)")
    ax_loss.set_title("training loss")
    ax_loss.legend()
    matches = [runs[label][1] for label in labels]
    bars = ax_match.bar(range(len(labels)), matches, color=[f"C{i}" for i in range(len(labels))])
    ax_match.bar_label(bars, [f"{m:.1%}" for m in matches])
    ax_match.set_xticks(range(len(labels)), labels)
    ax_match.set_ylim(0, 1.1)
    ax_match.set_ylabel("held-out exact match")
    ax_match.set_title("generating the answer")
    return _finish(fig, path, dpi=110)
