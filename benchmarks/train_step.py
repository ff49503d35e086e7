"""One training step of the attention model in minigrad, PyTorch and hand-written NumPy.

The step, identical in all three implementations:

    ids (B, T) -> token embedding + learned positional embedding       (B, T, D)
               -> one multi-head self-attention layer: q, k, v and out projections, all
                  with bias; no residual, no LayerNorm, no feed-forward (B, T, D)
               -> output projection to vocab classes                   (B, T, vocab)
               -> mean cross-entropy over all B*T positions
               -> backward -> one Adam step (lr 1e-3, betas 0.9/0.999, eps 1e-8)

Sizes, each timed in float32 and in float64:

  small   B=32, T=8,   D=32,  H=2, vocab 16    the arrays are tiny: this times per-op cost
  large   B=16, T=128, D=256, H=4, vocab 64    BLAS and big elementwise ops dominate

Implementations:

  minigrad  attention.AttentionModel(vocab, n_classes=vocab, d_model=D, n_heads=H,
            max_len=T, positional="learned", residual=False), attention.cross_entropy and
            minigrad.optim.Adam: the engine under test, used as the training loop uses it.
  numpy     forward and backward written by hand (embedding gather and np.add.at, the
            projections as 2-D matmuls, head split, scores, stable softmax and its backward,
            weighted sum, softmax-cross-entropy backward, Adam in place): the floor for any
            engine built on NumPy.
  torch     PyTorch eager on CPU, torch.set_num_threads(1): nn.Embedding, an nn.Parameter of
            positions, nn.Linear q/k/v/out projections with an explicit softmax(q k^T / sqrt(hs))
            v (the same ops as minigrad; --torch-mha uses nn.MultiheadAttention instead),
            F.cross_entropy and torch.optim.Adam. Skipped if torch is not installed.

All three start from the minigrad model's initial weights (copied, transposed where
PyTorch stores a Linear weight as (out, in)) and train on one fixed batch. Before anything
is timed, the first step is checked: the three losses agree, numpy's and torch's
gradients agree with minigrad's for every parameter, and each implementation's updated
weights equal its initial weights minus the Adam update of its own gradients (so the three
optimizers are checked too). Tolerances are float32-sized or float64-sized to match the
case. A mismatch stops the run: the benchmark refuses to time wrong code.

Timing is as in op_overhead.py: warm-up steps, then --repeat timed steps of each
implementation, interleaved in a rotating order so drift hits all three alike; reported
as the best (used for ratios and targets) and the median; the garbage collector is off
while a step is timed (--gc keeps it on). The weights keep training during the timed
steps, as they would in a real run.

Targets, reported as PASS/MISS (a report, not an assertion: the exit code ignores them):

  small   minigrad <= 1.0x torch     (both dtypes)
  large   minigrad <= 1.15x numpy    (both dtypes)

The minigrad step calls loss.backward(intermediate_grads=False), as the training loop in
attention/train.py does: only the parameters' gradients are needed, and keeping .grad on
every intermediate tensor (the default, for inspection) roughly doubles the memory a step
touches. A caveat on the large case, as in op_overhead.py: whether glibc's malloc hands
multi-megabyte blocks back to the OS between steps, so the next step pays page faults for
them again, depends on the process's allocation history, so the large ratios move a little
between runs and processes.

Second part, the cost of attention as the sequence grows: one forward+backward of
attention.scaled_dot_product_attention on q, k, v of shape (1, 4, T, 64) float32 that
require grad, loss = output.sum(), for T = 64, 128, 256, 512, 1024. Printed: time (best
and median), peak memory allocated during the call (tracemalloc, which NumPy reports its
array allocations to, measured in separate untimed calls because tracing slows
allocation), and both as ratios to T=64 next to (T/64)^2. The scores and weights are
(T, T) per head, so both ratios approach the quadratic line once the (T, T) arrays
dominate; at small T the fixed per-op cost and the (T, 64) arrays flatten the start.

Run from the repository root:

    python benchmarks/train_step.py                  # table, then the scaling part
    python benchmarks/train_step.py --no-scaling     # the table only
    python benchmarks/train_step.py --scaling        # the scaling part only
    python benchmarks/train_step.py --repeat 50 --json results.json
    python benchmarks/train_step.py --profile        # also cProfile minigrad's step
"""

