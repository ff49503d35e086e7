"""Hidden checks: `grade` runs every file in this folder too; handouts never contain it.

Each file defines CHECKS, a list of course.grader.checks.Check (see that module);
the helpers that build the built-in checks work here as well. These two ask the same
questions as the built-in ones on shapes a student's tests never tried.
"""

import numpy as np

from course.grader.attention_checks import sdpa_check
from course.grader.op_checks import ELEMENTWISE, op_check

CHECKS = [
    sdpa_check("longer sequences, a mask shared by the batch",
               {"q": (3, 7, 5), "k": (3, 9, 5), "v": (3, 9, 2)}, "boolean"),
    op_check("task1_1", "exp of large and small values", "minigrad.ops.elementwise.Exp",
             lambda rng: {"a": rng.uniform(-30, 30, (4, 5))}, np.exp, mistakes=ELEMENTWISE),
]
