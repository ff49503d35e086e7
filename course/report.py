"""The class report: one self-contained HTML page (plots inlined as PNG) of how a class did.

Scores per task, the mistakes the checks recognised ("Likely mistake: ..."), the checks
most failed, the submissions that could not be graded and why, grading time per
submission, and the pairs of submissions whose answers are unusually alike (similarity.py),
with the two answers side by side.
"""

import base64
import html
import io
from collections import Counter

from course.catalogue import BY_ID


def write_report(path, rows: list, tasks, submissions, threshold=None) -> tuple:
    """Write the page; returns the similar pairs and every pair's similarity."""
    graded = [r for r in rows if not r["problem"]]
    refused = [r for r in rows if r["problem"]]
    pairs, scores = _similarity(submissions, tasks, threshold)
    parts = [_summary(rows, graded, refused, tasks),
             _section("Scores per task", _plot_scores(graded, tasks)),
             _section("Mistakes the checks recognised", _mistakes(graded)),
             _section("Checks most failed", _most_failed(graded)),
             _section("Could not be graded", _refused_table(refused)),
             _section("Grading time per submission", _times(graded)),
             _section("Answers unusually alike", _pairs(pairs, scores))]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Class report</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ margin-top: 2em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: .5em 0; }}
td, th {{ border: 1px solid #ddd; padding: .25em .6em; text-align: left;
          vertical-align: top; }}
