"""The tiny causal language model: Dropout, the causal mask, greedy generation, and the
lecture's point that a language model trained without the mask learns to cheat."""

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from attention.dropout import Dropout, DropoutFunction
from attention.generate import encode, verdict
from attention.generate import main as generate_main
from attention.language_model import CausalLM, exact_match, generate
from attention.losses import cross_entropy
from attention.tasks import make_splits, make_task
from attention.train import TrainConfig, parse_args, train
from tests.test_attention_layers import check_module

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# ---- Dropout ----------------------------------------------------------------------------


class RedrawingDropout(Dropout):
    """A planted fault: backward draws a fresh mask instead of using forward's."""

    def forward(self, x):
        if not self.training:
            return x
        keep = mg.default_generator().random(x.shape) >= self.p
        return _Redrawing.apply(x, keep, p=self.p)


class _Redrawing(DropoutFunction):
    @staticmethod
    def backward(ctx, grad):
        fresh = mg.default_generator().random(grad.shape) >= 0.5
        return grad * fresh * ctx.scale, None


def gradient_follows_the_dropped_units(layer) -> bool:
    """The gradient of sum(dropout(x)) is zero exactly where the output was dropped, and
    1 / (1 - p) everywhere else."""
    x = mg.tensor(np.ones((50, 40)), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    kept = y.data != 0
    return bool(np.array_equal(x.grad != 0, kept) and
                np.allclose(x.grad[kept], 1 / (1 - layer.p)))


def test_dropout_backward_uses_the_mask_forward_drew():
    mg.manual_seed(0)
    assert gradient_follows_the_dropped_units(Dropout(0.5))


def test_the_mask_check_catches_a_backward_that_draws_a_new_mask():
    mg.manual_seed(0)
    assert not gradient_follows_the_dropped_units(RedrawingDropout(0.5))


def test_dropout_function_gradcheck_with_a_fixed_mask(rng):
    x = mg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    keep = rng.random((4, 5)) >= 0.3
    assert mg.gradcheck(lambda x: DropoutFunction.apply(x, keep, p=0.3), x)


def test_dropout_keeps_the_expected_value_and_drops_about_p():
    mg.manual_seed(1)
    y = Dropout(0.25)(mg.ones(200, 200, requires_grad=True))
    assert abs(float((y.data == 0).mean()) - 0.25) < 0.01
    assert abs(float(y.data.mean()) - 1.0) < 0.02
    assert y.dtype == np.float32


def test_dropout_is_the_identity_in_eval_mode_and_drops_again_in_train_mode():
    layer = Dropout(0.5).eval()
    x = mg.ones(10, 10, requires_grad=True)
    assert layer(x) is x  # no copy, no node in the graph
    layer.train()
    assert (layer(x).data == 0).any()


def test_dropout_masks_repeat_with_the_seed():
    masks = []
    for _ in range(2):
        mg.manual_seed(7)
        masks.append(Dropout(0.5)(mg.ones(8, 8, requires_grad=True)).data != 0)
    assert np.array_equal(*masks)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", True, float("nan")])
def test_dropout_refuses_a_probability_outside_0_to_1(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be a number in \[0, 1\)"):
        Dropout(p)



def test_dropout_refuses_integer_input_a_scale_its_dtype_cannot_hold_and_a_bad_p_later():
    drop = Dropout(0.5)
    for x in (mg.tensor([1, 2, 3]), mg.tensor(np.array([True, False]))):
        with pytest.raises(TypeError, match=r"Dropout: input must be floating point, got "
                                            r"(int64|bool) of shape"):
            drop(x)
    drop.p = 0.99999  # kept entries x 100,000: more than float16's 65,504
    with pytest.raises(ValueError, match=r"1 / \(1 - p\) = 1e\+05, more than float16 holds"):
        drop(mg.tensor(np.ones(8, np.float16)))
    assert np.isfinite(drop(mg.tensor(np.ones(8, np.float32))).data).all()
    for bad in (1.0, -0.1, "0.5", True):
        with pytest.raises(ValueError, match="Dropout: p must be a number in \\[0, 1\\)"):
            drop.p = bad  # checked when changed, not only when built
    assert drop.p == 0.99999


# ---- the model ------------------------------------------------------------------------


def small_lm(causal=True, dropout=0.0, d_model=8):
    mg.manual_seed(0)
    return CausalLM(vocab_size=7, d_model=d_model, n_heads=2, n_layers=2, max_len=6,
                    ffn_hidden=d_model + 2, dropout=dropout, causal=causal)


def test_with_the_mask_no_position_depends_on_a_later_token(rng):
    ids = rng.integers(0, 7, size=(3, 6))
    later = ids.copy()
    later[:, 3:] = (later[:, 3:] + 1) % 7  # change tokens 3, 4, 5 only
    for causal in (True, False):
        model = small_lm(causal)
        before, after = model(ids).data, model(later).data
        unchanged = np.allclose(before[:, :3], after[:, :3])
        assert unchanged == causal, causal  # without the mask, positions 0-2 see the change
    maps = small_lm(True)
    maps(ids)
    for weights in maps.attention_maps():  # (B, nh, T, T): nothing above the diagonal
        assert np.all(np.triu(weights, k=1) == 0)


@pytest.mark.parametrize("causal", [True, False])
def test_language_model_end_to_end_gradcheck(rng, causal):
    model = small_lm(causal, d_model=4)
    ids = rng.integers(0, 7, size=(2, 5))
    targets = rng.integers(0, 7, size=(2, 5))
    assert check_module(model, lambda: cross_entropy(model(ids), targets), fast=not causal)


def test_language_model_with_dropout_in_eval_mode_passes_gradcheck(rng):
    model = small_lm(dropout=0.5, d_model=4).eval()  # eval: no dropout, a fixed function
    ids = rng.integers(0, 7, size=(2, 5))
    assert check_module(model, lambda: cross_entropy(model(ids), ids), fast=True)


def test_generation_appends_what_the_model_predicts_and_restores_training_mode(rng):
    model = small_lm(dropout=0.5)
    prompts = rng.integers(0, 7, size=(4, 2))
    rows = generate(model, prompts, 4)
    assert rows.shape == (4, 6) and np.array_equal(rows[:, :2], prompts)
    assert model.training  # generation ran in eval mode and put it back
    assert np.array_equal(generate(model, prompts, 4), rows)  # no dropout while generating
    model.eval()
    with mg.no_grad():
        predicted = model(rows[:, :-1]).data.argmax(axis=-1)  # (4, 5): every next token
    # With the causal mask, one pass over the finished rows predicts what generation chose.
    assert np.array_equal(predicted[:, 1:], rows[:, 2:])


@pytest.mark.parametrize("prompts, n_new, message", [
    ([1, 2, 3], 2, r"prompts must be \(B, t\) integer token ids with t >= 1, got shape \(3,\)"),
    (np.zeros((2, 0), dtype=int), 2, r"t >= 1, got shape \(2, 0\)"),
    ([[1.0, 2.0]], 2, "got shape \\(1, 2\\) and dtype float64"),
    ([[1, 2]], -1, "n_new must be a non-negative integer, got -1"),
    ([[1, 2, 3]], 5, r"after a prompt of 3 tokens the model \(max_len=6\) can add at most "
                     "4 tokens, not 5"),
])
def test_generation_refuses_bad_prompts_by_name(prompts, n_new, message):
    with pytest.raises(ValueError, match="generate: .*" + message):
        generate(small_lm(), prompts, n_new)


def test_evaluation_runs_without_dropout_and_restores_training_mode():
    from attention.train import evaluate

    model = small_lm(dropout=0.5)
    ids = np.random.default_rng(0).integers(0, 7, size=(6, 5))
    data = (ids, ids, np.ones(ids.shape, dtype=bool))
    scores = [evaluate(model, data) for _ in range(2)]
    assert scores[0] == scores[1] and model.training


def test_exact_match_counts_whole_answers_only():
    task = make_task("sums")
    _, held_out = make_splits(task, 10, 20, seed=0)

    class Oracle(CausalLM):
        """Predicts every next token right, except the last digit of the second row."""

        def forward(self, ids, mask=None):
            rows = np.concatenate([held_out[0], held_out[1][:, -1:]], axis=1)
            n = ids.shape[1]
            row_of = [int(np.flatnonzero((rows[:, :n] == row).all(axis=1))[0]) for row in ids]
            nexts = rows[row_of, 1:n + 1].copy()
            if n == task.seq_len and 1 in row_of:
                nexts[row_of.index(1), -1] = (nexts[row_of.index(1), -1] + 1) % 10
            return mg.tensor(np.eye(len(task.vocab))[nexts])

    oracle = Oracle(len(task.vocab), d_model=4, n_heads=1, n_layers=1, max_len=8)
    assert exact_match(oracle, held_out, task.prompt_len) == 19 / 20


# ---- the sums task, training and the generate command -------------------------------------


def test_sums_rows_are_correct_sums_and_targets_are_the_next_tokens():
    task = make_task("sums")
    ids, targets, mask = task.generate(np.random.default_rng(0), 50)
    assert ids.shape == targets.shape == mask.shape == (50, task.seq_len) and mask.all()
    assert np.array_equal(ids[:, 1:], targets[:, :-1])  # shifted by one
    for row, target in zip(ids, targets):
        text = "".join(task.decode(np.concatenate([row, target[-1:]])))
        assert verdict(text) == "right", text


def test_a_sums_task_of_one_digit_has_rows_of_its_length_and_too_few_to_hold_out():
    small = dataclasses.replace(make_task("sums"), classes=[], seq_len=5, digits=1,
                                prompt_len=4)
    ids, targets, _ = small.generate(np.random.default_rng(0), 30)  # "a+b=cd" less one
    assert ids.shape == (30, 5) and all(verdict("".join(small.decode(np.r_[row, t[-1:]])))
                                        == "right" for row, t in zip(ids, targets))
    with pytest.raises(ValueError, match="sums task has too few distinct rows for "
                                         "n_train=3000"):
        make_splits(small, 3000, 10, seed=0)  # 100 distinct sums: all seen in training


def test_the_cli_switches_the_causal_mask_and_checks_dropout(capsys):
    config, _ = parse_args(["--task", "sums", "--no-causal"])
    assert config.resolved().causal is False
    assert parse_args(["--task", "sums"])[0].resolved().causal is True
    assert parse_args(["--task", "pair"])[0].resolved().dropout == 0.0
    with pytest.raises(SystemExit):
        parse_args(["--task", "sums", "--dropout", "1"])
    assert "--dropout: must be in [0, 1), got 1" in capsys.readouterr().err


def test_a_resumed_run_with_dropout_ends_exactly_like_an_uninterrupted_one(tmp_path):
    settings = dict(task="sums", steps=12, n_train=200, n_test=20, d_model=16)
    straight = train(TrainConfig(out=str(tmp_path / "a"), **settings), progress=False,
                     plots=False)
    config = TrainConfig(out=str(tmp_path / "b"), **settings)
    train(config, progress=False, plots=False, stop_at=5)
    resumed = train(config, resume=True, progress=False, plots=False)
    assert resumed["final_train_loss"] == straight["final_train_loss"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sums")
    train(TrainConfig(task="sums", steps=3, n_train=200, n_test=20, d_model=16, out=str(out)),
          progress=False, plots=False)
    return out


def test_generate_completes_each_prompt_and_marks_sums(tiny_run, capsys):
    generate_main(["--run", str(tiny_run), "12+35=", "7+8=", "4"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" -> ")[0].strip() for line in lines] == ["12+35=", "7+8=", "4"]
    completions = [line.split(" -> ")[1].split()[0] for line in lines]
    assert completions[0].startswith("12+35=") and completions[1].startswith("07+08=")
    assert all(len(text) == 9 for text in completions)


def test_the_language_models_picture_has_a_panel_per_head_and_block(tiny_run):
    from attention.plots import plot_lm_attention
    from attention.train import load_run

    model, task, config = load_run(str(tiny_run))
    _, held_out = make_splits(task, config.n_train, config.n_test, config.seed)
    model.train()
    figure = plot_lm_attention(model, task, held_out)
    assert len(figure.axes) == 2 * 4 + 1  # 2 blocks x 4 heads, and the colour bar
    assert any("generates" in text.get_text() for text in figure.texts) and model.training


@pytest.mark.parametrize("prompt, message", [
    ("12a", "'a' is not in the vocabulary"),
    ("12+35=0470", "needs 1 to 9 tokens, the length of a whole row"),
    ("7+8=0150", r"\('07\+08=0150' once padded\): needs 1 to 9 tokens"),
    ("123+4=", "trained on 2-digit operands, not 123"),
])
def test_generate_refuses_a_bad_prompt_by_name(tiny_run, prompt, message):
    with pytest.raises(SystemExit, match=message):
        generate_main(["--run", str(tiny_run), prompt])


def test_generate_refuses_a_run_that_is_not_a_language_model(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint at"):
        generate_main(["--run", str(tmp_path), "1"])
    train(TrainConfig(task="pair", steps=2, out=str(tmp_path)), progress=False, plots=False)
    with pytest.raises(SystemExit, match="'pair' task, not a language model"):
        generate_main(["--run", str(tmp_path), "1"])


def test_prompts_are_padded_like_the_training_rows():
    task = make_task("sums")
    assert "".join(task.decode(encode(task, "7+8="))) == "07+08="
    assert "".join(task.decode(encode(task, "12+3"))) == "12+3"  # 3 may be 3x: not padded
    assert verdict("07+08=015") == "right"
    assert verdict("99+01=110").startswith("wrong (99+1 is 100)")
    assert verdict("12+") == ""


@pytest.mark.slow
def test_the_causal_mask_is_what_makes_generation_work(tmp_path):
    """The lecture's point, measured: same model, seed and steps, with and without the
    mask. Without it the training loss falls far below what any honest model can reach
    (it reads the next token), and generation fails; with it, the loss stays at the floor
    the random operand digits set, and at least 99% of held-out sums come out right."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        from causal_masking import compare, loss_floor
    finally:
        sys.path.remove(str(EXAMPLES))
    results = compare(out=str(tmp_path), progress=False)
    masked, open_ = results["causal mask"], results["no mask"]
    print(json.dumps({label: {"final_train_loss": m["final_train_loss"],
                              "held_out_exact_match": m["held_out_accuracy"]}
                      for label, m in results.items()}, indent=1))
    floor = loss_floor(make_task("sums"))
    assert masked["held_out_accuracy"] >= 0.99
    assert masked["final_train_loss"] > 0.9 * floor  # it cannot beat the random digits
    assert open_["final_train_loss"] < floor / 100  # ... unless it reads them
    assert open_["held_out_accuracy"] < 0.2
    assert (tmp_path / "masking.png").stat().st_size > 10_000
    assert math.isfinite(masked["held_out_loss"])
    # Each run in a folder of its own: runs/sums, which generate reads, is not replaced.
    for folder in ("sums-causal", "sums-no-mask"):
        assert (tmp_path / folder / "checkpoint.npz").is_file()
    assert not (tmp_path / "sums").exists()
