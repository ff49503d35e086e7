"""Finding solution regions in source files, and replacing them with stubs.

A region is the lines between a `# BEGIN SOLUTION <task id>: <what>` line and a
`# END SOLUTION` line, each alone on its line. For example (shown with a leading '|' so
that this docstring is not itself a region):

    |    def backward(ctx, grad):
    |        # BEGIN SOLUTION task1_1: the backward of neg
    |        return -grad
    |        # END SOLUTION

becomes, in a student copy,

    |    def backward(ctx, grad):
    |        # BEGIN TASK 1.1: the backward of neg
    |        raise NotImplementedError("Task 1.1: implement the backward of neg")
    |        # END TASK 1.1

The student writes between the TASK markers. The grader takes only those lines (the
"answer") from a submission and puts them into its own copy of the file, in place of the
solution: `find_answers` reads them, `splice` puts them in.
"""

import json
import re
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION (?P<task>\w+)(?::\s*(?P<what>.*))?$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
# The markers a handout keeps around each stub: what the student's answer sits between.
ANSWER_BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN TASK (?P<number>\d+\.\d+): (?P<what>.*?)\s*$")
ANSWER_END = re.compile(r"^\s*# END TASK (?P<number>\d+\.\d+)\s*$")


@dataclass
class Region:
    path: str
    task: str
    what: str
    indent: str
    start: int  # line index of the BEGIN marker
    end: int  # line index of the END marker
    body: str  # the solution lines between the markers


def find_regions(text: str, path: str = "<text>") -> list:
    """Every region in `text`; malformed markers are errors naming the file and line."""
    lines = text.split("\n")
    regions, open_region = [], None
    for number, line in enumerate(lines):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_region is not None:
                raise ValueError(f"{path}:{number + 1}: BEGIN SOLUTION inside another region "
                                 f"(opened at line {open_region.start + 1})")
            open_region = Region(path, begin["task"], (begin["what"] or "").strip(),
                                 begin["indent"], number, -1, "")
        elif end:
            if open_region is None:
                raise ValueError(f"{path}:{number + 1}: END SOLUTION without a BEGIN")
            open_region.end = number
            open_region.body = "\n".join(lines[open_region.start + 1: number])
            regions.append(open_region)
            open_region = None
    if open_region is not None:
        raise ValueError(f"{path}:{open_region.start + 1}: BEGIN SOLUTION is never closed")
    return regions


def stub_message(task, what: str) -> str:
    return f"Task {task.number}: implement {what or task.title.lower()}"


def blank(text: str, tasks_by_id: dict, path: str = "<text>") -> str:
    """`text` with the regions of the given tasks replaced by stubs between TASK markers,
    and every other region's markers removed (its solution kept)."""
    lines = text.split("\n")
    out, position = [], 0
    for region in find_regions(text, path):
        out.extend(lines[position: region.start])
        task = tasks_by_id.get(region.task)
        if task is not None:
            message = json.dumps(stub_message(task, region.what), ensure_ascii=False)
            out.append(f"{region.indent}# BEGIN TASK {task.number}: {region.what}")
            out.append(f"{region.indent}raise NotImplementedError({message})")
            out.append(f"{region.indent}# END TASK {task.number}")
        else:
            out.extend(lines[region.start + 1: region.end])
        position = region.end + 1
    out.extend(lines[position:])
    return "\n".join(out)


# ---- a submission's answers, and the grader's copy with them put in ------------------------

@dataclass
class Answer:
    """What a student wrote between `# BEGIN TASK n: what` and `# END TASK n`."""

    number: str  # "1.1"
    what: str
    body: str
    line: int = 0  # the line number of the body's first line in the submitted file


def find_answers(text: str, path: str) -> tuple:
    """(answers, problems) in a submitted file. Never raises: a damaged marker (a BEGIN
    without its END, an END without a BEGIN, one inside another) becomes a problem naming
    the file, the line and the task, and the answers it touches are left out."""
    lines = text.replace("\r\n", "\n").split("\n")
    answers, problems, open_at, current = [], [], None, None
    for number, line in enumerate(lines):
        begin, end = ANSWER_BEGIN.match(line), ANSWER_END.match(line)
        if begin:
            if current is not None:
                problems.append((current["number"], f"{path}:{open_at + 1}: the BEGIN TASK "
                                 f"{current['number']} marker has no END before line "
                                 f"{number + 1}"))
            current, open_at = begin.groupdict(), number
        elif end:
            if current is None or end["number"] != current["number"]:
                problems.append((end["number"], f"{path}:{number + 1}: END TASK "
                                 f"{end['number']} without its BEGIN TASK marker"))
                current = None
                continue
            answers.append(Answer(current["number"], current["what"],
                                  "\n".join(lines[open_at + 1: number]), open_at + 2))
            current = None
    if current is not None:
        problems.append((current["number"], f"{path}:{open_at + 1}: the BEGIN TASK "
                         f"{current['number']} marker is never closed (END TASK "
                         f"{current['number']} is missing)"))
    return answers, problems


def splice(text: str, bodies: dict, path: str = "<text>", placed: list | None = None) -> str:
    """The grader's own `text` with each region's markers removed, and its body replaced by
    `bodies[(task id, what)]` where given (else the solution stays). `placed`, if given,
    gets (key, first line, number of lines) of each body put in, to map errors back."""
    lines = text.split("\n")
    out, position = [], 0
    for region in find_regions(text, path):
        out.extend(lines[position: region.start])
        key = (region.task, region.what)
        body = bodies.get(key)
        if body is not None and placed is not None:
            placed.append((key, len(out) + 1, body.count("\n") + 1))
        out.extend(lines[region.start + 1: region.end] if body is None else body.split("\n"))
        position = region.end + 1
    out.extend(lines[position:])
    return "\n".join(out)
