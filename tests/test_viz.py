"""Graph drawings: exact DOT for a known expression, module clusters and boxes, escaping,
summaries of big graphs, and rendering to SVG and PNG without a system Graphviz."""

import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from attention import MultiHeadAttention
from minigrad import viz


def small_graph():
    x = mg.tensor([[1.0, 2.0]], requires_grad=True, name="x")
    w = mg.tensor([[0.5, -1.0, 0.0], [1.0, 0.25, 2.0]], requires_grad=True, name="w")
    y = (x @ w).tanh().sum()
    y.name = "loss"
    return x, w, y


def parse(source):
    """(nodes {name: label}, edges {(a, b)}) from DOT text."""
    nodes = dict(re.findall(r"^\s*(\w+) \[label=(<.*?>) ", source, flags=re.M))
    edges = set(re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.M))
    return nodes, edges


def test_dot_of_a_known_expression_has_exactly_the_expected_nodes_edges_and_labels():
    x, w, y = small_graph()
    y.backward()
    nodes, edges = parse(viz.draw(y).source)
    # Tensors t0..t4 (root first) and one op node per computed tensor.
    assert set(nodes) == {"t0", "op0", "t1", "op1", "t2", "op2", "t3", "t4"}
    assert edges == {("op0", "t0"), ("t1", "op0"), ("op1", "t1"), ("t2", "op1"),
                     ("op2", "t2"), ("t3", "op2"), ("t4", "op2")}
    assert nodes["op0"] == "<sum>" and nodes["op1"] == "<tanh>" and nodes["op2"] == "<matmul>"
    assert nodes["t0"].startswith("<<B>loss</B><BR/>() float32<BR/>")
    assert "grad: 1." in nodes["t0"]
    labels = {name: label for name, label in nodes.items() if name in ("t3", "t4")}
    by_name = {("w" if "<B>w</B>" in v else "x"): v for v in labels.values()}
    assert "(2, 3) float32" in by_name["w"] and "(1, 2) float32" in by_name["x"]
    # A tiny tensor shows its gradient's values: dloss/dx = (1 - tanh^2) @ w^T.
    expected = (1 - np.tanh(x.data @ w.data) ** 2) @ w.data.T
    shown = re.search(r"grad: \[\[(.*?)\]\]", by_name["x"]).group(1)
    np.testing.assert_allclose([float(v) for v in shown.split(",")], expected[0], atol=1e-3)


def test_without_backward_there_are_no_gradient_lines_and_data_can_be_shown():
    _, _, y = small_graph()
    source = viz.draw(y, show_data=True).source
    assert "grad:" not in source
    assert "data: [[1., 2.]]" in source


def test_big_tensors_show_norm_min_max():
    w = mg.randn(20, 20, requires_grad=True, name="big")
    (w * 2).sum().backward()
    label = parse(viz.draw(w * 1).source)[0]
    assert any("grad: norm 40, min 2, max 2" in v for v in label.values())


def test_names_with_quotes_backslashes_and_angle_brackets_render_literally(tmp_path):
    tricky = 'a "quoted" \\ <name> & more'
    x = mg.ones(2, requires_grad=True, name=tricky)
    graph = viz.draw((x * 2).sum())
    assert "a &quot;quoted&quot; \\ &lt;name&gt; &amp; more" in graph.source
    svg = viz.render_bytes(graph.source, "svg").decode()
    assert "a &quot;quoted&quot; \\ &lt;name&gt; &amp; more" in svg or \
           'a "quoted" \\ &lt;name&gt; &amp; more' in svg


def test_nan_and_inf_are_drawn_in_red():
    x = mg.tensor([1.0, 0.0], requires_grad=True, name="x")
    with np.errstate(divide="ignore"):
        y = mg.log(x)
    source = viz.draw(y, show_data=True).source
    assert re.search(r'<FONT COLOR="#d32f2f">data: \[ +0., -inf\]', source)
    assert 'color="#d32f2f"' in source and "penwidth=3" in source


def mha_graph():
    mg.manual_seed(0)
    mha = MultiHeadAttention(8, 2)
    loss = mha(mg.randn(2, 3, 8)).sum()
    loss.backward()
    return mha, loss


def test_clusters_follow_the_modules_of_multihead_attention():
    _, loss = mha_graph()
    source = viz.draw(loss, modules="cluster").source
    clusters = set(re.findall(r"subgraph cluster_([\w.]+)", source))
    assert clusters == {"q_proj", "k_proj", "v_proj", "out_proj"}
    # Each projection's cluster holds its weight, bias, and its matmul and add.
    block = source[source.index("subgraph cluster_q_proj"):]
    block = block[: block.index("}")]
    assert block.count("\n") >= 8