import timing  # imports no numpy, so it can come before BLAS is pinned to one thread

# One thread everywhere. torch is pinned to one thread below; NumPy's BLAS (OpenBLAS or
# MKL) would otherwise use every core for the large case's matmuls, and the comparison
# would measure core counts.
timing.use_one_blas_thread()

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from attention import AttentionModel, cross_entropy, scaled_dot_product_attention  # noqa: E402
from minigrad.optim import Adam  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    torch = None
else:
    import torch.nn.functional as F  # noqa: E402, N812

    torch.set_num_threads(1)

SIZES = {
    "small": dict(B=32, T=8, D=32, H=2, vocab=16),
    "large": dict(B=16, T=128, D=256, H=4, vocab=64),
}
DTYPES = ("float32", "float64")
IMPLEMENTATIONS = ("minigrad", "numpy", "torch")

LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8

TARGETS = {
    "small": ("torch", 1.0),  # minigrad <= 1.0x torch
    "large": ("numpy", 1.15),  # minigrad <= 1.15x numpy
}

# (rtol, atol) for the first-step check; atol is scaled by the largest reference value
# (for gradients: the largest gradient of any parameter).
# float32: the implementations sum in different orders (different BLAS, torch's own
# kernels), so agreement is to a few float32 ulps of the largest gradient.
TOLERANCES = {"float32": (1e-4, 1e-5), "float64": (1e-9, 1e-11)}
# The Adam update of the first step is about lr * sign(grad); after rounding it must agree
# to this fraction of lr (a wrong formula is off by O(lr)).
ADAM_ATOL = {"float32": 1e-3 * LR, "float64": 1e-9 * LR}

SCALING_LENGTHS = (64, 128, 256, 512, 1024)
SCALING_HEADS, SCALING_HEAD_DIM = 4, 64

# minigrad's parameter names (model.named_parameters()), the order used everywhere here.
ATTN = "blocks.0.attn"
PARAM_NAMES = (
    "embed.weight", "pos.weight",
    f"{ATTN}.q_proj.weight", f"{ATTN}.q_proj.bias",
    f"{ATTN}.k_proj.weight", f"{ATTN}.k_proj.bias",
    f"{ATTN}.v_proj.weight", f"{ATTN}.v_proj.bias",
    f"{ATTN}.out_proj.weight", f"{ATTN}.out_proj.bias",
    "head.weight", "head.bias",
)


def case_name(size, dtype):
    return f"{size} {dtype}"


# ---- minigrad: the engine under test, used as a user would ---------------------------------


class MinigradStep:
    def __init__(self, cfg, dtype, ids, targets, seed):
        mg.manual_seed(seed)
        self.model = AttentionModel(cfg["vocab"], n_classes=cfg["vocab"], d_model=cfg["D"],
                                    n_heads=cfg["H"], max_len=cfg["T"], positional="learned",
                                    residual=False)
        self.model.to(dtype)
        self.optimizer = Adam(self.model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS)
        self.ids, self.targets = ids, targets
        names = tuple(name for name, _ in self.model.named_parameters())
        if names != PARAM_NAMES:
            raise RuntimeError(f"AttentionModel's parameters are {names}, expected {PARAM_NAMES}")

    def step(self):
        logits = self.model(self.ids)  # (B, T, vocab)
        loss = cross_entropy(logits, self.targets)
        self.optimizer.zero_grad()
        loss.backward(intermediate_grads=False)  # as attention/train.py's training step
        self.optimizer.step()
        return loss.item()

    def weights(self):
        return {name: p.data.copy() for name, p in self.model.named_parameters()}

    def grads(self):
        return {name: p.grad for name, p in self.model.named_parameters()}


# ---- hand-written NumPy: the floor ---------------------------------------------------------


