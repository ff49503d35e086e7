"""The instructor's grader: the student's code computes, the grader judges.

    python -m course grade SUBMISSION [--tasks ...] [--hidden DIR] [--seed N]

For each task, `tree.py` builds a scratch copy of this installation's own packages with
only that task's answers taken from the submission (the lines between its TASK markers);
edits anywhere else are listed as ignored and change nothing. `child.py` runs in that copy,
in a separate time-limited process, and writes what the student's code computed (.npz
arrays and JSON, never pickle) for inputs this process drew from a fresh seed. This
process computes the expected values with its own solutions, compares them (`compare.py`:
the first differing element, the shapes, and the likely mistake), and scores each check.

The checks themselves (`checks.py` and the files it lists) are ordinary functions run on
both sides: in the child with the student's answer, here with the solution. This package
is the instructor's: handouts leave it out, since its mistake models are right answers
with one thing changed.
"""