def test_collapsing_draws_each_module_as_one_box():
    _, loss = mha_graph()
    nodes, edges = parse(viz.draw(loss, modules="collapse").source)
    boxes = {name: label for name, label in nodes.items() if name.startswith("m")}
    assert sorted(re.search(r"<B>(.*?)</B>", v).group(1) for v in boxes.values()) == \
        ["k_proj", "out_proj", "q_proj", "v_proj"]
    assert all(re.search(r"Linear<BR/>[34] ops", v) for v in boxes.values())  # matmul, add..
    out_box = next(n for n, v in boxes.items() if "out_proj" in v)
    assert any(a == out_box for a, _ in edges)  # out_proj feeds the final sum
    assert not any("weight" in v for v in nodes.values())  # parameters are inside boxes


def test_highlight_marks_the_given_tensor_and_its_op():
    x, w, y = small_graph()
    hidden = y._ctx.inputs[0]  # the tanh output
    source = viz.draw(y, highlight=[hidden]).source
    nodes = dict(re.findall(r"^\s*(\w+) \[(.*)\]$", source, flags=re.M))
    assert sum("#ffd54f" in attrs for attrs in nodes.values()) == 2  # the box and its op


def test_past_the_size_limit_the_drawing_summarises():
    x = mg.ones(2, requires_grad=True)
    for _ in range(2000):
        x = x * 1.0001
    graph = viz.draw(x.sum(), max_nodes=200)
    nodes, _ = parse(graph.source)
    assert len(nodes) <= 210
    assert "more tensors not drawn" in graph.source and "mul x" in graph.source


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_renders_svg_and_png_without_a_system_graphviz(tmp_path):
    # Runs in a child process whose PATH has no `dot`, so only the pip-installed renderer
    # can draw.
    script = tmp_path / "draw.py"
    script.write_text(
        "import shutil, sys\n"
        "assert shutil.which('dot') is None, 'a system dot is on PATH'\n"
        "import minigrad as mg\n"
        "from attention import MultiHeadAttention\n"
        "from minigrad import viz\n"
        "mha = MultiHeadAttention(8, 2)\n"
        "loss = mha(mg.randn(2, 3, 8)).sum()\n"
        "loss.backward()\n"
        "g = viz.draw(loss, modules='cluster')\n"
        f"viz.render(g, {str(tmp_path / 'g.svg')!r})\n"
        f"viz.render(g, {str(tmp_path / 'g.png')!r})\n"
        f"viz.render(g, {str(tmp_path / 'g.dot')!r})\n"
        "print(viz.renderer()[0])\n"
    )
    scripts = os.path.dirname(sys.executable)
    path = os.pathsep.join([scripts] + [p for p in os.environ["PATH"].split(os.pathsep)
                                        if not (shutil.which("dot", path=p))])
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env={**os.environ, "PATH": path})
    assert done.returncode == 0, done.stderr
    assert "graphviz-pure" in done.stdout or shutil.which("dot", path=path)
    svg = (tmp_path / "g.svg").read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg
    assert "q_proj" in svg and len(svg) > 5_000
    width, height = _png_size((tmp_path / "g.png").read_bytes())
    assert width > 300 and height > 300
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_jupyter_display_uses_the_available_renderer():
    _, _, y = small_graph()
    svg = viz.draw(y)._repr_image_svg_xml()
    assert "<svg" in svg and "matmul" in svg


def test_unknown_format_is_refused_by_name(tmp_path):
    _, _, y = small_graph()
    with pytest.raises(ValueError, match=r"unknown format '\.pdf'"):
        viz.render(viz.draw(y), str(tmp_path / "g.pdf"))


def test_drawing_keeps_an_edge_per_input_and_respects_max_nodes_after_collapsing():
    x = mg.ones(2, requires_grad=True, name="x")
    edges = viz.draw(x * x).source.count(" -> op0")
    assert edges == 2  # x feeds mul twice
    mg.manual_seed(0)
    mha = MultiHeadAttention(8, 2)
    h = mha(mg.randn(1, 2, 8))
    for _ in range(300):
        h = h * 1.001
    source = viz.draw(h.sum(), max_nodes=60).source
    assert source.count("[label=") <= 70 and "more tensors not drawn" in source


def test_graph_render_method_works_without_a_system_graphviz(tmp_path):
    x = mg.ones(2, requires_grad=True, name="x")
    path = viz.draw((x * 2).sum()).render(str(tmp_path / "g"), format="png")
    assert path.endswith("g.png") and open(path, "rb").read(4) == b"\x89PNG"
