"""Stepping through backward: the recorded steps, the frames, and the HTML page in Chromium."""

import os
import shutil
import warnings

import numpy as np
import pytest

import minigrad as mg
from attention import AttentionModel, cross_entropy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small():
    x = mg.tensor([[1.0, 2.0]], requires_grad=True, name="x")
    w = mg.tensor([[0.5, -1.0, 0.0], [1.0, 0.25, 2.0]], requires_grad=True, name="w")
    return x, w, (x @ w).tanh().sum()


def test_steps_follow_execution_order_with_incoming_and_outgoing_gradients():
    x, w, loss = small()
    with mg.trace_backward() as trace:
        loss.backward()
    assert [s.op for s in trace.steps] == ["sum", "tanh", "matmul"]
    last = trace.steps[-1]
    assert last.grad_shape == (1, 3)
    assert [(s.input_index, s.to, s.shape) for s in last.sent] == [(0, "x", (1, 2)),
                                                                    (1, "w", (2, 3))]
    assert last.sent[1].norm == pytest.approx(np.linalg.norm(w.grad), rel=1e-6)
    table = str(trace)
    assert table.splitlines()[0].split()[:2] == ["step", "op"]
    assert "-> [1] w (2, 3)" in table
    assert len(table.splitlines()) == 2 + 3 + 4  # header, rule, 3 steps, 4 gradients sent
    assert max(len(line) for line in table.splitlines()) < 80


def test_recording_stops_when_the_block_ends():
    _, _, loss = small()
    with mg.trace_backward() as trace:
        pass
    loss.backward()
    assert len(trace) == 0
    with pytest.raises(RuntimeError, match="nothing was recorded"):
        trace.frames()


def test_frame_k_highlights_step_k_and_shows_only_the_gradients_known_by_then():
    x, w, loss = small()
    with mg.trace_backward() as trace:
        loss.backward()
    frames = [f.source for f in trace.frames()]
    assert len(frames) == len(trace) + 1
    assert frames[0].count("grad: not yet") == 4  # everything but the output
    assert frames[1].count("grad: not yet") == 3  # sum's backward reached the tanh output
    assert "grad: not yet" not in frames[-1]
    for source in frames:
        assert source.count("#ffd54f") == 2  # one op and its output box


def toy_trace(tmp_path):
    mg.manual_seed(0)
    model = AttentionModel(10, 3, d_model=8, n_heads=2, positional="learned", max_len=5)
    ids = np.random.default_rng(0).integers(0, 10, (2, 5))
    loss = cross_entropy(model(ids), ids % 3)
    with mg.trace_backward() as trace:
        loss.backward()
    return trace, trace.to_html(str(tmp_path / "backprop.html"))


def test_html_page_is_self_contained(tmp_path):
    trace, path = toy_trace(tmp_path)
    page = open(path, encoding="utf-8").read()
    assert page.count("<svg") == 2  # one drawing, restyled at each step, and its overview
    assert os.path.getsize(path) < 400_000, os.path.getsize(path)
    assert "http://" not in page.replace("http://www.w3.org", "")  # no network needed
    assert "<script src" not in page and "<link" not in page


