"""Timing and reporting shared by the benchmarks that compare minigrad, NumPy and PyTorch.

Used by op_overhead.py and train_step.py, which import it as `timing` (a script's own
folder is on sys.path when it is run as `python benchmarks/<script>.py`).

This module must not import numpy (or anything that imports it) at module level: the
scripts import it and call use_one_blas_thread() before numpy is imported.
"""

import gc
import os
import platform
import statistics
import time

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def use_one_blas_thread():
    """Set THREAD_ENV_VARS to "1". BLAS libraries (OpenBLAS, MKL) read these variables once,
    when they are loaded, so this must run before numpy (or anything importing it) is."""
    for var in THREAD_ENV_VARS:
        os.environ[var] = "1"


# ---- command line and environment -------------------------------------------------------


def add_timing_arguments(parser, seed_help):
    """The options every benchmark takes: --repeat, --warmup, --gc, --seed, --json."""
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before timing")
    parser.add_argument("--gc", action="store_true",
                        help="keep the garbage collector on while timing (timeit turns it off)")
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH")


def parse_timing_args(parser, argv):
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be >= 1 and --warmup >= 0")
    return args


def environment(torch):
    """Versions and thread settings; torch is the imported module, or None."""
    import numpy as np  # already imported by the caller, after the thread variables were set

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "thread_env": {v: os.environ[v] for v in THREAD_ENV_VARS},
    }


def environment_line(env, keep_gc):
    return (f"python {env['python']}, numpy {env['numpy']}, "
            f"torch {env['torch'] or 'not installed'}; one thread each; gc "
            f"{'on' if keep_gc else 'off'} while timing")


# ---- timing -------------------------------------------------------------------------------


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


def time_interleaved(fns, repeat, warmup, keep_gc, args=None):
    """{name: summary} for fns {name: callable}, each called as fn(*args[name]) (no
    arguments if args is None): warmup untimed rounds, then repeat timed rounds."""
    names = list(fns)
    args = args if args is not None else {name: () for name in names}
    for _ in range(warmup):
        for name in names:
            fns[name](*args[name])
    # Interleaved, in a rotating order: whatever drifts during the run (CPU clock, other
    # load, the state of malloc, which decides how many fresh pages a 1 MB array costs)
    # drifts for all implementations alike instead of biasing whichever ran last.
    samples = {name: [] for name in names}
    for r in range(repeat):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            samples[name].append(time_one_call(fns[name], args[name], keep_gc))
    return {name: summarize(s) for name, s in samples.items()}


def summarize(seconds):
    return {"best_ms": 1e3 * min(seconds), "median_ms": 1e3 * statistics.median(seconds),
            "samples_ms": [1e3 * x for x in seconds]}


# ---- reporting ------------------------------------------------------------------------------


def ratio(timings, stat, a, b):
    if a not in timings or b not in timings:
        return None
    return timings[a][stat] / timings[b][stat]


def target_verdict(baseline, limit, timings):
    """(target text, measured ratio or None, 'PASS' / 'MISS' / 'n/a'), on best-of-N times,
    for the target minigrad <= limit x baseline."""
    text = f"minigrad <= {limit}x {baseline}"
    measured = ratio(timings, "best_ms", "minigrad", baseline)
    if measured is None:
        return text, None, f"n/a (no {baseline})"
    return text, measured, "PASS" if measured <= limit else "MISS"


def print_table(cases, label_width, ratios):
    """Per case a best row (with its target and verdict) and a median row.

    cases: {label: (timings, (baseline, limit))}; ratios: the ratio columns as
    (header, a, b), each showing a's time over b's, e.g. ("mg/torch", "minigrad", "torch")."""

    def ms(timings, name, stat):
        return f"{timings[name][stat]:.3f}" if name in timings else "skipped"

    def times(x):
        return f"{x:.2f}x" if x is not None else "-"

    ratio_headers = "".join(f" {title:>9}" for title, _, _ in ratios)
    header = (
        f"{'case':<{label_width}} {'stat':<7} {'minigrad ms':>12} {'numpy ms':>10} "
        f"{'torch ms':>10}{ratio_headers}   {'target (best)':<22} result"
    )
    print(header)
    print("-" * len(header))
    for case, (timings, (baseline, limit)) in cases.items():
        target, _, verdict = target_verdict(baseline, limit, timings)
        for stat in ("best_ms", "median_ms"):
            label = case if stat == "best_ms" else ""
            row = (
                f"{label:<{label_width}} {stat[:-3]:<7} {ms(timings, 'minigrad', stat):>12} "
                f"{ms(timings, 'numpy', stat):>10} {ms(timings, 'torch', stat):>10}"
            )
            row += "".join(f" {times(ratio(timings, stat, a, b)):>9}" for _, a, b in ratios)
            if stat == "best_ms":
                row += f"   {target:<22} {verdict}"
            print(row)


def case_report(timings, baseline, limit):
    """A case's timings, ratios and target verdict, for the --json report."""
    target, measured, verdict = target_verdict(baseline, limit, timings)
    return {
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
