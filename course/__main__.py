"""Command line: python -m course {list,make,grade} (see course/__init__)."""

import argparse
import os
import sys
import traceback

import importlib.util

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
    if importlib.util.find_spec("course.grader.run") is None:
        # A handout: no solutions to grade against, so grading yourself runs your tests.
        from course.selfcheck import MARK, grade, marked, table

        outcomes = grade(args.directory, args.tasks, args.timeout, args.results)
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


if __name__ == "__main__":
    sys.exit(main())
