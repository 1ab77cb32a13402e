"""The "Compare two networks" page and the "What each channel looks for" section: headless (AppTest)
and in a real Chromium at 1400, 820 and 390 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testkit.browser_drawing import wait_until_idle

SHOTS = Path(os.environ.get("NNVIZ_SCREENSHOTS", "/tmp/nnviz-screenshots"))


def test_two_networks_answer_the_same_input(open_page, cnn, mlp, mnist_test):
    import torch

    at = open_page("app_pages/compare.py", timeout=300)
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {"digits-cnn answers", "digits-mlp answers"}
    images, _ = mnist_test
    for name, (model, _) in (("digits-cnn", cnn), ("digits-mlp", mlp)):
        with torch.no_grad():
            assert metrics[f"{name} answers"] == str(int(model(images[:1]).argmax()))  # test image #0
    assert any("no convolution layers" in i.value for i in at.info)  # the MLP has no Grad-CAM, and says so
    at.slider(key="compare_shift").set_value(6).run()
    assert not at.exception
    from ui.compare_panel import shifted

    moved = torch.from_numpy(shifted((images[0, 0] * 0.3081 + 0.1307).clamp(0, 1).numpy(), 6))
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    for name, (model, _) in (("digits-cnn", cnn), ("digits-mlp", mlp)):
        with torch.no_grad():
            p = torch.softmax(model(((moved - 0.1307) / 0.3081)[None, None]), 1)[0]
        assert shown[f"{name} answers"] == (str(int(p.argmax())), f"{float(p.max()):.1%} sure")


def test_the_channel_section_shows_every_channel_and_its_examples():
    from streamlit.testing.v1 import AppTest

    def section():
        from ui.channel_views import channel_section
        channel_section("digits-cnn")

    at = AppTest.from_function(section, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert [o for o in at.radio(key="channels_layer").options][:2] == ["conv1's channels (after its ReLU, relu1)",
                                                                       "conv2's channels (after its ReLU, relu2)"]
    assert len(at.selectbox(key="channels_channel").options) == 32
    at.radio(key="channels_layer").set_value("fc2").run()
    assert not at.exception
    assert len(at.selectbox(key="channels_channel").options) == 10


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 820, 390])
def test_compare_page_renders_in_chromium(chromium, app_url, width):
    context = chromium.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(180_000)
    try:
        page.goto(f"{app_url}/compare")
        page.get_by_text("4. Their first layers").wait_for()
        wait_until_idle(page)
        # input, 2 × bars, shift curves, Grad-CAM, 2 × saliency, 2 × occlusion, 2 × first layer
        page.wait_for_function("document.querySelectorAll('[data-testid=\"stPlotlyChart\"]').length >= 11")
        page.get_by_text("digits-cnn answers").wait_for()
        page.get_by_text("digits-mlp answers").wait_for()
        assert not page.locator('[data-testid="stException"]').count()
        # Streamlit scrolls inside its main block: make the viewport as tall as the page to see it all
        height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": width, "height": min(int(height) + 50, 12000)})
        wait_until_idle(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"compare-{width}.png"), full_page=True)
    finally:
        context.close()
