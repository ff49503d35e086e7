"""Module bookkeeping, optimizers and gradient clipping (PyTorch as the oracle)."""

import numpy as np
import pytest

import minigrad as mg
from attention import Linear, MultiHeadAttention
from attention.model import AttentionModel
from minigrad.nn import Module, ModuleList, Parameter
from minigrad.optim import SGD, Adam, AdamW, clip_grad_norm_


class TwoLayer(Module):
    def __init__(self):
        super().__init__()
        self.first = Linear(3, 4)
        self.blocks = ModuleList([Linear(4, 4), Linear(4, 2, bias=False)])
        self.scale = Parameter(np.ones(1, dtype=np.float32))

    def forward(self, x):
        x = self.first(x).tanh()
        for block in self.blocks:
            x = block(x)
        return x * self.scale


def test_named_parameters_have_dotted_names_in_order():
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "blocks.0.weight",
                     "blocks.0.bias", "blocks.1.weight"]


def test_calling_the_model_writes_dotted_names_into_the_graph():
    model = AttentionModel(5, 2, d_model=8, n_heads=2)
    model(np.zeros((1, 3), dtype=np.int64))
    assert model.blocks[0].attn.q_proj.weight.name == "blocks.0.attn.q_proj.weight"
    # A module called on its own names its parameters relative to itself.
    lin = Linear(3, 2)
    lin(mg.zeros(1, 3))
    assert lin.weight.name == "weight"


def test_shared_parameter_is_listed_once():
    model = TwoLayer()
    model.blocks.append(model.first)  # the same module twice
    assert len(model.parameters()) == len({id(p) for p in model.parameters()})


def test_state_dict_round_trip_and_atomic_failed_load():
    model, other = TwoLayer(), TwoLayer()
    other.load_state_dict(model.state_dict())
    for (name, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)

    before = {k: v.copy() for k, v in other.state_dict().items()}
    bad = model.state_dict()
    bad["blocks.1.weight"] = np.zeros((5, 5), dtype=np.float32)  # wrong shape
    bad["first.bias"] = bad["first.bias"] + 1  # would change, if loading were not atomic
    with pytest.raises(ValueError, match=r"blocks\.1\.weight.*\(5, 5\).*\(4, 2\)"):
        other.load_state_dict(bad)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_missing_and_unexpected_keys_are_named():
    state = TwoLayer().state_dict()
    del state["first.weight"]
    state["extra"] = np.zeros(1)
    pattern = r"missing keys \['first.weight'\].*unexpected keys \['extra'\]"
    with pytest.raises(ValueError, match=pattern):
        TwoLayer().load_state_dict(state)


