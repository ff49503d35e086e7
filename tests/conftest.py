"""Shared test set-up: PyTorch as an optional oracle, and float64 helpers.

Tests marked `oracle` compare with PyTorch. Without torch they are skipped, except when
MINIGRAD_REQUIRE_TORCH=1 (set by .ci/run), where a missing torch is a failure: CI must
never pass by skipping the oracle.
"""

import os

import numpy as np
import pytest
import threadpoolctl
from hypothesis import settings

# CI runs the same examples every time (HYPOTHESIS_PROFILE=ci); locally each run explores
# new ones.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Small matrices everywhere: one BLAS thread is fastest (minigrad/threads.py), here and in
# every Python process a test starts (they read the environment before importing NumPy).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
threadpoolctl.threadpool_limits(limits=1)



@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """One process where a learner may stop in the debugger: one task's tests (`-m task1_1`,
    the handout's command), --pdb or --trace. Otherwise the suite runs on every core
    (-n auto in addopts), where `breakpoint()` cannot reach the terminal."""
    selected = config.getoption("markexpr", "") or ""
    if "task" in selected or config.getoption("usepdb", False) or \
            config.getoption("trace", False):
        if config.pluginmanager.hasplugin("xdist"):
            config.option.numprocesses = 0
            config.option.dist = "no"


def pytest_configure(config):
    # One marker per assignment task (tests/test_tasks.py), from the course catalogue.
    from course.catalogue import TASKS

    for task in TASKS:
        config.addinivalue_line("markers", f"{task.id}: grades task {task.number}, {task.title}")


@pytest.fixture
def torch_oracle():
    """The torch module, with one thread; skip (or fail in CI) if absent. Imported here, not
    at the top, so runs that need no oracle do not pay for importing torch."""
    try:
        import torch
    except ImportError:  # torch is a test oracle only, never a dependency
        torch = None
    if torch is None:
        if os.environ.get("MINIGRAD_REQUIRE_TORCH") == "1":
            pytest.fail("torch is not installed, but MINIGRAD_REQUIRE_TORCH=1 requires the oracle")
        pytest.skip("torch is not installed (pip install torch==2.13.0 to run oracle tests)")
    torch.set_num_threads(1)
    return torch


@pytest.fixture
def rng():
    return np.random.default_rng(0)
