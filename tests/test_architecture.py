"""The shape of the code: the engine imports no tool, and tools reach it through one seam."""

import ast
import re
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from attention import Linear
from minigrad import hooks

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "minigrad"
ENGINE = ["minigrad.tensor", "minigrad.function", "minigrad.autograd", "minigrad.grad_mode",
          "minigrad.checks", "minigrad.convert"]
CORE = ENGINE + ["minigrad.hooks", "minigrad.broadcast", "minigrad.creation",
                 "minigrad.functional", "minigrad.ops", "minigrad.nn"]
TOOLS = "minigrad.debug"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set:
    """Every minigrad module `path` imports, at the top or inside a function, absolute or
    relative (`from .debug import viz` in minigrad/autograd.py is minigrad.debug)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.add(base)
            # `from minigrad import hooks` imports the module minigrad.hooks.
            found |= {f"{base}.{alias.name}" for alias in node.names
                      if is_module(f"{base}.{alias.name}")}
    return {name for name in found if name.split(".")[0] == "minigrad"}


def is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def import_graph() -> dict:
    """{module: the minigrad modules it imports}. A module's own packages are left out:
    Python imports them before the module anyway (`from minigrad import hooks` in
    minigrad/debug/trace.py depends on minigrad.hooks, not on minigrad/__init__.py)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        module = module_name(path)
        graph[module] = {name for name in imports_of(path)
                         if name != module and not module.startswith(name + ".")}
    return graph


def tool_imports_in_the_core(graph) -> dict:
    """{core module: the tool or course modules it imports} (empty when all is well)."""
    found = {}
    for module, imported in graph.items():
        if any(module == core or module.startswith(core + ".") for core in CORE):
            bad = {n for n in imported if n.startswith((TOOLS, "course"))}
            if bad:
                found[module] = bad
    return found


def cycles_through_tools(graph) -> list:
    """Tool modules from which the imports lead back to themselves."""
    cyclic = []
    for start in [m for m in graph if m.startswith(TOOLS)]:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module == start:
                cyclic.append(start)
                break
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
    return cyclic


def test_the_engine_files_import_no_tool():
    graph = import_graph()
    assert all(module in graph for module in ENGINE)
    assert tool_imports_in_the_core(graph) == {}


def test_no_import_cycle_runs_through_the_tools():
    graph = import_graph()
    assert any(m.startswith(TOOLS) for m in graph)
    assert cycles_through_tools(graph) == []


def test_the_checks_catch_a_planted_tool_import(tmp_path, monkeypatch):
    fake = tmp_path / "minigrad"
    (fake / "debug").mkdir(parents=True)
    (fake / "autograd.py").write_text("def f():\n    from minigrad.debug import viz\n")
    (fake / "function.py").write_text("from .debug.trace import trace_backward\n")
    (fake / "debug" / "__init__.py").write_text("from minigrad import autograd\n")
    (fake / "debug" / "trace.py").write_text("from .. import function\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    graph = import_graph()
    assert tool_imports_in_the_core(graph) == {"minigrad.autograd": {"minigrad.debug"},
                                               "minigrad.function": {"minigrad.debug.trace"}}
    assert sorted(cycles_through_tools(graph)) == ["minigrad.debug", "minigrad.debug.trace"]


class CountEvents(hooks.Tool):
    def __init__(self):
        self.forward, self.backward, self.begun = [], [], 0

    def on_forward(self, ctx, arrays, result):
        self.forward.append((ctx.fn.name, ctx.recorded))

    def on_backward_begin(self, root, order):
        self.begun += 1

    def on_backward(self, ctx, grad, grads):
        self.backward.append((ctx.fn.name, [None if g is None else g.shape for g in grads]))


def test_a_tool_sees_every_op_and_every_backward_step_through_the_seam():
    x = mg.ones(2, 3, requires_grad=True)
    with hooks.using(CountEvents()) as tool:
        y = (x * 2).sum()
        with mg.no_grad():
            x * 3  # not recorded, still seen
        y.backward()
    assert tool.forward == [("mul", True), ("sum", True), ("mul", False)]
    assert tool.begun == 1
    assert tool.backward == [("sum", [(2, 3)]), ("mul", [(2, 3), None])]
    assert hooks.active() == ()


def test_a_model_runs_with_no_tool_active_and_its_ops_know_their_module():
    # No tool runs unless one is asked for, inside a Module's forward too; the seam keeps
    # the running module, and each op recorded there notes it (the drawings group by it).
    during = []

    class Probe(Linear):
        def forward(self, x):
            during.append((hooks.active(), hooks.current_module() is self))
            return super().forward(x)

    probe = Probe(3, 2)
    y = probe(mg.ones(1, 3, requires_grad=True))
    assert during == [((), True)] and hooks.current_module() is None
    assert y._ctx.note("module") is probe
    assert (mg.ones(2, requires_grad=True) * 2)._ctx.note("module") is None  # outside


def test_tools_are_per_thread():
    tool = CountEvents()
    done = threading.Event()

    def other_thread():
        (mg.ones(2, requires_grad=True) * 2).sum()
        done.set()

    with hooks.using(tool):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert done.is_set() and tool.forward == []


def test_a_no_grad_decorator_called_from_two_threads_restores_each_threads_mode():
    @mg.no_grad()
    def evaluate(entered, leave):
        entered.set()
        assert leave.wait(10)
        return mg.is_grad_enabled()

    events = {name: threading.Event() for name in ("a in", "a out", "b in", "b out")}
    results = {}

    def plain():  # grad mode on around the call
        results["a"] = evaluate(events["a in"], events["a out"])
        results["a after"] = mg.is_grad_enabled()

    def inside_no_grad():  # grad mode off around the call
        with mg.no_grad():
            results["b"] = evaluate(events["b in"], events["b out"])
            results["b after"] = mg.is_grad_enabled()

    a, b = threading.Thread(target=plain), threading.Thread(target=inside_no_grad)
    a.start()
    assert events["a in"].wait(10)
    b.start()
    assert events["b in"].wait(10)
    events["a out"].set()  # a leaves first, while b is still inside the decorated call
    a.join()
    events["b out"].set()
    b.join()
    assert results == {"a": False, "a after": True, "b": False, "b after": False}


def test_grad_mode_is_per_thread():
    inside = threading.Event()
    leave = threading.Event()

    def hold_no_grad():
        with mg.no_grad():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=hold_no_grad)
    thread.start()
    assert inside.wait(10), "the other thread never entered no_grad"
    try:
        x = mg.ones(2, requires_grad=True)
        y = x * x
        assert y.requires_grad  # another thread's no_grad does not stop this one recording
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0, 2.0])
        x = mg.tensor([1.0, 2.0], requires_grad=True)  # and a graph with a shared node
        y = x * x
        z = y * x
        (y + z).sum().backward()
        np.testing.assert_allclose(x.grad, 2 * x.data + 3 * x.data ** 2)
    finally:
        leave.set()
        thread.join()


