"""How much does minigrad's Python machinery cost per op? Forward+backward, side by side.

Two cases, each run forward and backward in three implementations:

  tiny chain    1,000 elementwise ops on 8x8 float32 tensors, cycling
                `x = x * w; x = x + b; x = x.tanh()` (w, b leaves that require grad), then
                `.sum()` and backward. The arrays are so small that NumPy's own work is
                negligible: this times the per-op cost of graph building and the backward walk.
  matmul chain  20 matmuls on 512x512 float32, `x = x @ W_i` with 20 different weights,
                then `.sum()` and backward (40 more matmuls). Here BLAS does almost all the
                work: this times what minigrad adds on top of big ops (copies, checks).

Implementations:

  minigrad   the engine under test.
  numpy      the same math with the gradients written by hand: the floor for Python+NumPy.
  torch      PyTorch eager on CPU with torch.set_num_threads(1); skipped if not installed.

Before anything is timed, the three are checked to produce the same loss and gradients
(np.allclose at float32 tolerance), so the benchmark cannot time wrong code. Timing is
timeit-style: a few warm-up calls, then --repeat timed calls of each implementation,
interleaved so that drift during the run hits all three alike, reporting the best (the
least-disturbed run, used for the ratios and targets) and the median. As in timeit, the
garbage collector is off while a call is timed (--gc keeps it on).

Targets, reported as PASS/MISS (a report, not an assertion: the exit code ignores them):

  tiny chain    minigrad <= 1.5x torch
  matmul chain  minigrad <= 1.1x numpy

One caveat on the matmul chain: minigrad keeps more 1 MB arrays alive than the NumPy
floor (every intermediate keeps its .grad for inspection), and whether glibc's malloc
hands those back to the OS between calls, so each call pays page faults for them again,
depends on the process's allocation history. Importing torch happens to change that
history, so the matmul ratio can differ between runs with and without torch.

Run from the repository root:

    python benchmarks/op_overhead.py                 # default: --repeat 20 --warmup 3
    python benchmarks/op_overhead.py --repeat 50 --json results.json
"""

import timing  # imports no numpy, so it can come before BLAS is pinned to one thread

# One thread everywhere. torch is pinned to one thread below; NumPy's BLAS (OpenBLAS or
# MKL) would otherwise use every core for the 512x512 matmuls, and the comparison would
# measure core counts rather than overhead.
timing.use_one_blas_thread()

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    torch = None
else:
    torch.set_num_threads(1)

TINY_OPS = 1000  # elementwise ops in the tiny chain (the final sum is one more)
TINY_SHAPE = (8, 8)
MATMUL_COUNT = 20
MATMUL_SIZE = 512

# Float32 tolerance for the gradient check. The three implementations may round
# differently (torch has its own tanh and its own BLAS), so the absolute tolerance is
# scaled by the size of the reference gradient.
RTOL = 1e-4
ATOL = 1e-5

TARGETS = {
    "tiny chain": ("torch", 1.5),  # minigrad <= 1.5x torch
    "matmul chain": ("numpy", 1.1),  # minigrad <= 1.1x numpy
}


# ---- the data: plain NumPy arrays, shared by all three implementations -------------------


def tiny_chain_data(rng):
    x0 = rng.standard_normal(TINY_SHAPE).astype(np.float32)
    # w near 1 and b small, so 333 rounds of tanh(w * x + b) neither die out nor saturate.
    w = (1.0 + 0.1 * rng.standard_normal(TINY_SHAPE)).astype(np.float32)
    b = (0.1 * rng.standard_normal(TINY_SHAPE)).astype(np.float32)
    return x0, [w, b]


def matmul_chain_data(rng):
    x0 = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE)).astype(np.float32)
    # Scaled by 1/sqrt(n), so x keeps roughly the same magnitude through 20 matmuls.
    scale = 1.0 / np.sqrt(MATMUL_SIZE)
    weights = [
        (scale * rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE))).astype(np.float32)
        for _ in range(MATMUL_COUNT)
    ]
    return x0, weights


# ---- tiny chain: 1,000 elementwise ops on 8x8 ---------------------------------------------
# Each function runs forward and backward once and returns (loss, [grad_w, grad_b]) as
# NumPy arrays. x0 is an input that does not require grad; w and b are leaves that do.


def tiny_chain_minigrad(x0, params):
    w, b = params
    w.grad = b.grad = None
    x = x0
    for i in range(TINY_OPS):
        step = i % 3
        if step == 0:
            x = x * w
        elif step == 1:
            x = x + b
        else:
            x = x.tanh()
    loss = x.sum()
    loss.backward()
    return loss.item(), [w.grad, b.grad]


def tiny_chain_numpy(x0, params):
    w, b = params
    x = x0
    saved = []  # per op, the array its backward needs
    for i in range(TINY_OPS):
        step = i % 3
        if step == 0:
            saved.append(x)  # d(x * w)/dw = x
            x = x * w
        elif step == 1:
            saved.append(None)
            x = x + b
        else:
            x = np.tanh(x)
            saved.append(x)  # d tanh(x)/dx = 1 - tanh(x)**2
    loss = x.sum()

    grad = np.ones_like(x)
    grad_w = np.zeros_like(w)
    grad_b = np.zeros_like(b)
    for i in reversed(range(TINY_OPS)):
        step = i % 3
        if step == 0:
            grad_w += grad * saved[i]
            if i:  # the first op's input is x0, which needs no gradient
                grad = grad * w
        elif step == 1:
            grad_b += grad
        else:
            out = saved[i]
            grad = grad * (1 - out * out)
    return float(loss), [grad_w, grad_b]