def numpy_loss_and_grads(w, ids, targets, n_heads):
    """Forward and backward by hand. w: minigrad's layout (Linear weights are (in, out)).

    Returns (loss, {name: gradient}). Every projection is one 2-D matmul on (B*T, D)."""
    E, P = w["embed.weight"], w["pos.weight"]
    Wq, bq = w[f"{ATTN}.q_proj.weight"], w[f"{ATTN}.q_proj.bias"]
    Wk, bk = w[f"{ATTN}.k_proj.weight"], w[f"{ATTN}.k_proj.bias"]
    Wv, bv = w[f"{ATTN}.v_proj.weight"], w[f"{ATTN}.v_proj.bias"]
    Wo, bo = w[f"{ATTN}.out_proj.weight"], w[f"{ATTN}.out_proj.bias"]
    Wh, bh = w["head.weight"], w["head.bias"]
    B, T = ids.shape
    D = E.shape[1]
    N, hs = B * T, D // n_heads
    scale = 1.0 / math.sqrt(hs)  # a Python float keeps the dtype

    def split(a):  # (N, D) -> (B, H, T, hs), a view
        return a.reshape(B, T, n_heads, hs).transpose(0, 2, 1, 3)

    def merge(a):  # (B, H, T, hs) -> (N, D), a copy
        return a.transpose(0, 2, 1, 3).reshape(N, D)

    # ---- forward
    x = (E[ids] + P[:T]).reshape(N, D)  # embedding gather + positions
    q, k, v = split(x @ Wq + bq), split(x @ Wk + bk), split(x @ Wv + bv)
    s = q @ k.transpose(0, 1, 3, 2)  # (B, H, T, T)
    s *= scale
    s -= s.max(axis=-1, keepdims=True)
    p = np.exp(s, out=s)
    p /= p.sum(axis=-1, keepdims=True)  # attention weights
    o = merge(p @ v)  # (N, D)
    y = o @ Wo + bo
    logits = y @ Wh + bh  # (N, vocab)
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    total = probs.sum(axis=1, keepdims=True)
    rows, t = np.arange(N), targets.reshape(N)
    loss = float(np.mean(np.log(total[:, 0]) - logits[rows, t]))

    # ---- backward
    g = {}
    dlogits = probs
    dlogits /= total  # softmax
    dlogits[rows, t] -= 1
    dlogits *= 1.0 / N  # mean over positions
    g["head.weight"], g["head.bias"] = y.T @ dlogits, dlogits.sum(axis=0)
    dy = dlogits @ Wh.T
    g[f"{ATTN}.out_proj.weight"], g[f"{ATTN}.out_proj.bias"] = o.T @ dy, dy.sum(axis=0)
    do = split(dy @ Wo.T)  # (B, H, T, hs)
    dp = do @ v.transpose(0, 1, 3, 2)  # (B, H, T, T)
    dv = merge(p.transpose(0, 1, 3, 2) @ do)
    ds = dp
    ds -= (dp * p).sum(axis=-1, keepdims=True)  # softmax backward: p * (dp - sum(dp * p))
    ds *= p
    ds *= scale
    dq = merge(ds @ k)
    dk = merge(ds.transpose(0, 1, 3, 2) @ q)
    for name, d in (("q_proj", dq), ("k_proj", dk), ("v_proj", dv)):
        g[f"{ATTN}.{name}.weight"], g[f"{ATTN}.{name}.bias"] = x.T @ d, d.sum(axis=0)
    dx = dq @ Wq.T
    dx += dk @ Wk.T
    dx += dv @ Wv.T
    dE = np.zeros_like(E)
    np.add.at(dE, ids.reshape(N), dx)  # repeated tokens add up
    dP = np.zeros_like(P)
    dP[:T] = dx.reshape(B, T, D).sum(axis=0)
    g["embed.weight"], g["pos.weight"] = dE, dP
    return loss, g


