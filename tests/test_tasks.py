"""The tests of the course assignment, one marker per task: `python -m pytest -m task1_1`.

Each test is one of the grader's own checks (course/grader/*_checks.py), run here on your
code, in this process: the same kind of inputs, the same expected values, the same judge
and the same tolerance. So an answer passes here exactly when the grader gives it that
check's points (the grader draws fresh inputs, and may have hidden checks of its own).

The expected values need no solution: an op's gradient is the exact derivative of a NumPy
formula of its forward (the complex step, course/grader/exact.py, good to about 1e-16),
attention's values come from a short NumPy version of the formula, and the training step
is replayed by hand from its docstring. The tolerance is float64's (about 1e-12): an
analytic backward meets it, finite differences of the forward do not.

Each task's tests run only that task's code where they can: the engine's tests use only
the ops given as examples, the op tests call one op's forward and backward directly, and
multi-head attention runs on a stand-in for task 2.2's function. The gradients through
attention (2.2, 2.3) need your engine and op backwards too; their messages say so.
"""

import numpy as np
import pytest

from course.grader.checks import BUILT_IN, Partial, load
from course.grader.compare import judge

SEED = 20_241  # the grader draws its own inputs from a fresh seed at every grading


def _cases():
    for source in BUILT_IN:
        for position, check in enumerate(load(source)):
            yield pytest.param(check, position, marks=getattr(pytest.mark, check.task),
                               id=f"{check.task} {check.name}")


@pytest.mark.parametrize("check, position", list(_cases()))
def test_task(check, position):
    inputs = check.draw(np.random.default_rng([SEED, position]))
    expected = check.expected({k: np.array(v) for k, v in inputs.items()})
    error = None
    try:
        got = check.compute({k: np.array(v) for k, v in inputs.items()})
    except Partial as partial:  # the forward values came back, the gradients did not
        got, error = partial.outputs, partial.error
    verdict = judge(check, inputs, expected, got, None if error is None else {
        "type": type(error).__name__, "message": str(error)})
    if verdict.fraction < 1 and error is not None:
        raise AssertionError("\n".join(verdict.messages)) from error
    assert verdict.fraction == 1, "\n".join(verdict.messages)
