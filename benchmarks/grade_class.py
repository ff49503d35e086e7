"""Grading a class: synthetic submissions through `course grade-all`, next to grading them
one at a time in a loop, in the same run.

The class (tests/synthetic_class.py): honest answers written four ways (each student with
checks of their own, so no two are alike), blanks, partial work, the classic mistakes,
planted copies of honest students with the variables renamed (half with lines reordered),
and the submissions that cannot be graded (an empty zip, junk, a zip bomb, a link out of
the folder, Latin-1 text, a 1 GB file, binary in place of code).

  grade-all      every submission, `--jobs` at a time (default: the cores), each in its
                 own sandboxes: the total and the time per submission
  one at a time  `grade` on the first `--loop` submissions in a plain loop: per submission,
                 and that rate for the whole class
  similarity     the planted copies found, the other pairs listed, and the scores of both

Run:  python benchmarks/grade_class.py [--students 200] [--loop 20] [--jobs N]
"""

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.grade_all import grade_all  # noqa: E402
from course.grader.run import grade  # noqa: E402
from course.handout import make  # noqa: E402
from tests.copies import answer  # noqa: E402
from tests.synthetic_class import VARIANTS, bad_submissions, copy_of, honest, with_quirks  # noqa: E402
from tests.test_grader import MISTAKES, _mistaken  # noqa: E402


def synthetic_class(folder: Path, students: int, seed: int = 0) -> dict:
    """The class under `folder`; returns {kind: [keys]} (copies as (copy, original))."""
    rng = random.Random(seed)
    template = folder.parent / "template"
    make(template, None)
    folder.mkdir()
    kinds = {"bad": list(bad_submissions(folder, template))}
    n = students - len(kinds["bad"])
    counts = {"copy": n // 20, "blank": n // 20, "partial": n // 10,
              "mistake": len(MISTAKES) * max(1, n // 60)}
    counts["honest"] = n - sum(counts.values())
    all_tasks = (template / ".minigrad-handout").read_text().split()

    def new(key, ways=True, only=None):
        shutil.copytree(template, folder / key)
        if ways:
            choice = {what: rng.randrange(len(bodies)) for what, bodies in VARIANTS.items()}
            honest(folder / key, choice, quirk=rng.randrange(100, 100_000), only=only)

    kinds["honest"] = [f"honest{i:03d}" for i in range(counts["honest"])]
    for key in kinds["honest"]:
        new(key)
    kinds["blank"] = [f"blank{i:03d}" for i in range(counts["blank"])]
    for key in kinds["blank"]:
        new(key, ways=False)
    kinds["partial"] = [f"partial{i:03d}" for i in range(counts["partial"])]
    for key in kinds["partial"]:
        new(key, only=set(rng.sample(all_tasks, rng.randrange(1, len(all_tasks)))))
    kinds["mistake"] = []
    for i in range(counts["mistake"]):
        task_id, what, code, spaces, sentence = MISTAKES[i % len(MISTAKES)]
        key = f"mistake{i:03d}"
        new(key, only=set(all_tasks) - {task_id})
        mistaken = _mistaken(task_id, what, code, spaces, sentence)
        answer(folder / key, task_id, {what: with_quirks(mistaken, rng.randrange(100, 100_000))})
        kinds["mistake"].append(key)
    kinds["copy"] = []
    for i, original in enumerate(rng.sample(kinds["honest"], counts["copy"])):
        key = f"copy{i:03d}"
        copy_of(folder / original, folder / key, seed=i, reorder=i % 2 == 1)
        kinds["copy"].append((key, original))
    shutil.rmtree(template)
    return kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--loop", type=int, default=20,
                        help="submissions graded one at a time for comparison")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="class-benchmark-") as folder:
        folder = Path(folder)
        start = time.perf_counter()
        kinds = synthetic_class(folder / "class", args.students)
        made = time.perf_counter() - start
        print(f"made {args.students} submissions in {made:.0f} s: "
              + ", ".join(f"{len(v)} {k}" for k, v in kinds.items()))

        summary = grade_all(folder / "class", folder / "report", jobs=args.jobs)
        graded = [r for r in summary["rows"] if not r["problem"]]
        total = summary["seconds"]
        print(f"\ngrade-all ({summary['jobs']} at a time): {total:.0f} s for "
              f"{len(summary['rows'])} submissions ({summary['graded']} graded, "
              f"{summary['refused']} refused), {total / len(summary['rows']):.2f} s per "
              "submission")

        loop = sorted(r["key"] for r in graded)[:args.loop]
        start = time.perf_counter()
        for key in loop:
            grade(folder / "class" / key, None, results=folder / "loop.json")
        each = (time.perf_counter() - start) / max(1, len(loop))
        print(f"one at a time: {each:.2f} s per submission ({len(loop)} graded), so "
              f"{each * len(graded):.0f} s for the class's {len(graded)}: grade-all is "
              f"{each * len(graded) / total:.2f}x as fast")

        by_pair = {frozenset((p.first, p.second)): p for p in summary["pairs"]}
        planted = [frozenset(pair) for pair in kinds["copy"]]
        found = [by_pair[p] for p in planted if p in by_pair]
        others = [p for key, p in by_pair.items() if key not in planted]
        planted_scores = sorted(summary["similarity"].get(tuple(sorted(p)), 0.0)
                                for p in planted)
        rest = sorted((v for k, v in summary["similarity"].items()
                       if frozenset(k) not in planted), reverse=True)
        scores = f" (scores {planted_scores[0]:.2f} to {planted_scores[-1]:.2f})" \
            if planted_scores else ""
        print(f"\nsimilarity: {len(found)} of {len(planted)} planted copies listed{scores}; "
              f"{len(others)} other pairs listed; of the {len(rest)} other pairs the "
              f"highest scores are {', '.join(f'{v:.2f}' for v in rest[:5])}")
        shutil.copy(folder / "report" / "report.html", Path(tempfile.gettempdir()) /
                    "class-report.html")
        print(f"the class report: {Path(tempfile.gettempdir()) / 'class-report.html'}")


if __name__ == "__main__":
    main()