class NumpyStep:
    def __init__(self, cfg, weights, ids, targets):
        self.w = {name: np.array(a) for name, a in weights.items()}  # trained in place
        self.m = {name: np.zeros_like(a) for name, a in self.w.items()}
        self.v = {name: np.zeros_like(a) for name, a in self.w.items()}
        self.t = 0
        self.n_heads, self.ids, self.targets = cfg["H"], ids, targets
        self.last_grads = None

    def step(self):
        loss, grads = numpy_loss_and_grads(self.w, self.ids, self.targets, self.n_heads)
        self.last_grads = grads
        self.t += 1
        step_size = LR / (1 - BETA1 ** self.t)
        root_bc2 = math.sqrt(1 - BETA2 ** self.t)
        for name, grad in grads.items():
            m, v = self.m[name], self.v[name]
            m *= BETA1
            m += (1 - BETA1) * grad
            v *= BETA2
            v += (1 - BETA2) * (grad * grad)
            denom = np.sqrt(v)
            denom /= root_bc2
            denom += EPS
            self.w[name] -= step_size * m / denom
        return loss

    def weights(self):
        return {name: a.copy() for name, a in self.w.items()}

    def grads(self):
        return self.last_grads


# ---- PyTorch --------------------------------------------------------------------------------

if torch is not None:

    class TorchAttentionModel(torch.nn.Module):
        """The same model in PyTorch; mha=True uses nn.MultiheadAttention for the layer."""

        def __init__(self, vocab, d_model, n_heads, max_len, mha=False):
            super().__init__()
            nn = torch.nn
            self.n_heads, self.mha = n_heads, mha
            self.embed = nn.Embedding(vocab, d_model)
            self.pos = nn.Parameter(torch.zeros(max_len, d_model))
            if mha:
                self.attn = nn.MultiheadAttention(d_model, n_heads, bias=True, batch_first=True)
            else:
                self.q_proj = nn.Linear(d_model, d_model)
                self.k_proj = nn.Linear(d_model, d_model)
                self.v_proj = nn.Linear(d_model, d_model)
                self.out_proj = nn.Linear(d_model, d_model)
            self.head = nn.Linear(d_model, vocab)

        def forward(self, ids):
            B, T = ids.shape
            x = self.embed(ids) + self.pos[:T]  # (B, T, D)
            if self.mha:
                y = self.attn(x, x, x, need_weights=False)[0]
            else:
                D = x.shape[-1]
                hs = D // self.n_heads

                def split(a):
                    return a.view(B, T, self.n_heads, hs).transpose(1, 2)  # (B, H, T, hs)

                q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
                weights = ((q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))).softmax(dim=-1)
                y = self.out_proj((weights @ v).transpose(1, 2).reshape(B, T, D))
            return self.head(y)  # (B, T, vocab)

        def links(self):
            """(minigrad name, torch parameter, row slice or None, transposed?) per weight."""
            D = self.embed.weight.shape[1]
            links = [("embed.weight", self.embed.weight, None, False),
                     ("pos.weight", self.pos, None, False)]
            if self.mha:  # in_proj stacks q, k, v weights (out, in) on top of each other
                for i, name in enumerate(("q_proj", "k_proj", "v_proj")):
                    rows = slice(i * D, (i + 1) * D)
                    links.append((f"{ATTN}.{name}.weight", self.attn.in_proj_weight, rows, True))
                    links.append((f"{ATTN}.{name}.bias", self.attn.in_proj_bias, rows, False))
                out = self.attn.out_proj
            else:
                for name in ("q_proj", "k_proj", "v_proj"):
                    layer = getattr(self, name)
                    links.append((f"{ATTN}.{name}.weight", layer.weight, None, True))
                    links.append((f"{ATTN}.{name}.bias", layer.bias, None, False))
                out = self.out_proj
            links += [(f"{ATTN}.out_proj.weight", out.weight, None, True),
                      (f"{ATTN}.out_proj.bias", out.bias, None, False),
                      ("head.weight", self.head.weight, None, True),
                      ("head.bias", self.head.bias, None, False)]
            return links