def tiny_chain_torch(x0, params):
    w, b = params
    w.grad = b.grad = None
    x = x0
    for i in range(TINY_OPS):
        step = i % 3
        if step == 0:
            x = x * w
        elif step == 1:
            x = x + b
        else:
            x = x.tanh()
    loss = x.sum()
    loss.backward()
    return loss.item(), [w.grad.numpy(), b.grad.numpy()]


# ---- matmul chain: 20 matmuls on 512x512 ---------------------------------------------------
# Same contract: returns (loss, [grad_W_1, ..., grad_W_20]).


def matmul_chain_minigrad(x0, weights):
    for w in weights:
        w.grad = None
    x = x0
    for w in weights:
        x = x @ w
    loss = x.sum()
    loss.backward()
    return loss.item(), [w.grad for w in weights]


def matmul_chain_numpy(x0, weights):
    xs = [x0]  # the input of each matmul, kept for its backward
    for w in weights:
        xs.append(xs[-1] @ w)
    loss = xs[-1].sum()

    grad = np.ones_like(xs[-1])
    grads = [None] * len(weights)
    for i in reversed(range(len(weights))):
        grads[i] = xs[i].T @ grad  # dL/dW_i = x_i^T @ dL/dout
        if i:  # dL/dx_i = dL/dout @ W_i^T; x0 needs no gradient
            grad = grad @ weights[i].T
    return float(loss), grads


def matmul_chain_torch(x0, weights):
    for w in weights:
        w.grad = None
    x = x0
    for w in weights:
        x = x @ w
    loss = x.sum()
    loss.backward()
    return loss.item(), [w.grad.numpy() for w in weights]


# ---- leaves for each implementation -------------------------------------------------------


def as_minigrad(x0, params):
    return mg.tensor(x0), [mg.tensor(p, requires_grad=True) for p in params]


def as_numpy(x0, params):
    return x0, params


def as_torch(x0, params):
    leaves = [torch.tensor(p).requires_grad_(True) for p in params]
    return torch.tensor(x0), leaves


CASES = {
    "tiny chain": (tiny_chain_data, {
        "minigrad": tiny_chain_minigrad,
        "numpy": tiny_chain_numpy,
        "torch": tiny_chain_torch,
    }),
    "matmul chain": (matmul_chain_data, {
        "minigrad": matmul_chain_minigrad,
        "numpy": matmul_chain_numpy,
        "torch": matmul_chain_torch,
    }),
}
CONVERTERS = {"minigrad": as_minigrad, "numpy": as_numpy, "torch": as_torch}


# ---- checking and timing ------------------------------------------------------------------


def check_same_gradients(case, results):
    """Raise unless every implementation matches the NumPy reference (loss and gradients)."""
    ref_loss, ref_grads = results["numpy"]
    for name, (loss, grads) in results.items():
        if name == "numpy":
            continue
        if not np.isclose(loss, ref_loss, rtol=RTOL, atol=ATOL * max(1.0, abs(ref_loss))):
            raise RuntimeError(f"{case}: {name} loss {loss} != numpy loss {ref_loss}")
        if len(grads) != len(ref_grads):
            raise RuntimeError(f"{case}: {name} returned {len(grads)} gradients")
        for i, (got, want) in enumerate(zip(grads, ref_grads)):
            got = np.asarray(got)
            atol = ATOL * max(1.0, float(np.abs(want).max()))
            if got.shape != want.shape or not np.allclose(got, want, rtol=RTOL, atol=atol):
                worst = np.abs(got - want).max() if got.shape == want.shape else "shape"
                raise RuntimeError(
                    f"{case}: {name} gradient {i} differs from the numpy reference "
                    f"(max abs difference {worst}); refusing to time wrong code"
                )


def run_case(case, repeat, warmup, keep_gc, seed):
    make_data, implementations = CASES[case]
    x0, params = make_data(np.random.default_rng(seed))
    names = [n for n in implementations if n != "torch" or torch is not None]

    leaves = {name: CONVERTERS[name](x0, params) for name in names}
    results = {name: implementations[name](*leaves[name]) for name in names}
    check_same_gradients(case, results)

    fns = {name: implementations[name] for name in names}
    return timing.time_interleaved(fns, repeat, warmup, keep_gc, args=leaves)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    timing.add_timing_arguments(parser, seed_help="seed for the input data")
    args = timing.parse_timing_args(parser, argv)

    env = timing.environment(torch)
    print(timing.environment_line(env, args.gc))
    if torch is None:
        print("torch is not importable: the torch column is skipped.")

    all_timings = {}
    for case in CASES:
        all_timings[case] = run_case(case, args.repeat, args.warmup, args.gc, args.seed)
    checked = "minigrad and torch match" if torch is not None else "minigrad matches"
    print(f"gradients checked before timing: {checked} the hand-written numpy reference.\n")
    cases = {case: (timings, TARGETS[case]) for case, timings in all_timings.items()}
    timing.print_table(cases, label_width=13,
                       ratios=(("mg/torch", "minigrad", "torch"),
                               ("mg/numpy", "minigrad", "numpy")))
    print(f"\n(best and median of {args.repeat} timed calls; ratios and targets use the best.)")

    if args.json:
        report = {"environment": env, "repeat": args.repeat, "warmup": args.warmup,
                  "gc_during_timing": args.gc, "cases": {}}
        for case, timings in all_timings.items():
            report["cases"][case] = timing.case_report(timings, *TARGETS[case])
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
