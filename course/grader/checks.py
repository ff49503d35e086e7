"""A check: inputs drawn at grading time, the student's outputs against expected ones.

`compute(inputs)` runs the student's code (in the grader's sandboxed child, or in-process in
the handout's own tests) and returns {output name: array, or None when nothing came back
(say, no gradient reached q)}. `reference(inputs)` returns the expected outputs without any
solution: the exact derivative of a NumPy formula of the forward (exact.py), a NumPy
formula, or the handout's given code. The grader and the handout's tests (tests/
test_tasks.py) run these same checks, judged by the same compare.judge at the same
tolerance, so an answer passes both or neither. Only what compute returns is judged, so a
check judges behaviour, whatever order or style the student's code has.

`mistakes` name what a wrong output most likely means: each model computes, in the grader,
what a known wrong answer returns for the same inputs; when the student's output matches
one, its sentence goes into the message.

Hidden checks: any .py file in the folder given to `grade --hidden` that defines
`CHECKS = [Check(...), ...]` is graded too (handouts never contain that folder).
"""

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# The modules that define the built-in checks, each with a CHECKS list.
BUILT_IN = ("course.grader.op_checks", "course.grader.engine_checks",
            "course.grader.attention_checks",
            "course.grader.training_checks")
# The specification: the checks, their references and the judge. Handouts carry these files
# (tests/test_tasks.py runs them) and the grader's child gets them, less what would answer
# its task (WITHHELD); none holds a solution. The rest of course/grader/ (the mistake
# models, the sandbox, the runner) is the instructor's alone.
SPECIFICATION = tuple(f"course/grader/{name}.py" for name in (
    "__init__", "checks", "exact", "sum_back", "graph", "compare", "numpy_attention",
    "numpy_multihead", "op_checks", "engine_checks", "attention_checks", "training_checks"))
# What a task's child must not hold, since the check's answer could be taken from it
# rather than computed: exact.py computes every reference (and its complex step would do a
# backward's work), numpy_multihead.py is only a reference; sum_back.py is task 1.2's
# answer by definition and numpy_attention.py task 2.2's forward, which the other tasks'
# checks run as stand-ins. In the child these modules import as sealed ones (child.py).
EVERY_TASK = "*"
WITHHELD = {"exact": EVERY_TASK, "numpy_multihead": EVERY_TASK, "sum_back": ("task1_2",),
            "numpy_attention": ("task2_2",)}


def withheld(task_id: str) -> list:
    """The specification's modules that task `task_id`'s child does not get."""
    return [f"course.grader.{name}" for name, tasks in WITHHELD.items()
            if tasks == EVERY_TASK or task_id in tasks]


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: `model(inputs, expected)` returns the outputs it would give."""

    sentence: str
    model: Callable


@dataclass(frozen=True)
class Check:
    task: str  # the task id it grades
    name: str  # unique within the task, e.g. "tanh" or "causal mask"
    draw: Callable  # numpy Generator -> {name: array}: the inputs, drawn at grading time
    compute: Callable  # inputs -> {output: array or None}: the student's code
    reference: Callable = None  # inputs -> expected outputs, without a solution
    weight: float = 1.0  # its share of the task's points, relative to the other checks
    mistakes: tuple = ()
    labels: dict = field(default_factory=dict)  # output -> how messages call it
    missing: dict = field(default_factory=dict)  # output -> what a None output means
    # Float64 answers: an analytic derivative meets these, finite differences do not.
    rtol: float = 1e-12
    atol: float = 1e-13
    source: str = ""  # the module or file it came from (set when loaded)
    summed_back: bool = False  # outputs in a broadcast shape are summed to the expected one
    # Judge-side, before comparing: (inputs, outputs) -> (outputs, note or None), e.g. the
    # gradients of a recorded graph (graph.py) in place of the record.
    replay: Callable = None

    def expected(self, inputs: dict) -> dict:
        """The expected outputs: the reference, or for a hidden check without one, compute
        run on the grader's own solution."""
        return (self.reference or self.compute)(inputs)

    def label(self, output: str) -> str:
        return self.labels.get(output, output)


def load(source: str) -> list:
    """The checks of a built-in module (dotted name) or of a hidden-check file (a path)."""
    if source.endswith(".py"):
        spec = importlib.util.spec_from_file_location(f"hidden_{Path(source).stem}", source)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(source)
    checks = getattr(module, "CHECKS", None)
    if not isinstance(checks, list) or not all(isinstance(c, Check) for c in checks):
        raise ValueError(f"course grade: {source} must define CHECKS, a list of Check")
    return [Check(**{**c.__dict__, "source": source}) for c in checks]


def hidden_sources(folder) -> list:
    """The hidden-check files in `folder` (sorted, so every run grades in one order)."""
    if folder is None:
        return []
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"course grade: hidden-check folder {folder} does not exist")
    return [str(p.resolve()) for p in sorted(folder.glob("*.py"))]


def checks_for(task_id: str, sources) -> list:
    """Every check of one task, from the given sources, in order; names must be unique."""
    found, seen = [], set()
    for source in sources:
        for check in load(source):
            if check.task != task_id:
                continue
            if check.name in seen:
                raise ValueError(f"course grade: two checks of {task_id} are called "
                                 f"{check.name!r} (the second in {source})")
            seen.add(check.name)
            found.append(check)
    return found


def load_attr(dotted: str):
    """`attention.softmax.Softmax`, imported when a check runs: in the child that is the
    student's copy, in the grader its own."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)