class TorchStep:
    def __init__(self, cfg, dtype, weights, ids, targets, mha):
        self.model = TorchAttentionModel(cfg["vocab"], cfg["D"], cfg["H"], cfg["T"], mha=mha)
        self.model.to(getattr(torch, dtype))
        self.links = self.model.links()
        with torch.no_grad():
            for name, param, rows, transposed in self.links:
                target = param if rows is None else param[rows]
                array = weights[name].T if transposed else weights[name]
                target.copy_(torch.from_numpy(np.ascontiguousarray(array)))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR, betas=(BETA1, BETA2),
                                          eps=EPS)
        self.ids = torch.from_numpy(ids)
        self.targets = torch.from_numpy(targets.reshape(-1))
        self.vocab = cfg["vocab"]

    def step(self):
        self.optimizer.zero_grad()
        logits = self.model(self.ids)
        loss = F.cross_entropy(logits.reshape(-1, self.vocab), self.targets)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def _export(self, which):
        out = {}
        for name, param, rows, transposed in self.links:
            t = param if which == "data" else param.grad
            t = t if rows is None else t[rows]
            array = t.detach().numpy()
            out[name] = np.array(array.T if transposed else array)
        return out

    def weights(self):
        return self._export("data")

    def grads(self):
        return self._export("grad")


# ---- setting up and checking a case ---------------------------------------------------------


def make_case(size, dtype, seed, torch_mha):
    cfg = SIZES[size]
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, cfg["vocab"], size=(cfg["B"], cfg["T"]), dtype=np.int64)
    targets = rng.integers(0, cfg["vocab"], size=(cfg["B"], cfg["T"]), dtype=np.int64)
    steps = {"minigrad": MinigradStep(cfg, dtype, ids, targets, seed)}
    initial = steps["minigrad"].weights()
    steps["numpy"] = NumpyStep(cfg, initial, ids, targets)
    if torch is not None:
        steps["torch"] = TorchStep(cfg, dtype, initial, ids, targets, torch_mha)
    return steps, initial


def adam_first_step(w0, grad):
    """The weights after one Adam step from zero moments, computed in float64."""
    g = grad.astype(np.float64)
    m_hat = (1 - BETA1) * g / (1 - BETA1)
    v_hat = (1 - BETA2) * g * g / (1 - BETA2)
    return w0.astype(np.float64) - LR * m_hat / (np.sqrt(v_hat) + EPS)


def close(got, want, rtol, atol):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol)


def check_first_step(case, dtype, steps, initial):
    """Run one step of each implementation; raise unless loss, gradients and update agree."""
    rtol, atol = TOLERANCES[dtype]
    results = {}
    for name, impl in steps.items():
        loss = impl.step()
        results[name] = (loss, impl.grads(), impl.weights())
    ref_loss, ref_grads, _ = results["minigrad"]
    # Gradient tolerances are scaled by the largest gradient of any parameter, not of each
    # one: k_proj.bias has an exactly zero true gradient (a key bias adds the same q . b_k to
    # every score of a row, which softmax cancels), so all three return rounding noise there.
    grad_scale = max(float(np.abs(ref_grads[p]).max()) for p in PARAM_NAMES)
    for name, (loss, grads, weights) in results.items():
        if not close(loss, ref_loss, rtol, atol * max(1.0, abs(ref_loss))):
            raise RuntimeError(f"{case}: {name} first-step loss {loss!r} != minigrad's "
                               f"{ref_loss!r}; refusing to time wrong code")
        for pname in PARAM_NAMES:
            got, want = grads[pname], ref_grads[pname]
            if got is None or want is None:
                raise RuntimeError(f"{case}: {name} has no gradient for {pname}")
            if not close(got, want, rtol, atol * grad_scale):
                worst = (f"{np.abs(np.asarray(got, np.float64) - want).max():.3g}"
                         if np.shape(got) == np.shape(want) else f"shape {np.shape(got)}")
                raise RuntimeError(
                    f"{case}: {name} gradient of {pname} differs from minigrad's (max abs "
                    f"difference {worst}, largest gradient {grad_scale:.3g}); "
                    "refusing to time wrong code"
                )
            expected = adam_first_step(initial[pname], grads[pname])
            if not close(weights[pname], expected, rtol, ADAM_ATOL[dtype]):
                worst = np.abs(weights[pname].astype(np.float64) - expected).max()
                raise RuntimeError(
                    f"{case}: {name}'s Adam step on {pname} is off by up to {worst:.3g} "
                    f"(lr is {LR}); refusing to time wrong code"
                )
            if weights[pname].dtype != np.dtype(dtype):
                raise RuntimeError(f"{case}: {name} turned {pname} into "
                                   f"{weights[pname].dtype}, expected {dtype}")
    return ref_loss


