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

import os

# One thread everywhere. torch is pinned to one thread below; NumPy's BLAS (OpenBLAS or
# MKL) would otherwise use every core for the 512x512 matmuls, and the comparison would
# measure core counts rather than overhead. BLAS libraries read these variables once, when
# they are loaded, so they must be set before numpy (or anything importing it) is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

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


def time_one_call(fn, args, keep_gc):
    """Seconds for one call of fn(*args), with the collector off unless keep_gc."""
    gc.collect()
    if not keep_gc:
        gc.disable()
    try:
        start = time.perf_counter()
        fn(*args)
        return time.perf_counter() - start
    finally:
        gc.enable()


def run_case(case, repeat, warmup, keep_gc, seed):
    make_data, implementations = CASES[case]
    x0, params = make_data(np.random.default_rng(seed))
    names = [n for n in implementations if n != "torch" or torch is not None]

    leaves = {name: CONVERTERS[name](x0, params) for name in names}
    results = {name: implementations[name](*leaves[name]) for name in names}
    check_same_gradients(case, results)

    for _ in range(warmup):
        for name in names:
            implementations[name](*leaves[name])
    # Interleaved, in a rotating order: whatever drifts during the run (CPU clock, other
    # load, the state of malloc, which decides how many fresh pages a 1 MB array costs)
    # drifts for all implementations alike instead of biasing whichever ran last.
    samples = {name: [] for name in names}
    for r in range(repeat):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            samples[name].append(time_one_call(implementations[name], leaves[name], keep_gc))

    return {
        name: {
            "best_ms": 1e3 * min(s),
            "median_ms": 1e3 * statistics.median(s),
            "samples_ms": [1e3 * x for x in s],
        }
        for name, s in samples.items()
    }


# ---- reporting ------------------------------------------------------------------------------


def ratio(timings, stat, a, b):
    if a not in timings or b not in timings:
        return None
    return timings[a][stat] / timings[b][stat]


def target_verdict(case, timings):
    """(target text, measured ratio or None, 'PASS' / 'MISS' / 'n/a'), on best-of-N times."""
    baseline, limit = TARGETS[case]
    text = f"minigrad <= {limit}x {baseline}"
    measured = ratio(timings, "best_ms", "minigrad", baseline)
    if measured is None:
        return text, None, f"n/a (no {baseline})"
    return text, measured, "PASS" if measured <= limit else "MISS"


def print_table(all_timings, repeat):
    def ms(timings, name, stat):
        return f"{timings[name][stat]:.3f}" if name in timings else "skipped"

    def times(x):
        return f"{x:.2f}x" if x is not None else "-"

    header = (
        f"{'case':<13} {'stat':<7} {'minigrad ms':>12} {'numpy ms':>10} {'torch ms':>10} "
        f"{'mg/torch':>9} {'mg/numpy':>9}   {'target (best)':<22} result"
    )
    print(header)
    print("-" * len(header))
    for case, timings in all_timings.items():
        for stat in ("best_ms", "median_ms"):
            target, _, verdict = target_verdict(case, timings)
            label = case if stat == "best_ms" else ""
            row = (
                f"{label:<13} {stat[:-3]:<7} {ms(timings, 'minigrad', stat):>12} "
                f"{ms(timings, 'numpy', stat):>10} {ms(timings, 'torch', stat):>10} "
                f"{times(ratio(timings, stat, 'minigrad', 'torch')):>9} "
                f"{times(ratio(timings, stat, 'minigrad', 'numpy')):>9}"
            )
            if stat == "best_ms":
                row += f"   {target:<22} {verdict}"
            print(row)
    print(f"\n(best and median of {repeat} timed calls; ratios and targets use the best.)")


def environment():
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "thread_env": {v: os.environ[v] for v in
                       ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before timing")
    parser.add_argument("--gc", action="store_true",
                        help="keep the garbage collector on while timing (timeit turns it off)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the input data")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be >= 1 and --warmup >= 0")

    env = environment()
    print(f"python {env['python']}, numpy {env['numpy']}, "
          f"torch {env['torch'] or 'not installed'}; one thread each; gc "
          f"{'on' if args.gc else 'off'} while timing")
    if torch is None:
        print("torch is not importable: the torch column is skipped.")

    all_timings = {}
    for case in CASES:
        all_timings[case] = run_case(case, args.repeat, args.warmup, args.gc, args.seed)
    checked = "minigrad and torch match" if torch is not None else "minigrad matches"
    print(f"gradients checked before timing: {checked} the hand-written numpy reference.\n")
    print_table(all_timings, args.repeat)

    if args.json:
        report = {"environment": env, "repeat": args.repeat, "warmup": args.warmup,
                  "gc_during_timing": args.gc, "cases": {}}
        for case, timings in all_timings.items():
            target, measured, verdict = target_verdict(case, timings)
            report["cases"][case] = {
                "timings": timings,
                "ratios_best": {
                    "minigrad/torch": ratio(timings, "best_ms", "minigrad", "torch"),
                    "minigrad/numpy": ratio(timings, "best_ms", "minigrad", "numpy"),
                },
                "ratios_median": {
                    "minigrad/torch": ratio(timings, "median_ms", "minigrad", "torch"),
                    "minigrad/numpy": ratio(timings, "median_ms", "minigrad", "numpy"),
                },
                "target": {"text": target, "ratio": measured, "result": verdict},
            }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