def _browser():
    """A headless Chromium driven by Selenium, or a skip (a failure under CI)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        chromium = None
    if not (chromium and driver):
        if os.environ.get("MINIGRAD_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium, chromedriver and selenium are required under CI")
        pytest.skip("needs Debian's chromium and chromium-driver, and selenium")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_html_page_steps_with_buttons_and_keys_in_headless_chromium(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    trace, path = toy_trace(tmp_path)
    browser = _browser()
    try:
        browser.get("file://" + os.path.abspath(path))

        def frame():
            body = browser.find_element(By.TAG_NAME, "body")
            return int(body.get_attribute("data-frame")), int(body.get_attribute("data-pending"))

        def highlighted():
            return browser.find_elements(By.CSS_SELECTOR, "#graph g.current")

        first_pending = frame()[1]
        assert frame()[0] == 0 and first_pending > 0  # only the output's gradient is known
        browser.find_element(By.ID, "next").click()
        assert frame()[0] == 1
        assert browser.find_element(By.ID, "counter").text == f"frame 1 of {len(trace)}"
        assert browser.find_element(By.ID, "caption").text.startswith(
            f"Step 1: {trace.steps[0].op}.backward")
        assert len(highlighted()) == 2  # the op that ran, and the tensor it made
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
        assert frame()[0] == 2 and frame()[1] < first_pending
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
        assert frame()[0] == 1
        browser.find_element(By.ID, "last").click()
        # The last frame: every tensor that needs a gradient has one, none faded.
        assert frame() == (len(trace), 0)
        assert not browser.find_elements(By.CSS_SELECTOR, "#graph g.pending")
    finally:
        browser.quit()


def test_a_trace_records_one_backward_and_names_modules():
    mg.manual_seed(0)
    model = AttentionModel(5, 2, d_model=8)
    loss = model(np.array([[1, 2, 3]])).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with mg.trace_backward() as trace:
            loss.backward(retain_graph=True)
            loss.backward()
    assert trace.ignored_passes == 1 and any("one backward()" in str(w.message) for w in caught)
    assert any(step.output.startswith("head: ") for step in trace.steps)
    assert trace.steps[0].index == 1  # steps count from 1, as the HTML page does


@pytest.mark.slow  # measures memory at several lengths: run by .ci/run
def test_recording_a_long_chain_takes_memory_linear_in_its_length():
    import tracemalloc

    def peak(n):
        x = mg.tensor([1.0], requires_grad=True)
        y = x
        for _ in range(n):
            y = y * 1.0
        tracemalloc.start()
        with mg.trace_backward() as trace:
            y.backward(np.ones(1))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(trace) == n
        return top

    small, large = peak(1000), peak(4000)
    # A copy of the gradient table per step grew 16-fold here; linear growth is 4-fold.
    assert large < 6 * small, (small, large)


@pytest.mark.slow
def test_html_page_keeps_controls_caption_and_the_current_node_in_view_at_1280x800(tmp_path):
    from selenium.webdriver.common.by import By

    trace, path = toy_trace(tmp_path)
    browser = _browser()
    try:
        browser.set_window_size(1280, 800)
        browser.get("file://" + os.path.abspath(path))
        inner = browser.execute_script("return [window.innerWidth, window.innerHeight]")

        def inside(element):
            r = browser.execute_script("var r = arguments[0].getBoundingClientRect();"
                                       "return [r.left, r.top, r.right, r.bottom];", element)
            return r[0] >= 0 and r[1] >= 0 and r[2] <= inner[0] and r[3] <= inner[1]

        def text_px(g):
            return browser.execute_script("return arguments[0].getBoundingClientRect()"
                                          ".height;", g.find_element(By.TAG_NAME, "text"))

        # It opens on the overview: every module folded, the whole model in the window,
        # legible; a click on a module's box shows its ops.
        folded = browser.find_elements(By.CSS_SELECTOR, "#folded g.node")
        assert folded and all(inside(g) and text_px(g) >= 11 for g in folded)
        block = [g for g in folded if "blocks.0" in g.text][0]
        block.click()
        assert not browser.find_element(By.ID, "folded").is_displayed()
        shown = [g for g in browser.find_elements(By.CSS_SELECTOR, "#graph g.node")
                 if inside(g) and g.find_elements(By.TAG_NAME, "text")]
        assert any(g.text.strip() == "softmax" for g in shown) or len(shown) > 3
        browser.find_element(By.ID, "fold").click()
        assert browser.find_element(By.ID, "folded").is_displayed()
        for k in range(len(trace) + 1):
            assert int(browser.find_element(By.TAG_NAME, "body").get_attribute(
                "data-frame")) == k
            for control in ("next", "prev", "caption", "counter"):
                assert inside(browser.find_element(By.ID, control)), (k, control)
            if k == 0:
                browser.find_element(By.ID, "next").click()
                continue
            current = browser.find_elements(By.CSS_SELECTOR, "#graph g.current")
            assert current and all(inside(g) for g in current), k
            assert text_px(current[0]) >= 11, k  # legible: at least 11 px tall on screen
            shown = browser.find_element(By.ID, "explain").get_attribute("textContent")
            assert shown == str(trace.steps[k - 1].explain()), k
            assert browser.find_elements(By.CSS_SELECTOR, "#heat td")
            browser.find_element(By.ID, "next").click()
    finally:
        browser.quit()


README_WIDTH = 880  # px: the width GitHub gives a README's pictures


def _readme_picture():
    import re

    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    (path,) = re.findall(r"!\[the toy model's graph\]\(([^)]+)\)", readme)
    return os.path.join(ROOT, path)


def test_the_readme_graph_is_legible_at_readme_width():
    import re

    svg = open(_readme_picture(), encoding="utf-8").read()
    width_pt = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    shown_px = min(README_WIDTH, width_pt * 4 / 3)  # a picture is never scaled up
    smallest = min(float(f) for f in re.findall(r'font-size="([\d.]+)"', svg))
    assert smallest * shown_px / width_pt >= 10, smallest * shown_px / width_pt


def _clashing_labels(browser, path) -> list:
    """Pairs of texts in an SVG, as Chromium lays it out, whose ink overlaps."""
    browser.get("file://" + path)
    boxes = browser.execute_script(
        "return Array.from(document.querySelectorAll('text')).map(function (t) {"
        " var r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom,"
        " t.textContent]; });")

    def clash(a, b):
        # A text's box includes its font's ascent and descent, so the lines of one label
        # touch: a clash is ink over ink, half a line or more.
        wide = min(a[2], b[2]) - max(a[0], b[0])
        tall = min(a[3], b[3]) - max(a[1], b[1])
        return wide > 2 and tall > 0.5 * min(a[3] - a[1], b[3] - b[1])

    return [(a[4], b[4]) for i, a in enumerate(boxes) for b in boxes[i + 1:] if clash(a, b)]


@pytest.mark.slow
def test_the_readme_graph_has_no_overlapping_labels_in_chromium(tmp_path):
    planted = tmp_path / "planted.svg"
    planted.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50">'
                       '<text x="10" y="20" font-size="12">a label</text>'
                       '<text x="14" y="22" font-size="12">another</text></svg>')
    browser = _browser()
    try:
        assert _clashing_labels(browser, str(planted)) == [("a label", "another")]
        assert _clashing_labels(browser, _readme_picture()) == []
    finally:
        browser.quit()
