"""The settings of a training run: TrainConfig (filled in from the task's defaults), which
settings each kind of model is built from, and the command line that sets them.

Every option of `python -m attention.train` is a TrainConfig field; one the chosen task's
model would ignore is refused by name rather than recorded and silently unused.
"""

import argparse
import math
import os
from dataclasses import asdict, dataclass, fields

from attention.model import POSITIONAL
from attention.tasks import TASKS, Settings, make_task

# The settings each kind of model is built from (besides the task's vocabulary): an option
# the chosen task's model would ignore is refused on the command line, not silently dropped.
MODEL_SETTINGS = {
    "AttentionModel": ("d_model", "n_heads", "n_layers", "positional", "residual",
                       "layer_norm", "ffn_hidden", "share", "max_len"),
    "CrossAttentionModel": ("d_model", "n_heads"),
    "CausalLM": ("d_model", "n_heads", "n_layers", "ffn_hidden", "dropout", "causal"),
    "RNNModel": ("d_model", "model"),
}


def model_kind(task, model: str | None = None) -> str:
    """Which model a task trains: a language model, cross-attention into a memory, or
    self-attention over the row (or, with model="rnn", a recurrent network over it)."""
    return "RNNModel" if model == "rnn" else task.model


@dataclass
class TrainConfig:
    task: str = "context"
    steps: int | None = None  # None: the task's default
    lr: float | None = None
    batch_size: int | None = None
    d_model: int | None = None
    n_heads: int | None = None
    positional: str | None = None
    residual: bool | None = None
    layer_norm: bool = False
    ffn_hidden: int | None = None
    n_layers: int | None = None
    dropout: float | None = None
    causal: bool | None = None  # the language model's causal mask
    share: str | None = None  # "qk": keys made with the queries' matrix; "qkv": values too
    max_len: int | None = None  # positions the model can hold (None: the task's length)
    model: str | None = None  # "rnn": a recurrent network in place of attention
    n_train: int = 4000
    n_test: int = 1000
    seed: int = 0
    eval_every: int | None = None  # None: about 30 evaluations per run
    clip: float = 1.0
    save_every: int = 100  # steps between checkpoints (0: only at the end or on a stop)
    out: str | None = None

    def resolved(self) -> "TrainConfig":
        """A copy with every None filled in from the task's settings."""
        settings = make_task(self.task).settings
        values = asdict(self)
        for key in (f.name for f in fields(Settings)):
            if values[key] is None:
                values[key] = getattr(settings, key)
        for name in ("n_train", "n_test"):
            if isinstance(values[name], bool) or not isinstance(values[name], int) or \
                    values[name] < 1:
                raise ValueError(f"TrainConfig: {name} must be a positive integer (rows to "
                                 f"train and evaluate on), got {values[name]!r}")
        if values["out"] == "":
            raise ValueError("TrainConfig: out is empty; give a folder, or None for "
                             f"runs/{self.task}")
        clip = values["clip"]
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not clip > 0:
            # A negative bound would flip every gradient and train uphill.
            raise ValueError(f"TrainConfig: clip must be a positive number, got {clip!r}")
        values["out"] = values["out"] or os.path.join("runs", self.task)
        values["eval_every"] = values["eval_every"] or max(values["steps"] // 30, 1)
        return TrainConfig(**values)


def _at_least(low: int):
    """An argparse type: an integer >= low, else a usage error naming the option."""
    def integer(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    integer.__name__ = "integer"
    return integer


def _number(accept, requirement: str):
    """An argparse type: a number that passes `accept`, else a usage error saying it must
    be `requirement`."""
    def number(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value
    number.__name__ = "number"
    return number


_positive_number = _number(lambda v: math.isfinite(v) and v > 0, "a finite positive number")
_probability = _number(lambda v: 0 <= v < 1, "in [0, 1)")


def parse_args(argv=None, description: str = "") -> tuple:
    """(TrainConfig, the parsed arguments) of a command line; a bad one is a usage error."""
    parser = _parser(description)
    args = parser.parse_args(argv)
    return _config(parser, args), args


def _tasks_epilog() -> str:
    """Each task in a sentence, and the settings its model trains with."""
    lines = []
    for name in TASKS:
        task = make_task(name)
        used = [f"{k}={v}" for k, v in asdict(task.settings).items() if v is not None and
                (k in MODEL_SETTINGS[task.model] or k in ("steps", "lr", "batch_size",
                                                          "eval_every"))]
        lines.append(f"  {name:<10} {task.description}\n             " + ", ".join(used))
    return "tasks, and their defaults:\n" + "\n".join(lines)


def _parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m attention.train", description=description,
                                     epilog=_tasks_epilog(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # What to learn, and the model that learns it.
    parser.add_argument("--task", default="context", choices=TASKS)
    parser.add_argument("--d-model", type=_at_least(1), help="model width")
    parser.add_argument("--heads", dest="n_heads", type=_at_least(1), help="attention heads")
    parser.add_argument("--positional", choices=POSITIONAL,
                        help="positional information added to the embeddings")
    parser.add_argument("--residual", action=argparse.BooleanOptionalAction,
                        help="add a residual connection around attention")
    parser.add_argument("--layer-norm", action="store_true")
    parser.add_argument("--ffn", dest="ffn_hidden", type=_at_least(0),
                        help="hidden width of a feed-forward layer after attention (0: none)")
    parser.add_argument("--layers", dest="n_layers", type=_at_least(1),
                        help="attention blocks (the language model's default: 2)")
    parser.add_argument("--dropout", type=_probability,
                        help="dropout rate while training (the language model's default: 0.1)")
    parser.add_argument("--causal", action=argparse.BooleanOptionalAction,
                        help="the language model's causal mask (--no-causal: let every "
                             "position see the tokens after it, and watch generation fail)")
    parser.add_argument("--share", choices=["qk", "qkv"],
                        help="make keys (qk), or keys and values (qkv), with the queries' "
                             "matrix: what separate matrices are for (try --task previous)")
    parser.add_argument("--max-len", type=_at_least(1),
                        help="positions the model can hold, for running it on rows longer "
                             "than it was trained on (default: the task's length)")
    parser.add_argument("--model", choices=["attention", "rnn"],
                        help="rnn: a tanh recurrent network on the same task and training "
                             "loop, to compare with attention (try --task far)")
    # How it trains.
    parser.add_argument("--steps", type=_at_least(0), help="optimizer steps (default: per task)")
    parser.add_argument("--lr", type=_positive_number, help="peak learning rate of Adam")
    parser.add_argument("--batch-size", type=_at_least(1))
    parser.add_argument("--seed", type=_at_least(0), default=0)
    # Where the run goes, and how it is kept.
    parser.add_argument("--out", help="output folder (default: runs/<task>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in the output folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="start again in an output folder that holds a run, replacing it")
    parser.add_argument("--save-every", type=_at_least(0), default=100,
                        help="steps between checkpoints, so that a crash loses at most that "
                             "many (default 100; 0: only at the end or when stopped)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _config(parser, args) -> "TrainConfig":
    """The TrainConfig of parsed arguments, after the checks one option alone cannot make."""
    if args.resume and args.overwrite:
        parser.error("--resume continues the run in --out, --overwrite replaces it: "
                     "choose one")
    if args.out == "":
        parser.error("--out is empty; give a folder (default: runs/<task>)")
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in known})
    _refuse_what_the_model_ignores(parser, config)
    resolved = config.resolved()
    length = make_task(config.task).seq_len
    if config.max_len is not None and config.max_len < length:
        parser.error(f"--max-len {config.max_len}: the {config.task} task's rows are {length} "
                     "tokens long; the model must hold at least that many positions")
    if resolved.d_model % resolved.n_heads:
        parser.error(f"--d-model {resolved.d_model} is not divisible by --heads "
                     f"{resolved.n_heads}: each head gets d_model / heads channels")
    return config


def _refuse_what_the_model_ignores(parser, config):
    """A usage error naming every option given that the task's model is not built from."""
    kind = model_kind(make_task(config.task), config.model)
    given = [key for key in ("n_layers", "positional", "residual", "ffn_hidden", "dropout",
                             "causal", "share", "max_len") if getattr(config, key) is not None]
    natural = model_kind(make_task(config.task))
    if config.model == "rnn" and natural != "AttentionModel":
        parser.error(f"--model rnn: the {config.task} task's model is a {natural}; a recurrent "
                     "network stands in for self-attention over a row only (try --task far)")
    given += ["layer_norm"] if config.layer_norm else []
    unused = [key for key in given if key not in MODEL_SETTINGS[kind]]
    if unused:
        options = {"n_layers": "--layers", "ffn_hidden": "--ffn", "layer_norm": "--layer-norm",
                   "max_len": "--max-len"}
        named = ", ".join(options.get(key, "--" + key) for key in unused)
        parser.error(f"{named}: the {config.task} task's model ({kind}) does not use "
                     f"{'this option' if len(unused) == 1 else 'these options'}")
