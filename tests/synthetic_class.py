"""A synthetic class for `course grade-all`: honest answers written four different ways,
blanks, partial work, the classic mistakes, copies of another student's work with the
variables renamed and lines reordered, and submissions that cannot be graded.

The four ways are written independently for the regions where students' code differs most
(task 1.2's sum_to_shape, task 1.4's topological order and backward pass); every other
region is answered with the repository's solution, which the similarity report must treat
as the code many students write alike. With a `quirk`, a student's answers also carry
checks of their own (`assert 417 > 0`) in places of their own, so that a class of hundreds
holds hundreds of different answers, as a real one does.
"""

import ast
import io
import random
import shutil
import tokenize
import zipfile
from pathlib import Path

from tests.copies import ROOT, answer

SUM_TO_SHAPE = "sum_to_shape, which unbroadcast uses"
TOPOLOGICAL = "the topological order of the graph"
BACKWARD_PASS = "the backward pass: send each node's gradient to its inputs"

VARIANTS = {
    SUM_TO_SHAPE: [None, """
while grad.ndim > len(shape):
    grad = grad.sum(axis=0)
for position, size in enumerate(shape):
    if size == 1 and grad.shape[position] > 1:
        grad = grad.sum(axis=position, keepdims=True)
return grad""", """
lead = len(grad.shape) - len(shape)
padded = (1,) * lead + tuple(shape)
axes = [i for i, (have, want) in enumerate(zip(grad.shape, padded))
        if want == 1 and have != 1]
summed = np.sum(grad, axis=tuple(axes), keepdims=True) if axes else grad
return summed.reshape(shape)""", """
result = grad
for _ in range(result.ndim - len(shape)):
    result = np.add.reduce(result, axis=0)
keep = tuple(d for d in range(len(shape)) if shape[d] == 1 and result.shape[d] != 1)
return np.add.reduce(result, axis=keep, keepdims=True) if keep else result"""],
    TOPOLOGICAL: [None, """
visited, post = set(), []
stack = [(root, False)]
while stack:
    node, expanded = stack.pop()
    if expanded:
        post.append(node)
        continue
    if id(node) in visited:
        continue
    visited.add(id(node))
    stack.append((node, True))
    if node._ctx is not None:
        for inp in node._ctx.inputs:
            if inp is not None and inp._requires_grad and id(inp) not in visited:
                stack.append((inp, False))
return post[::-1]""", """
consumers = {}
found, todo = {id(root): root}, [root]
while todo:
    node = todo.pop()
    if node._ctx is None:
        continue
    for inp in node._ctx.inputs:
        if inp is None or not inp._requires_grad:
            continue
        consumers[id(inp)] = consumers.get(id(inp), 0) + 1
        if id(inp) not in found:
            found[id(inp)] = inp
            todo.append(inp)
ready, ordered = [root], []
while ready:
    node = ready.pop()
    ordered.append(node)
    if node._ctx is None:
        continue
    for inp in node._ctx.inputs:
        if inp is None or not inp._requires_grad:
            continue
        consumers[id(inp)] -= 1
        if consumers[id(inp)] == 0:
            ready.append(inp)
return ordered""", """
from collections import deque

reached = {id(root): root}
queue = deque([root])
while queue:
    t = queue.popleft()
    for source in (t._ctx.inputs if t._ctx is not None else ()):
        if source is not None and source._requires_grad and id(source) not in reached:
            reached[id(source)] = source
            queue.append(source)
return sorted(reached.values(), key=lambda t: -t._ctx.seq if t._ctx is not None else 1)"""],
    BACKWARD_PASS: [None, """
grads = {id(root): grad}
for node in order:
    if id(node) not in grads:
        continue
    total = grads.pop(id(node))
    step.keep(node, total)
    if node._ctx is not None:
        sent = step.through(node._ctx, total)
        for inp, g in zip(node._ctx.inputs, sent):
            if g is not None:
                grads[id(inp)] = grads[id(inp)] + g if id(inp) in grads else g""", """
inbox = {id(root): [grad]}
for t in order:
    parts = inbox.pop(id(t), [])
    if not parts:
        continue
    g = parts[0]
    for more in parts[1:]:
        g = g + more
    step.keep(t, g)
    if t._ctx is None:
        continue
    for source, piece in zip(t._ctx.inputs, step.through(t._ctx, g)):
        if piece is not None:
            inbox.setdefault(id(source), []).append(piece)""", """
incoming = {}
incoming[id(root)] = grad
for current in order:
    total = incoming.get(id(current))
    if total is None:
        continue
    del incoming[id(current)]
    step.keep(current, total)
    ctx = current._ctx
    if ctx is None:
        continue
    outs = step.through(ctx, total)
    for k in range(len(ctx.inputs)):
        if outs[k] is None:
            continue
        key = id(ctx.inputs[k])
        incoming[key] = outs[k] if key not in incoming else np.add(incoming[key], outs[k])"""],
}
TASK_OF = {SUM_TO_SHAPE: "task1_2", TOPOLOGICAL: "task1_4", BACKWARD_PASS: "task1_4"}
# A check a student adds of their own accord, always true: `{}` is the student's own bound.
QUIRK = "assert {} > 0"


