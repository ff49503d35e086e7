"""The course-assignment scaffold: blank chosen solutions, hand the copy out, grade it offline.

    python -m course list                       # the tasks, in teaching order
    python -m course make handout/ [--tasks task1_1 task2_2]
    python -m course grade [handout/]           # table + results.json

Solutions are marked in the source between `# BEGIN SOLUTION <task id>: <what>` and
`# END SOLUTION`; the tasks (title, points, files, grading tests) are in catalogue.py.
"""
