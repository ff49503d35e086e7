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
    |        raise NotImplementedError("Task 1.1: implement the backward of neg")
"""

import json
import re
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION (?P<task>\w+)(?::\s*(?P<what>.*))?$")
END = re.compile(r"^\s*# END SOLUTION\s*$")


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
    """`text` with the regions of the given tasks replaced by stubs and every other
    region's markers removed (its solution kept)."""
    lines = text.split("\n")
    out, position = [], 0
    for region in find_regions(text, path):
        out.extend(lines[position: region.start])
        task = tasks_by_id.get(region.task)
        if task is not None:
            message = json.dumps(stub_message(task, region.what), ensure_ascii=False)
            out.append(f"{region.indent}raise NotImplementedError({message})")
        else:
            out.extend(lines[region.start + 1: region.end])
        position = region.end + 1
    out.extend(lines[position:])
    return "\n".join(out)