def test_train_eval_zero_grad_and_to_float64():
    model = TwoLayer()
    assert model.training and model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model(mg.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.to("float64")
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model(mg.randn(2, 3, dtype=np.float64)).dtype == np.float64


def test_repr_lists_the_tree():
    text = repr(MultiHeadAttention(8, 2))
    assert "MultiHeadAttention(d_model=8, n_heads=2" in text
    assert "(q_proj): Linear(in_features=8, out_features=8, bias=True)" in text


def test_module_without_super_init_gets_a_clear_error():
    class Broken(Module):
        def __init__(self):
            self.w = Parameter(np.ones(2))

    with pytest.raises(RuntimeError, match=r"Broken: call super\(\).__init__\(\)"):
        Broken()


# ---- optimizers against PyTorch ----------------------------------------------------------

def _run_ours(make_optimizer, steps=5):
    rng = np.random.default_rng(0)
    w = Parameter(rng.standard_normal((3, 4)))
    b = Parameter(rng.standard_normal(4))
    x = rng.standard_normal((5, 3))
    opt = make_optimizer([w, b])
    for _ in range(steps):
        opt.zero_grad()
        ((mg.Tensor(x) @ w + b).tanh() ** 2).sum().backward()
        opt.step()
    return w.data, b.data


def _run_torch(torch, make_optimizer, steps=5):
    rng = np.random.default_rng(0)
    w = torch.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = torch.tensor(rng.standard_normal(4), requires_grad=True)
    x = torch.tensor(rng.standard_normal((5, 3)))
    opt = make_optimizer([w, b])
    for _ in range(steps):
        opt.zero_grad()
        ((x @ w + b).tanh() ** 2).sum().backward()
        opt.step()
    return w.detach().numpy(), b.detach().numpy()


@pytest.mark.oracle
@pytest.mark.parametrize("name, ours, theirs", [
    ("sgd", lambda p: SGD(p, lr=0.1), lambda t, p: t.optim.SGD(p, lr=0.1)),
    ("sgd-momentum-decay", lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
     lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("adam", lambda p: Adam(p, lr=0.05), lambda t, p: t.optim.Adam(p, lr=0.05)),
    ("adam-l2", lambda p: Adam(p, lr=0.05, weight_decay=0.1),
     lambda t, p: t.optim.Adam(p, lr=0.05, weight_decay=0.1)),
    ("adamw", lambda p: AdamW(p, lr=0.05, weight_decay=0.1),
     lambda t, p: t.optim.AdamW(p, lr=0.05, weight_decay=0.1)),
])
def test_optimizer_matches_torch(name, ours, theirs, torch_oracle):
    w, b = _run_ours(ours)
    tw, tb = _run_torch(torch_oracle, lambda p: theirs(torch_oracle, p))
    np.testing.assert_allclose(w, tw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, tb, rtol=1e-10, atol=1e-12)


@pytest.mark.oracle
def test_clip_grad_norm_matches_torch(torch_oracle):
    torch = torch_oracle
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(7)]
    ours = [Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(ours, grads):
        p.grad = g.copy()
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(theirs, grads):
        p.grad = torch.tensor(g)
    norm = clip_grad_norm_(ours, 1.0)
    torch_norm = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert norm == pytest.approx(float(torch_norm), rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-9)
    total = np.sqrt(sum(np.sum(p.grad ** 2) for p in ours))
    assert total == pytest.approx(1.0, rel=1e-5)


def test_optimizer_state_round_trip_continues_identically():
    def make():
        rng = np.random.default_rng(0)
        return Parameter(rng.standard_normal(4))

    def step(p, opt):
        opt.zero_grad()
        (p * p * p).sum().backward()
        opt.step()

    p1 = make()
    opt1 = Adam([p1], lr=0.1)
    for _ in range(6):
        step(p1, opt1)

    p2 = make()
    opt2 = Adam([p2], lr=0.1)
    for _ in range(3):
        step(p2, opt2)
    saved_p, saved_opt = p2.data.copy(), opt2.state_dict()
    p3 = Parameter(saved_p)
    opt3 = Adam([p3], lr=0.1)
    opt3.load_state_dict(saved_opt)
    for _ in range(3):
        step(p3, opt3)
    np.testing.assert_array_equal(p3.data, p1.data)


def test_optimizer_rejects_mismatched_state_and_bad_settings():
    opt = Adam([Parameter(np.zeros(3))])
    with pytest.raises(ValueError, match=r"exp_avg\.0.*\(4,\).*\(3,\)"):
        opt.load_state_dict({"step": np.array(1), "exp_avg.0": np.zeros(4)})
    assert opt.state == {} and opt.step_count == 0
    with pytest.raises(ValueError, match="learning rate must be a finite positive number"):
        SGD([Parameter(np.zeros(1))], lr=0)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])


@pytest.mark.oracle
def test_adam_counts_steps_per_parameter_like_torch(torch_oracle):
    torch = torch_oracle
    a, b = Parameter(np.array([1.0])), Parameter(np.array([3.0]))
    ta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    ours, theirs = Adam([a, b], lr=0.1), torch.optim.Adam([ta, tb], lr=0.1)
    for step in range(5):
        ours.zero_grad()
        theirs.zero_grad()
        use_b = step >= 3  # b gets its first gradient at step 3
        ((a * a).sum() + ((b * b).sum() if use_b else 0)).backward()
        ((ta * ta).sum() + ((tb * tb).sum() if use_b else 0)).backward()
        ours.step()
        theirs.step()
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-12)


def test_optimizer_refuses_state_it_does_not_keep_and_malformed_steps():
    opt = Adam([Parameter(np.zeros(3))])
    with pytest.raises(ValueError, match="'momentum.0', which Adam does not keep"):
        opt.load_state_dict(SGD([Parameter(np.zeros(3))], momentum=0.9).state_dict()
                            | {"momentum.0": np.zeros(3)})
    with pytest.raises(ValueError, match="step array.*must be a non-negative integer"):
        opt.load_state_dict({"step": np.array([1, 2])})
    assert opt.state == {} and opt.step_count == 0


def test_assigning_to_a_buffer_keeps_it_registered():
    class WithBuffer(Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("running", np.zeros(2))

    module = WithBuffer()
    module.running = mg.tensor([9.0, 9.0])
    np.testing.assert_array_equal(module.state_dict()["running"], [9.0, 9.0])


def test_evaluating_turns_dropout_and_recording_off_and_restores_the_mode_even_on_error():
    from attention import Dropout
    from minigrad.nn import evaluating

    layer = Dropout(0.5)
    x = mg.ones(50, requires_grad=True)
    with evaluating(layer):
        assert not layer.training and layer(x) is x and not (x * 2).requires_grad
    assert layer.training
    layer.eval()
    with pytest.raises(RuntimeError), evaluating(layer):
        raise RuntimeError("a failure inside the block")
    assert not layer.training  # back to eval, the mode it was in