# ---- timing ---------------------------------------------------------------------------------


def run_case(size, dtype, args):
    case = case_name(size, dtype)
    steps, initial = make_case(size, dtype, args.seed, args.torch_mha)
    loss = check_first_step(case, dtype, steps, initial)
    timings = timing.time_interleaved({n: s.step for n, s in steps.items()}, args.repeat,
                                      args.warmup, args.gc)
    return timings, loss


def profile_minigrad(size, dtype, args, top=18):
    """cProfile of --repeat minigrad steps (after warm-up), sorted by own time."""
    steps, _ = make_case(size, dtype, args.seed, args.torch_mha)
    step = steps["minigrad"].step
    for _ in range(max(args.warmup, 1)):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.repeat):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, ncalls, tt, ct, callers)}
    total = sum(tt for _, _, tt, _, _ in stats.values())
    print(f"\n== cProfile: minigrad, {case_name(size, dtype)}: {1e3 * total / args.repeat:.2f} "
          f"ms per step under the profiler, top {top} functions by own time ==")
    print(f"{'own ms/step':>12} {'cum ms/step':>12} {'calls/step':>11}  function")
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for (filename, line, name), (_, ncalls, tt, ct, _) in rows:
        where = f"{os.path.relpath(filename)}:{line}" if line else "~"
        print(f"{1e3 * tt / args.repeat:>12.3f} {1e3 * ct / args.repeat:>12.3f} "
              f"{ncalls / args.repeat:>11.1f}  {name} ({where})")


# ---- second part: attention cost as T grows ------------------------------------------------


def sdpa_inputs(T, seed):
    rng = np.random.default_rng(seed)
    shape = (1, SCALING_HEADS, T, SCALING_HEAD_DIM)
    return [mg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
            for _ in range(3)]


def sdpa_step(q, k, v):
    q.grad = k.grad = v.grad = None
    out, _ = scaled_dot_product_attention(q, k, v)
    out.sum().backward()


def sdpa_peak_bytes(q, k, v):
    """Peak bytes allocated (Python objects and NumPy arrays) during one sdpa_step,
    above what was allocated before it."""
    q.grad = k.grad = v.grad = None
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        sdpa_step(q, k, v)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def run_scaling(args):
    inputs = {T: sdpa_inputs(T, args.seed) for T in SCALING_LENGTHS}
    for T, (q, k, v) in inputs.items():  # a NumPy check of the forward before timing
        out, _ = scaled_dot_product_attention(q, k, v)
        s = q.data[0] @ k.data[0].transpose(0, 2, 1) / math.sqrt(SCALING_HEAD_DIM)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        want = (e / e.sum(axis=-1, keepdims=True)) @ v.data[0]
        if not close(out.data[0], want, *TOLERANCES["float32"]):
            raise RuntimeError(f"scaling: attention output at T={T} differs from NumPy's")
    fns = {T: (lambda qkv=qkv: sdpa_step(*qkv)) for T, qkv in inputs.items()}
    timings = timing.time_interleaved(fns, args.repeat, args.warmup, args.gc)
    for T, qkv in inputs.items():
        timings[T]["peak_bytes"] = min(sdpa_peak_bytes(*qkv) for _ in range(3))
    return timings