th {{ background: #f4f4f4; }} td.n {{ text-align: right; }}
img {{ max-width: 100%; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: .5em; }}
pre {{ background: #f8f8f8; padding: .5em; overflow-x: auto; font-size: 13px;
       margin: 0; }}
.muted {{ color: #777; }}
</style></head><body>
<h1>Class report</h1>
{''.join(parts)}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return pairs, scores


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}\n"


def _summary(rows, graded, refused, tasks) -> str:
    import numpy as np

    totals = [r["score"] for r in graded]
    most = sum(t.points for t in tasks)
    seconds = [r["seconds"] for r in graded]
    facts = [("submissions", len(rows)), ("graded", len(graded)),
             ("could not be graded", len(refused))]
    if totals:
        facts += [("median total", f"{np.median(totals):g} / {most}"),
                  ("mean total", f"{np.mean(totals):.1f} / {most}"),
                  ("full marks", sum(t == most for t in totals)),
                  ("grading time", f"{np.median(seconds):.1f} s per submission (median; "
                                   f"{np.sum(seconds):.0f} s summed over submissions)")]
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td>"
                               "</tr>" for k, v in facts) + "</table>"


def _figure_html(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _plot_scores(graded, tasks) -> str:
    if not graded:
        return "<p class=muted>No submission was graded.</p>"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course.grade_all import task_points

    columns = 4
    rows = (len(tasks) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(12, 2.6 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        points = [p for p in (task_points(r, task) for r in graded) if p != ""]
        ax.hist(points, bins=min(11, task.points + 1), range=(0, task.points),
                color="#4477aa")
        ax.set_title(f"{task.number} {task.title}", fontsize=9)
        ax.set_xlabel(f"points (of {task.points})", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    axes[0][0].set_ylabel("submissions", fontsize=8)
    fig.tight_layout()
    return _figure_html(fig)


def _mistakes(graded) -> str:
    counts = Counter((c["task"], m) for r in graded for c in r["checks"]
                     for m in set(c["mistakes"]))
    # A mistake counts once per submission, however many checks it showed in.
    per_student = Counter()
    for r in graded:
        for key in {(c["task"], m) for c in r["checks"] for m in c["mistakes"]}:
            per_student[key] += 1
    if not counts:
        return "<p class=muted>No recognised mistake.</p>"
    body = "".join(
        f"<tr><td>{BY_ID[task].number}</td><td>{html.escape(sentence)}</td>"
        f"<td class=n>{per_student[(task, sentence)]}</td><td class=n>{n}</td></tr>"
        for (task, sentence), n in sorted(counts.items(),
                                          key=lambda kv: (kv[0][0], -per_student[kv[0]])))
    return ("<table><tr><th>task</th><th>likely mistake</th><th>submissions</th>"
            "<th>checks</th></tr>" + body + "</table>")


def _most_failed(graded, limit: int = 15) -> str:
    failed = Counter((c["task"], c["check"]) for r in graded for c in r["checks"]
                     if not c["passed"])
    if not failed:
        return "<p class=muted>Every check passed in every submission.</p>"
    n = len(graded)
    body = "".join(f"<tr><td>{BY_ID[task].number}</td><td>{html.escape(check)}</td>"
                   f"<td class=n>{count}</td><td class=n>{100 * count / n:.0f}%</td></tr>"
                   for (task, check), count in failed.most_common(limit))
    return ("<table><tr><th>task</th><th>check</th><th>failed in</th><th>of the class</th>"
            "</tr>" + body + "</table>")


def _refused_table(refused) -> str:
    if not refused:
        return "<p class=muted>Every submission was graded.</p>"
    return ("<table><tr><th>student</th><th>why</th></tr>" + "".join(
        f"<tr><td>{html.escape(r['student'])}</td><td>{html.escape(r['problem'])}</td></tr>"
        for r in sorted(refused, key=lambda r: r["student"].lower())) + "</table>")


def _times(graded) -> str:
    if not graded:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = [r["seconds"] for r in graded]
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.hist(seconds, bins=30, color="#66aa55")
    ax.set_xlabel("seconds to grade one submission (in its own sandboxes)")
    ax.set_ylabel("submissions")
    slowest = sorted(graded, key=lambda r: -r["seconds"])[:5]
    table = "<table><tr><th>slowest</th><th>seconds</th></tr>" + "".join(
        f"<tr><td>{html.escape(r['student'])}</td><td class=n>{r['seconds']:.1f}</td></tr>"
        for r in slowest) + "</table>"
    return _figure_html(fig) + table


def _similarity(submissions, tasks, threshold):
    from course.grader.tree import read_answers
    from course.similarity import THRESHOLD, similar_pairs

    answers = {}
    for s in submissions:
        if s.problem or s.path is None:
            continue
        try:
            from course.grader.run import submission_root

            root, _ = submission_root(s.path)
        except (FileNotFoundError, OSError):
            continue
        found = {}
        for task in tasks:
            found.update(read_answers(root, task).bodies)
        name = s.student if s.student == s.key else f"{s.student} [{s.key}]"
        answers[name] = {k: v for k, v in found.items()
                         if not v.strip().startswith('raise NotImplementedError("Task')}
    return similar_pairs(answers, _stubs(tasks), threshold or THRESHOLD)


def _stubs(tasks) -> str:
    from course.regions import stub_message

    return "\n".join(f'raise NotImplementedError("{stub_message(t, "")}")' for t in tasks)


def _pairs(pairs, scores) -> str:
    from course.similarity import MIN_SHARED, THRESHOLD

    intro = (f"<p>Pairs whose task answers share at least {THRESHOLD:.0%} of one side's "
             f"fingerprinted code and at least {MIN_SHARED} tokens, after the handout's "
             "stubs and the code that many students wrote alike are set aside (copydetect "
             f"fingerprints; names do not count). {len(scores)} pairs compared.</p>")
    if not pairs:
        return intro + "<p class=muted>No pair above the threshold.</p>"
    rows = "".join(f"<tr><td>{html.escape(p.first)}</td><td>{html.escape(p.second)}</td>"
                   f"<td class=n>{p.similarity:.0%}</td><td class=n>{p.shared_tokens}</td>"
                   "</tr>" for p in pairs)
    table = ("<table><tr><th>first</th><th>second</th><th>similarity</th>"
             "<th>shared tokens</th></tr>" + rows + "</table>")
    sides = "".join(
        f"<h3>{html.escape(p.first)} and {html.escape(p.second)}: {p.similarity:.0%}</h3>"
        + "".join(f"<p><b>{html.escape(region)}</b></p><div class=pair>"
                  f"<pre>{html.escape(a)}</pre><pre>{html.escape(b)}</pre></div>"
                  for region, a, b in p.regions if a.strip() or b.strip())
        for p in pairs)
    return intro + table + sides
