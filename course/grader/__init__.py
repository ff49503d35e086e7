"""The instructor's grader: the student's code computes, the grader judges.

    python -m course grade SUBMISSION [--tasks ...] [--hidden DIR] [--seed N]

For each task, `tree.py` builds a scratch copy of this installation's own packages with
only that task's answers taken from the submission (the lines between its TASK markers);
edits anywhere else are listed as ignored and change nothing. `child.py` runs in that copy,
in a separate time-limited process, and writes what the student's code computed (.npz
arrays and JSON, never pickle) for inputs this process drew from a fresh seed. This
process computes the expected values with each check's reference (no solution needed:
`exact.py`), compares them (`compare.py`: the first differing element, the shapes, and the
likely mistake), and scores each check.

The checks (`checks.py`, the files it lists, and the references they use) are the
specification: handouts carry them, and the handout's tests (tests/test_tasks.py) run
them. The rest (the mistake models in `models.py`, which are right answers with one thing
changed, the runner, the sandbox) is the instructor's alone.
"""
