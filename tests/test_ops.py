"""Every op in minigrad/ops, gradchecked in float64 on hypothesis-drawn shapes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import minigrad as mg
from minigrad.ops import all_ops
from tests.copies import ROOT, copy_project, run_pytest, run_python
from tests.op_cases import OPS
from tests.strategies import case_for

CHECK = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def as_tensors(arrays):
    return [mg.Tensor(a, requires_grad=True, name=f"x{i}") for i, a in enumerate(arrays)]


def test_every_op_in_minigrad_ops_has_a_case():
    """The cases are derived from the ops, so none can be left out (an op of a kind the
    strategies do not know fails test_gradcheck with "no strategy for kind")."""
    assert {case.function for case in OPS} == set(all_ops())
    assert len(all_ops()) >= 32  # every op of the contract, found by walking minigrad/ops


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
def test_gradcheck(spec):
    @CHECK
    @given(case=case_for(spec))
    def check(case):
        arrays, params = case
        mg.gradcheck(lambda *xs: spec.call(*xs, **params), *as_tensors(arrays))

    check()


@pytest.mark.parametrize("spec", OPS, ids=lambda spec: spec.name)
def test_grad_has_the_input_shape_and_dtype(spec):
    @settings(max_examples=10, deadline=None)
    @given(case=case_for(spec))
    def check(case):
        arrays, params = case
        tensors = [mg.Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
        out = spec.call(*tensors, **params)
        out.backward(np.ones(out.shape))
        for t in tensors:
            assert t.grad is not None
            assert t.grad.shape == t.shape
            assert t.grad.dtype == t.dtype

    check()


def readme_op_source() -> str:
    """The Python block that the README's "Write your own op" section saves as a file."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Write your own op"):]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_a_new_op_from_the_readme_is_one_class_that_the_tests_find_unedited(tmp_path):
    copy = copy_project(tmp_path)
    (copy / "minigrad" / "ops" / "softplus.py").write_text(readme_op_source())
    tests = ["tests/test_ops.py", "tests/test_gradcheck.py", "tests/test_oracle_ops.py"]
    done = run_pytest(copy, tests, "-k", "softplus", "-vv")  # -q -vv: one line per test
    found = [line for line in done.stdout.splitlines() if "[softplus]" in line]
    assert done.returncode == 0, done.stdout[-3000:]
    # gradcheck, shape and dtype, the planted fault (caught), and PyTorch (or skipped
    # when torch is missing)
    assert len(found) == 4 and all("PASSED" in line or "SKIPPED" in line for line in found)
    used = run_python(copy, "import minigrad as mg; x = mg.tensor([-50.0, 0.0, 50.0], "
                            "requires_grad=True); mg.softplus(x).sum().backward(); "
                            "print(x.grad.round(3).tolist(), mg.softplus.__doc__)")
    assert used.stdout.startswith("[0.0, 0.5, 1.0] log(1 + exp(a))"), used.stdout + used.stderr
