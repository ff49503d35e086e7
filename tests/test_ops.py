"""Every op in minigrad/ops, gradchecked in float64 on hypothesis-drawn shapes."""

import inspect

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


def readme_op_source() -> tuple:
    """The two Python blocks of the README's "Write your own op" section: the op's file,
    and its function for minigrad/functional.py."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Write your own op"):]
    blocks = section.split("```python\n")[1:3]
    return tuple(block.split("```", 1)[0] for block in blocks)


def test_a_new_op_from_the_readme_is_one_class_that_the_tests_find_unedited(tmp_path):
    copy = copy_project(tmp_path)
    op, function = readme_op_source()
    (copy / "minigrad" / "ops" / "softplus.py").write_text(op)
    functional = copy / "minigrad" / "functional.py"
    text = functional.read_text()
    before = text.index("# Every public function here")  # beside the others, before the list
    functional.write_text(text[:before] + function + "\n\n" + text[before:])
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


# ---- mg.<name>: the functions derived from the ops ------------------------------------------

def test_every_op_has_its_function_and_every_function_its_op():
    """mg.<name> is written out in minigrad/functional.py for every op but the two reached
    through Tensor syntax (x.astype, x[i]); a new op without one is named here."""
    ops = {op.name: op for op in mg.ops.all_ops()}
    functions = {name: getattr(mg, name) for name in mg.functional.__all__}
    lacking = sorted(set(ops) - set(functions) - {"cast", "getitem"})
    assert not lacking, f"ops without a function in minigrad/functional.py: {lacking}"
    for name, function in functions.items():
        if name in ("concat", "stack", "split", "transpose", "clip"):
            continue  # written by hand: a list of tensors, or PyTorch's argument names
        assert function.op is ops[name], name
        assert inspect.getsourcefile(function).endswith("minigrad/functional.py"), name


def test_each_op_is_a_function_with_its_name_docstring_and_signature():
    assert mg.exp.__doc__ == mg.ops.elementwise.Exp.__doc__
    assert str(inspect.signature(mg.sum)) == "(a, axis=None, keepdims=False)"
    assert {"exp", "sum", "matmul", "where", "masked_fill", "concat"} <= set(mg.__all__)
    assert "getitem" not in mg.__all__ and not hasattr(mg, "cast")  # x[i], x.astype(t)


def test_op_functions_take_inputs_and_options_by_position_or_by_keyword():
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = mg.tensor([10.0, 20.0], requires_grad=True)
    y = mg.mul(a=a, b=b)  # inputs by keyword still join the graph
    mg.sum(y, 1, keepdims=True).sum().backward()
    np.testing.assert_array_equal(a.grad, [[10.0, 20.0], [10.0, 20.0]])
    np.testing.assert_array_equal(b.grad, [4.0, 6.0])
    assert mg.sum(a, axis=0).shape == (2,) and mg.swapaxes(a, 0, 1).shape == (2, 2)
    np.testing.assert_array_equal(mg.masked_fill(a, mask=a.data > 2, value=0.0).data,
                                  [[1.0, 2.0], [0.0, 0.0]])


@pytest.mark.parametrize("call", [
    lambda x: mg.exp(x, 5),             # an argument too many
    lambda x: mg.sum(x, 1, axis=0),     # the same option twice
    lambda x: mg.mul(x),                # an input missing
    lambda x: mg.sum(x, dims=0),        # an option it does not have
], ids=["extra", "repeated", "missing", "unknown"])
def test_op_functions_refuse_arguments_they_cannot_take(call):
    with pytest.raises(TypeError):
        call(mg.ones(2, 2, requires_grad=True))