def indent(body: str, spaces: int = 4) -> str:
    return "\n".join((" " * spaces + line) if line.strip() else "" for line in
                     body.strip("\n").split("\n"))


def variant_body(what: str, index: int, quirk: int | None = None) -> str | None:
    """The body of one honest way (None: the repository's solution, left as it is)."""
    body = VARIANTS[what][index]
    if body is None:
        if quirk is None:
            return None
        from course.regions import find_regions

        name = "minigrad/broadcast.py" if what == SUM_TO_SHAPE else "minigrad/autograd.py"
        body = next(r.body for r in find_regions((ROOT / name).read_text(), name)
                    if r.what == what)
        body = "\n".join(line[4:] for line in body.split("\n"))
    return indent(with_quirks(body, quirk) if quirk is not None else body)


def with_quirks(body: str, quirk: int, count: int = 3) -> str:
    """`body` with `count` checks of the student's own (QUIRK) where statements may go,
    at places drawn from `quirk`: no two students' answers are alike."""
    rng = random.Random(quirk)
    lines = body.strip("\n").split("\n")
    for n in range(count):
        j = _statement_start(lines, rng.randrange(len(lines)))
        margin = lines[j][:len(lines[j]) - len(lines[j].lstrip())]
        lines.insert(j, margin + QUIRK.format(quirk + n))
    return "\n".join(lines)


def _statement_start(lines: list, start: int) -> int:
    """The first line from `start` on where a new statement may go: outside brackets, not
    an else/elif, and not a blank line."""
    for j in list(range(start, len(lines))) + list(range(start)):
        before = "\n".join(lines[:j])
        balanced = sum(before.count(c) for c in "([{") == sum(before.count(c) for c in ")]}")
        if balanced and lines[j].strip() and not lines[j].lstrip().startswith(
                ("else", "elif", "except", "finally")):
            return j
    return 0


def honest(handout: Path, ways: dict, quirk: int | None = None, only=None):
    """Every task the handout blanked (or those in `only`) answered: the regions in `ways`
    ({what: variant index}) in that way."""
    from course.catalogue import BY_ID
    from course.handout import MARKER

    for task in (BY_ID[i] for i in (handout / MARKER).read_text().split()):
        if only is not None and task.id not in only:
            continue
        replacements = {}
        for what, index in ways.items():
            if TASK_OF[what] == task.id:
                body = variant_body(what, index, quirk)
                if body is not None:
                    replacements[what] = body
        answer(handout, task.id, replacements)


# ---- a copy as one student makes of another's ---------------------------------------------

def rename_locals(body: str, seed: int = 0) -> str:
    """`body` with every name it assigns renamed (a region's own variables)."""
    import textwrap

    tree = ast.parse(textwrap.dedent(body))
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)}
    stored |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    stored -= {"grad", "shape", "root", "order", "step"}
    rng = random.Random(seed)
    fresh = {name: f"{rng.choice(['tmp', 'val', 'my', 'x', 'cur'])}_{name[::-1]}{i}"
             for i, name in enumerate(sorted(stored))}
    out, depth, previous = [], 0, None
    tokens = list(tokenize.generate_tokens(io.StringIO(body).readline))
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        following = tokens[i + 1].string if i + 1 < len(tokens) else ""
        keyword_argument = depth > 0 and following == "="
        if tok.type == tokenize.NAME and tok.string in fresh and previous != "." and \
                not keyword_argument:
            tok = tok._replace(string=fresh[tok.string])
        out.append(tok)
        previous = tok.string
    return tokenize.untokenize(out)


