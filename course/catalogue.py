"""The task catalogue: every assignment task, in the order that teaches, with its points.

A task's solution regions are found in its files by their `# BEGIN SOLUTION <id>` marker;
its grading tests are the tests marked `@pytest.mark.<id>` (tests/test_tasks.py). Each
task's tests exercise only that task's code, so a blank or a wrong answer in one task never
costs points in another.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CourseTask:
    id: str  # also the pytest marker of its grading tests
    title: str
    points: int
    files: tuple  # where its solution regions are (paths from the repository root)
    summary: str  # what the student writes, for the handout README

    @property
    def number(self) -> str:
        """'task1_3' -> '1.3', as the stubs and the README call it."""
        return self.id[len("task"):].replace("_", ".")


TASKS = [
    CourseTask("task1_1", "Elementwise backward", 10,
         ("minigrad/ops/arithmetic.py", "minigrad/ops/elementwise.py"),
         "The backward of div, exp, log, sqrt, tanh, sigmoid and relu. Add, sub, mul and "
         "neg are done for you as examples."),
    CourseTask("task1_2", "Undoing broadcasting", 10, ("minigrad/broadcast.py",),
         "sum_to_shape (the heart of unbroadcast): sum a gradient over the axes "
         "broadcasting added or stretched."),
    CourseTask("task1_3", "Reductions and matmul", 15,
         ("minigrad/ops/reduce.py", "minigrad/ops/matmul.py"),
         "The backward of sum, mean and max, and of matrix multiplication (vectors, "
         "matrices, batches)."),
    CourseTask("task1_4", "The backward engine", 15, ("minigrad/autograd.py",),
         "topological_order, and backpropagate: the chain rule, sending each node's "
         "gradient to its inputs and adding up what every tensor receives."),
    CourseTask("task2_1", "Softmax and cross-entropy", 15,
         ("attention/softmax.py", "attention/losses.py"),
         "The backward of softmax, log_softmax and the fused cross-entropy."),
    CourseTask("task2_2", "Scaled dot-product attention", 10, ("attention/attention.py",),
         "softmax(q k^T / sqrt(d_k)) v, with boolean and causal masks."),
    CourseTask("task2_3", "Multi-head attention", 15, ("attention/multihead.py",),
         "Project, split into heads, attend, merge the heads, project out; self- and "
         "cross-attention."),
    CourseTask("task2_4", "The training loop", 10, ("attention/train.py",),
         "optimizer_step: batch, forward, loss, zero_grad, backward, clip, step."),
]

BY_ID = {task.id: task for task in TASKS}


def select(ids=None) -> list:
    """The tasks named by `ids` (all when None), in catalogue order; unknown ids are errors."""
    if not ids:
        return list(TASKS)
    unknown = [i for i in ids if i not in BY_ID]
    if unknown:
        raise ValueError(f"course: unknown task(s) {unknown}; known: {list(BY_ID)}")
    return [task for task in TASKS if task.id in ids]
