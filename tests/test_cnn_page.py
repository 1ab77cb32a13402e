"""The "How a CNN sees" page: it renders in AppTest on a test image, on the student's drawing and
on a saved CNN with batch normalisation; its worked numbers are the library's and move with the
arrow buttons; every receptive-field layer opens. In a real Chromium at 1400, 820 and 390 px, a
click on a feature-map cell changes the worked numbers, and nothing sticks out of its column
(screenshots in $NNVIZ_SCREENSHOTS when set)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from nnviz.convolution import worked_convolution

from browser_fit import content_problems, settle


def worked_line(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Σ products"))


def numbers_in(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+\.\d+", text)]


def decoded(z) -> np.ndarray:
    """A plotly array as sent to the browser: a list, or plotly.py's base64 ``bdata`` form."""
    if isinstance(z, dict):
        import base64
        shape = [int(v) for v in str(z["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), z["dtype"]).reshape(shape)
    return np.array(z, float)


@pytest.fixture(scope="module")
def cnn_page(open_page):
    return open_page("app_pages/cnn.py", timeout=180)


def test_the_page_works_through_the_strongest_cell_of_a_test_image(cnn_page, cnn, mnist_test):
    at = cnn_page
    assert [h.value for h in at.header] == ["The network and the input", "1. One convolution, worked through",
                                            "2. Receptive field", "3. What each channel looks for"]
    row, col = at.session_state["cnn_row"], at.session_state["cnn_col"]
    w = worked_convolution(cnn[0], mnist_test[0][:1], "conv1", 0, row, col)
    assert w.output == w.feature_map.max()  # it opens on the channel's strongest cell
    total, bias, output = numbers_in(worked_line(at))
    assert (bias, output) == (round(w.bias, 4), round(w.output, 4))
    assert total == pytest.approx(w.output - w.bias, abs=1e-3)


def test_arrow_buttons_move_the_kernel_and_change_the_numbers(cnn_page, cnn, mnist_test):
    at = cnn_page
    before = worked_line(at)
    row, col = at.session_state["cnn_row"], at.session_state["cnn_col"]
    at.button(key="cnn_move_down").click().run()
    assert not at.exception
    assert (at.session_state["cnn_row"], at.session_state["cnn_col"]) == (min(row + 1, 27), col)
    w = worked_convolution(cnn[0], mnist_test[0][:1], "conv1", 0, min(row + 1, 27), col)
    assert numbers_in(worked_line(at))[2] == round(w.output, 4) and worked_line(at) != before


def test_conv2_shows_all_input_channels_and_every_step(cnn_page):
    at = cnn_page
    at.segmented_control(key="cnn_layer").set_value("conv2").run()
    assert not at.exception
    assert "over all 32 input channels" in worked_line(at)
    assert at.session_state["cnn_row"] < 14 and at.session_state["cnn_col"] < 14
    steps = [m.value for m in at.markdown if re.match(r"\*\*\d\. ", m.value)]
    assert [s.split("**")[1] for s in steps] == ["1. ReLU", "2. max pooling"]
    assert any("fc1" in s.value or "flatten" in s.value for s in at.success)


def test_every_layer_opens_in_the_receptive_field_section(cnn_page):
    at = cnn_page
    for layer in ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc1", "relu3", "fc2"]:
        at.selectbox(key="cnn_rf_layer").set_value(layer).run()
        assert not at.exception, layer
        captions = " ".join(c.value for c in at.caption)
        assert "theoretical receptive field" in captions


def test_the_students_drawing_is_the_input(open_page, mnist_test_pixels, canvas):
    pixels, labels = mnist_test_pixels
    at = open_page("app_pages/cnn.py", drawing=canvas(pixels[1]))
    assert at.segmented_control(key="cnn_source").value == "Your drawing"
    from nnviz.preprocess import mnist_style

    window = json.loads(next(c for c in at.get("plotly_chart") if "cnn_window" in c.proto.id).proto.spec)
    assert np.allclose(decoded(window["data"][0]["z"]), mnist_style(canvas(pixels[1])).image, atol=1e-6)


def test_a_saved_cnn_with_batch_norm(open_page, tmp_path, monkeypatch):
    from nnviz.checkpoints import save_checkpoint
    from nnviz.models import CNN

    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path))
    torch.manual_seed(0)
    model = CNN(channels=(4, 6), hidden=16, batch_norm=True, pool_before_norm=True).eval()
    save_checkpoint(model, {"architecture": {"kind": "cnn", "channels": [4, 6], "hidden": 16, "batch_norm": True,
                                             "pool_before_norm": True}, "dataset": "mnist"}, tmp_path / "my-bn-cnn")
    at = open_page("app_pages/cnn.py", saved_models_mine={"my-bn-cnn"})
    at.radio(key="cnn_model").set_value("my-bn-cnn").run()
    assert not at.exception
    steps = [m.value.split("**")[1] for m in at.markdown if re.match(r"\*\*\d\. ", m.value)]
    assert steps == ["1. max pooling", "2. batch normalisation", "3. ReLU"]
    assert "no bias" in worked_line(at)


# --- in a real browser ---------------------------------------------------------------------------

FEATURE_MAP_CELL = """(title) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => (g.layout.title.text || '').includes(title));
  if (!gd) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.l2p(xa.d2l(3)), y: box.top + ya._offset + ya.l2p(ya.d2l(5))};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 820, 390])
def test_a_click_on_a_feature_map_cell_works_it_through(chromium, app_url, width):
    context = chromium.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{app_url}/cnn")
        page.get_by_text("2. Receptive field").wait_for()
        line = page.get_by_text(re.compile(r"^Σ products")).first
        line.wait_for()
        before = line.inner_text()
        chart = page.locator('[data-testid="stPlotlyChart"]', has_text="Feature map conv1:0").first
        chart.scroll_into_view_if_needed()
        page.wait_for_function(f"({FEATURE_MAP_CELL})('Feature map conv1:0') !== null")
        point = page.evaluate(f"({FEATURE_MAP_CELL})('Feature map conv1:0')")
        page.mouse.move(point["x"], point["y"])
        page.mouse.click(point["x"], point["y"])
        # the position inputs show the clicked cell (row 5, column 3), and the numbers follow
        page.wait_for_function("""() => { const v = [...document.querySelectorAll('input[type=number]')]
            .filter(i => /^(Row|Column) \\(/.test(i.getAttribute('aria-label') || '')).map(i => i.value);
            return v[0] === '5' && v[1] === '3'; }""", timeout=60_000)
        page.wait_for_function("(before) => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('Σ products') && p.innerText !== before)",
                               arg=before, timeout=60_000)
        assert not page.locator('[data-testid="stException"]').count()
        if shots := os.environ.get("NNVIZ_SCREENSHOTS"):
            height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
            page.set_viewport_size({"width": width, "height": min(int(height) + 50, 9000)})
            settle(page)
            page.screenshot(path=str(Path(shots) / f"cnn-{width}.png"), full_page=True)
        assert content_problems(page) == []
    finally:
        context.close()