def print_scaling(timings, repeat):
    base = SCALING_LENGTHS[0]
    header = (f"{'T':>5} {'best ms':>9} {'median ms':>10} {'peak MB':>9}   "
              f"{'time ratio':>10} {'mem ratio':>10} {f'(T/{base})^2':>10}")
    print(header)
    print("-" * len(header))
    t0, m0 = timings[base]["best_ms"], timings[base]["peak_bytes"]
    for T in SCALING_LENGTHS:
        t = timings[T]
        print(f"{T:>5} {t['best_ms']:>9.3f} {t['median_ms']:>10.3f} "
              f"{t['peak_bytes'] / 2**20:>9.2f}   {t['best_ms'] / t0:>9.1f}x "
              f"{t['peak_bytes'] / m0:>9.1f}x {(T / base) ** 2:>9.0f}x")
    print(f"\n(one forward+backward of scaled_dot_product_attention on q, k, v of shape "
          f"(1, {SCALING_HEADS}, T, {SCALING_HEAD_DIM}) float32;\n best and median of "
          f"{repeat} timed calls; peak MB: tracemalloc, in separate calls, allocated above the "
          f"inputs\n (the q/k/v gradients included); ratios are to T={base}, time ratios "
          "on the best.)")


# ---- main -----------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    timing.add_timing_arguments(parser, seed_help="seed for weights and data")
    parser.add_argument("--torch-mha", action="store_true",
                        help="torch uses nn.MultiheadAttention instead of explicit projections")
    parser.add_argument("--profile", action="store_true",
                        help="after the table, cProfile minigrad's step in every case")
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--scaling", action="store_true",
                      help="run only the second part (attention cost as T grows)")
    part.add_argument("--no-scaling", action="store_true", help="skip the second part")
    args = timing.parse_timing_args(parser, argv)

    env = timing.environment(torch)
    print(timing.environment_line(env, args.gc))
    report = {"environment": env, "repeat": args.repeat, "warmup": args.warmup,
              "gc_during_timing": args.gc, "seed": args.seed}

    if not args.scaling:
        if torch is None:
            print("torch is not importable: the torch column is skipped.")
        else:
            print("torch attention: " + ("nn.MultiheadAttention" if args.torch_mha else
                                         "nn.Linear projections, explicit softmax"))
        all_timings, losses = {}, {}
        for size in SIZES:
            for dtype in DTYPES:
                all_timings[size, dtype], losses[size, dtype] = run_case(size, dtype, args)
        others = "numpy and torch match" if torch is not None else "numpy matches"
        print(f"first step checked before timing: {others} minigrad's loss and gradients, "
              "and every implementation's Adam update is right.\n")
        cases = {case_name(size, dtype): (timings, TARGETS[size])
                 for (size, dtype), timings in all_timings.items()}
        timing.print_table(cases, label_width=14,
                           ratios=(("mg/torch", "minigrad", "torch"),
                                   ("mg/numpy", "minigrad", "numpy"),
                                   ("np/torch", "numpy", "torch")))
        print(f"\n(ms per training step; best and median of {args.repeat} timed steps; ratios "
              "and targets use the best.)")
        report["torch_attention"] = "nn.MultiheadAttention" if args.torch_mha else "explicit"
        report["cases"] = {}
        for (size, dtype), timings in all_timings.items():
            report["cases"][case_name(size, dtype)] = {
                "sizes": SIZES[size], "dtype": dtype,
                "first_step_loss": losses[size, dtype],
                **timing.case_report(timings, *TARGETS[size]),
            }
        if args.profile:
            for size in SIZES:
                for dtype in DTYPES:
                    profile_minigrad(size, dtype, args)

    if not args.no_scaling:
        print("\nAttention cost as the sequence grows (minigrad scaled_dot_product_attention, "
              "forward+backward):\n")
        scaling = run_scaling(args)
        print_scaling(scaling, args.repeat)
        base = scaling[SCALING_LENGTHS[0]]
        report["scaling"] = {
            str(T): {**t, "peak_mb": t["peak_bytes"] / 2**20,
                     "time_ratio": t["best_ms"] / base["best_ms"],
                     "memory_ratio": t["peak_bytes"] / base["peak_bytes"],
                     "quadratic_ratio": (T / SCALING_LENGTHS[0]) ** 2}
            for T, t in scaling.items()
        }

    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
