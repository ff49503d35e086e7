"""Command line: python -m course {list,make,grade} (see course/__init__)."""

import argparse
import importlib.util
import os
import sys
import traceback

from course.catalogue import TASKS
from course.handout import make


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course",
                                     description="Make a student handout and grade it.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the tasks, in order, with their points")
    make_parser = commands.add_parser("make", help="write a student copy with tasks blanked")
    make_parser.add_argument("out_dir")
    make_parser.add_argument("--tasks", nargs="+", help="task ids to blank (default: all)")
    make_parser.add_argument("--force", action="store_true", help="replace out_dir")
    grade_parser = commands.add_parser("grade", help="run each task's tests, score them")
    grade_parser.add_argument("directory", nargs="?", default=".")
    grade_parser.add_argument("--tasks", nargs="+", help="task ids to grade (default: those "
                              "the handout assigned; all for the repository)")
    grade_parser.add_argument("--timeout", type=float, default=120.0,
                              help="seconds each task's tests may take (default 120)")
    grade_parser.add_argument("--results", help="where to write the Gradescope-style "
                              "results (default: results.json in the graded folder)")
    grade_parser.add_argument("--hidden", help="a folder of extra checks to grade too "
                              "(default: hidden_checks/ in the repository, if it exists)")
    grade_parser.add_argument("--seed", type=int, help="draw the inputs from this seed "
                              "(default: a fresh one, printed in the results)")
    visibility = {"choices": ["hidden", "after_due_date", "after_published", "visible"],
                  "default": "after_published",
                  "help": "Gradescope visibility of the hidden checks' entries (default "
                          "after_published; visible joins them to each task's entry)"}
    grade_parser.add_argument("--hidden-visibility", **visibility)
    every = commands.add_parser("grade-all", help="grade a whole class: gradebook, feedback, "
                                "class report, similarity")
    every.add_argument("submissions", help="a folder of submissions (one folder or zip per "
                       "student), or Gradescope's export of the assignment (folder or zip)")
    every.add_argument("--out", required=True, help="the folder for gradebook.csv, "
                       "feedback/, report.html and the saved results")
    every.add_argument("--tasks", nargs="+", help="task ids to grade (default: those the "
                       "handout assigned, as most submissions' .minigrad-handout say)")
    every.add_argument("--jobs", type=int, help="submissions graded at once (default: the "
                       "number of cores)")
    every.add_argument("--regrade", action="store_true", help="grade every submission again, "
                       "not only the new and changed ones")
    every.add_argument("--hidden", help="a folder of extra checks to grade too")
    every.add_argument("--seed", type=int, help="draw every submission's inputs from this seed")
    every.add_argument("--timeout", type=float, default=120.0,
                       help="seconds each task's tests may take (default 120)")
    every.add_argument("--threshold", type=float, help="similarity above which a pair is "
                       "listed (default 0.55)")
    bundle = commands.add_parser("autograder", help="write a Gradescope autograder zip")
    bundle.add_argument("out_zip")
    bundle.add_argument("--tasks", nargs="+", help="task ids to grade (default: all)")
    bundle.add_argument("--hidden", help="a folder of extra checks to include")
    bundle.add_argument("--timeout", type=float, default=120.0)
    bundle.add_argument("--hidden-visibility", **visibility)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileExistsError, FileNotFoundError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 2
    except Exception:  # a bug: the traceback, and a status that no caller takes for a grade
        traceback.print_exc()
        return 3


def _run(args) -> int:
    if args.command == "list":
        for task in TASKS:
            print(f"{task.id:<8} {task.number:<4} {task.title:<30} {task.points:>3} points")
        return 0
    if args.command == "make":
        tasks = make(args.out_dir, args.tasks, force=args.force)
        print(f"wrote {args.out_dir}: {len(tasks)} task(s) blanked: "
              f"{', '.join(t.number for t in tasks)}")
        return 0
    if args.command == "autograder":
        from course.grader.autograder import write_bundle

        write_bundle(args.out_zip, args.tasks, args.hidden, args.timeout,
                     args.hidden_visibility)
        print(f"wrote {args.out_zip}: upload it as the assignment's autograder")
        return 0
    if args.command == "grade-all":
        return _grade_all(args)
    if importlib.util.find_spec("course.grader.run") is None:
        # A handout: no solutions to grade against, so grading yourself runs your tests.
        from course.selfcheck import MARK, marked, self_grade, table

        outcomes = self_grade(args.directory, args.tasks, args.timeout, args.results)
        for r in outcomes:
            if r.score < r.task.points:
                print(marked(f"Task {r.task.number}: {r.task.title}\n{r.output}\n"))
        print(table(outcomes))
        print(f"{MARK}wrote {args.results or os.path.join(args.directory, 'results.json')}")
        return 0 if all(r.score == r.task.points for r in outcomes) else 1
    from course.grader.run import grade, table

    payload = grade(args.directory, args.tasks, args.timeout, args.results, args.hidden,
                    args.seed, hidden_visibility=args.hidden_visibility)
    for test in payload["tests"]:
        if test["score"] < test["max_score"]:
            print(f"{test['name']}\n{test['output']}\n")
    print(payload["output"])
    print(table(payload))
    print(f"wrote {args.results or 'results.json in the graded folder'}")
    return 0 if payload["score"] == payload["max_score"] else 1


def _grade_all(args) -> int:
    if importlib.util.find_spec("course.grade_all") is None:
        print("grade-all grades a class from the instructor's checkout: a handout has no "
              "grader (grade your own work with `python -m course grade`)", file=sys.stderr)
        return 2
    from course.grade_all import grade_all

    try:
        summary = grade_all(args.submissions, args.out, args.tasks, args.jobs, args.regrade,
                            args.hidden, args.seed, args.timeout, args.threshold)
    except KeyboardInterrupt:
        print("\ninterrupted: every submission graded so far is saved in "
              f"{os.path.join(args.out, 'graded')}; run the same command again to grade the "
              "rest", file=sys.stderr)
        return 130
    print(f"graded {summary['graded']} submission(s) ({summary['jobs']} at a time), kept "
          f"{summary['kept']} unchanged, {summary['refused']} could not be graded; "
          f"{summary['seconds']:.1f} s")
    for name in ("gradebook.csv", "feedback/", "report.html"):
        print(f"wrote {os.path.join(args.out, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
