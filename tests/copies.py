"""A throwaway copy of the project, for tests that change its code and run its tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_project(tmp_path: Path) -> Path:
    """The packages, tests and examples, copied under tmp_path/copy."""
    copy = tmp_path / "copy"
    for folder in ("minigrad", "attention", "tests", "examples"):
        shutil.copytree(ROOT / folder, copy / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def run_pytest(copy: Path, tests: list, *options) -> subprocess.CompletedProcess:
    """pytest on `tests` inside the copy, importing the copy's packages."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *options, *tests], cwd=copy, env=env, capture_output=True,
                          text=True, timeout=600)


def run_python(copy: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run([sys.executable, "-c", code], cwd=copy.parent, env=env,
                          capture_output=True, text=True, timeout=120)