def swap_independent_lines(body: str) -> str:
    """`body` with its first two neighbouring statements that do not depend on each other
    swapped (unchanged when there are none)."""
    import textwrap

    lines = body.split("\n")
    tree = ast.parse(textwrap.dedent(body))
    statements = tree.body

    def names(node, kind):
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                and isinstance(n.ctx, kind)}

    for first, second in zip(statements, statements[1:]):
        if isinstance(first, ast.Return | ast.Continue | ast.Break) or \
                isinstance(second, ast.Return | ast.Continue | ast.Break):
            continue
        writes1, writes2 = names(first, ast.Store), names(second, ast.Store)
        reads1, reads2 = names(first, ast.Load), names(second, ast.Load)
        if writes1 & (reads2 | writes2) or writes2 & reads1:
            continue
        a = lines[first.lineno - 1:first.end_lineno]
        b = lines[second.lineno - 1:second.end_lineno]
        return "\n".join(lines[:first.lineno - 1] + b + a + lines[second.end_lineno:])
    return body


def copy_of(original: Path, copy: Path, seed: int, reorder: bool):
    """`copy`: the original's files, each task region's body renamed (and reordered)."""
    from course.regions import ANSWER_BEGIN, ANSWER_END

    shutil.copytree(original, copy)
    for path in copy.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "# BEGIN TASK" not in text:
            continue
        lines, out, body, inside = text.split("\n"), [], [], False
        for line in lines:
            if ANSWER_END.match(line) and inside:
                code = "\n".join(body)
                try:
                    code = rename_locals(code, seed)
                    code = swap_independent_lines(code) if reorder else code
                except (SyntaxError, tokenize.TokenError, ValueError):
                    pass  # a stub or a fragment: copied as it is
                out.extend(code.rstrip("\n").split("\n"))
                body, inside = [], False
            if inside:
                body.append(line)
            else:
                out.append(line)
            if ANSWER_BEGIN.match(line):
                inside = True
        path.write_text("\n".join(out), encoding="utf-8")


# ---- submissions that cannot be graded ------------------------------------------------------

def bad_submissions(folder: Path, template: Path) -> dict:
    """One submission of each kind that cannot be graded: {key: what its row must say}."""
    (folder / "empty.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (folder / "junk.zip").write_bytes(bytes(range(256)) * 64)
    with zipfile.ZipFile(folder / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as bomb:
        with bomb.open("minigrad/zeros.bin", "w") as member:
            for _ in range(64):
                member.write(b"\0" * 2**20)  # 64 MB of zeros, about 64 kB zipped
    shutil.copytree(template, folder / "linked")
    target = folder / "linked" / "minigrad" / "broadcast.py"
    target.unlink()
    target.symlink_to("/etc/passwd")
    shutil.copytree(template, folder / "latin1")
    path = folder / "latin1" / "minigrad" / "broadcast.py"
    path.write_bytes(path.read_bytes().replace(b"# ", "# caf\u00e9 ".encode("latin-1"), 1))
    shutil.copytree(template, folder / "huge")
    with open(folder / "huge" / "data.bin", "wb") as f:
        f.truncate(2**30)  # 1 GB (sparse: it costs no disk)
    shutil.copytree(template, folder / "binary")
    (folder / "binary" / "minigrad" / "autograd.py").write_bytes(bytes(range(256)) * 8)
    return {"empty": "the zip holds no files", "junk": "is not a zip file",
            "bomb": "unpacks to more than 10 MB", "linked": "symbolic link pointing outside",
            "latin1": "is not UTF-8 text", "huge": "data.bin is 1.0 GB",
            "binary": "binary, not Python text"}
