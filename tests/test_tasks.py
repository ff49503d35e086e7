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

Each task's tests run only that task's code: the op tests call one op's forward and
backward directly, the engine's tests use only the ops given as examples, attention's
gradients are the exact derivative of the graph your forward built (recorded as it ran,
course/grader/graph.py), not of your backward code, and multi-head attention runs on a
stand-in for task 2.2's function. A blank or wrong task costs only its own tests.
"""

import numpy as np
import pytest

from course.grader.checks import BUILT_IN, load
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
    got = check.compute({k: np.array(v) for k, v in inputs.items()})
    share = judge(check, inputs, expected, got)  # the outputs right, out of all
    assert share.fraction == 1, "\n".join(share.messages)