COURSE_WORDS = ("course", "grade", "graded", "grading", "grader", "handout", "student")


def course_words_in(folder: Path) -> list:
    """'file:line: word' wherever a library file speaks of courses or grading."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = {w.strip(".,:;()'\"`").lower() for w in line.split()}
            found += [f"{path.name}:{number}: {w}" for w in COURSE_WORDS if w in words]
    return found


def test_the_library_knows_nothing_of_courses(tmp_path):
    """The course tooling lives in course/, outside the packages; their text does not
    speak of it."""
    for package in ("minigrad", "attention"):
        assert course_words_in(PACKAGE.parent / package) == []
    planted = tmp_path / "planted.py"
    planted.write_text('"""It is graded on its values."""\n')
    assert course_words_in(tmp_path) == ["planted.py:1: graded"]


# ---- the reading path in the README -------------------------------------------------------

ENGINE_BUDGET = 200  # lines of rows 1 to 5 (the engine's part of the path), as the README says


def _reading_path():
    """(file, [names], [(first, last) line ranges]) for each row of "Read the code"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Read the code", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            names = re.findall(r"`([\w.]+)`", cells[2])
            spans = [tuple(int(n) for n in part.split("-"))
                     for part in cells[3].replace(" ", "").split(",")]
            rows.append((cells[1].strip("`"), names, spans))
    return rows


def _span(path, dotted: str):
    """(first, last) line of a function or class, `Class.method` or a top-level name."""
    node = ast.parse(path.read_text())
    for part in dotted.split("."):
        node = next(n for n in ast.walk(node) if isinstance(
            n, (ast.FunctionDef, ast.ClassDef)) and n.name == part)
    return node.lineno, node.end_lineno


def test_the_readmes_reading_path_names_real_code_and_its_lines():
    if (ROOT / ".minigrad-handout").exists():
        pytest.skip("a handout's README leaves out the reading path: its line numbers are "
                    "the repository's")
    rows = _reading_path()
    assert len(rows) == 9, rows
    engine = 0
    for number, (file, names, spans) in enumerate(rows, start=1):
        path = ROOT / file
        assert path.exists(), file
        actual = sorted(_span(path, name) for name in names)
        # Adjacent names read as one range ("127-201" for apply and its helpers).
        merged = [list(actual[0])]
        for first, last in actual[1:]:
            if first - merged[-1][1] <= 5:  # only blank lines or a comment between
                merged[-1][1] = last
            else:
                merged.append([first, last])
        assert [tuple(m) for m in merged] == spans, (
            f"README row {number} ({file}): the lines are now "
            + ", ".join(f"{a}-{b}" for a, b in merged))
        if number <= 5:
            engine += sum(b - a + 1 for a, b in merged)
    assert engine <= ENGINE_BUDGET, f"the engine's path is {engine} lines"
    readme = (ROOT / "README.md").read_text()
    assert f"rows 1 to 5) is {engine} lines" in readme
    assert f"within {ENGINE_BUDGET} lines" in readme
