"""The Inspect page ("Open the network") renders for every input choice in Streamlit's headless
AppTest, opens a layer chosen by the student, and in a real Chromium shows a feature-map grid
and lists a confusion-matrix cell's images when the cell is clicked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def inspect_page(open_page):
    """One AppTest session on the Inspect page (the first run computes the cached reports)."""
    return open_page("app_pages/inspect.py", timeout=180)


def chart_titles(at) -> list[str]:
    """Titles and panel titles of every plotly chart on the page."""
    titles = []
    for chart in at.get("plotly_chart"):
        layout = json.loads(chart.proto.spec)["layout"]
        titles.append(layout.get("title", {}).get("text", ""))
        titles += [a.get("text", "") for a in layout.get("annotations", [])]
    return titles


def shown(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_page_has_every_section(inspect_page):
    headers = [h.value for h in inspect_page.header]
    assert headers == ["1. The input", "2. The layers", "3. Inside conv1", "4. Where the network looks",
                       "5. How good is it", "6. The map of learned features"]  # the first layer is open
    assert len(inspect_page.dataframe) == 2  # the layer table and the confusion-cell listing


def test_drawing_input(inspect_page, canvas, mnist_test_pixels):
    pixels, labels = mnist_test_pixels
    at = inspect_page
    at.session_state["drawing"] = canvas(pixels[0])  # a 7, as drawn on the canvas
    at.segmented_control(key="inspect_source").set_value("Your drawing").run()
    assert not at.exception, at.exception
    assert shown(at)["Input"] == "drawing" and shown(at)["Prediction"] == str(labels[0])


def test_drawing_input_without_a_drawing_falls_back_to_a_test_image(inspect_page):
    at = inspect_page
    at.session_state["drawing"] = None
    at.segmented_control(key="inspect_source").set_value("Your drawing").run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info][0] == ("No drawing yet: draw a digit on the **Draw a digit** page, then come "
                                             "back. Meanwhile here is test image #0.")
    assert shown(at)["Input"] == "#0"


def test_test_image_by_class_and_by_index(inspect_page, mnist_test_pixels):
    _, labels = mnist_test_pixels
    at = inspect_page
    at.segmented_control(key="inspect_source").set_value("A test image").run()
    at.selectbox(key="inspect_class").set_value(3).run()
    assert not at.exception, at.exception
    first_three = int(np.flatnonzero(labels == 3)[0])
    assert shown(at)["Input"] == f"#{first_three}"
    at.radio(key="inspect_pick").set_value("by index").run()
    at.number_input(key="inspect_index").set_value(1234).run()
    assert not at.exception, at.exception
    assert shown(at)["Input"] == "#1234"


@pytest.mark.parametrize("model", ["cnn", "mlp"])
def test_show_me_a_mistake(inspect_page, mnist_test_pixels, model, request):
    _, labels = mnist_test_pixels
    _, card = request.getfixturevalue(model)
    wrong = round((1 - card["metrics"]["test_accuracy"]) * 10_000)  # the card's accuracy is on the same images
    at = inspect_page
    at.radio(key="inspect_model").set_value(card["name"]).run()
    at.segmented_control(key="inspect_source").set_value("Show me a mistake").run()
    assert not at.exception, at.exception
    assert f"One of the {wrong} test images this network gets wrong." in [c.value for c in at.caption]

    def shown_mistake() -> int:
        index = int(shown(at)["Input"].removeprefix("#"))
        assert shown(at)["Prediction"] != str(labels[index]), f"test image #{index} is answered right"
        return index

    seen = [shown_mistake()]
    [another] = [b for b in at.button if b.label == "Show me another mistake"]
    for _ in range(5):  # a random pick among the mistakes: another one within a few presses
        another.click().run()
        assert not at.exception, at.exception
        seen.append(shown_mistake())
        if seen[-1] != seen[0]:
            break
    assert seen[-1] != seen[0], seen


def test_opening_layers(inspect_page):
    at = inspect_page
    at.radio(key="inspect_model").set_value("digits-cnn").run()
    at.segmented_control(key="inspect_source").set_value("A test image").run()
    for layer, titles in [("conv2", ["conv2: the 16 most active of 64 feature maps<br><sup>14×14 each",
                                     "conv2: the 32 strongest of 2,048 kernels",
                                     "conv2: distribution of its parameters"]),
                          ("pool2", ["pool2: the 16 most active of 64 feature maps<br><sup>7×7 each"]),
                          ("flatten", ["flatten: pool2's 64 maps of 7×7 in one row of 3,136 values"]),
                          ("fc1", ["fc1: 128 units (neurons)", "fc1: distribution"]),
                          ("relu3", ["relu3: fc1's 128 units after ReLU"]),
                          ("dropout", ["dropout: fc1's 128 units passed through unchanged"]),
                          ("fc2", ["logits (the last layer", "fc2: distribution"])]:
        at.radio(key="inspect_layer").set_value(layer).run()
        assert not at.exception, at.exception
        assert at.header[2].value == f"3. Inside {layer}"
        shown_titles = " | ".join(chart_titles(at))
        for title in titles:
            assert title in shown_titles, title
    at.radio(key="inspect_layer").set_value("conv2").run()
    at.selectbox(key="inspect_kernel_choice").set_value("all 2,048").run()
    at.segmented_control(key="inspect_map_choice").set_value("all 64").run()
    assert not at.exception, at.exception
    assert "conv2: 64×32 kernels" in " | ".join(chart_titles(at))
    assert "conv2: 64 feature maps of 14×14" in " | ".join(chart_titles(at))
    at.selectbox(key="inspect_kernel_choice").set_value("input channel 5 (64)").run()
    assert not at.exception, at.exception
    assert "conv2: 64 kernels of 5×5, input channel 5 of 32" in chart_titles(at)
    assert "conv2: 64×32 kernels" not in " | ".join(chart_titles(at))
    predicted = shown(at)["Prediction"]
    assert {f"Grad-CAM on relu2 for class {predicted}", f"Saliency for class {predicted}"} <= set(chart_titles(at))
    other = next(c for c in range(10) if str(c) != predicted)
    at.selectbox(key="inspect_target").set_value(other).run()
    assert not at.exception, at.exception
    assert {f"Grad-CAM on relu2 for class {other}", f"Saliency for class {other}"} <= set(chart_titles(at))


@pytest.mark.browser
def test_browser_shows_a_feature_map_grid(page, app_url, cnn, mnist_test):
    model, _ = cnn
    images, labels = mnist_test
    with torch.no_grad():
        predicted = torch.cat([model(images[i:i + 2000]).argmax(1) for i in range(0, len(labels), 2000)])
    fives_as_threes = int(((labels == 5) & (predicted == 3)).sum())
    page.goto(f"{app_url}/inspect")
    page.get_by_text("1. The input").wait_for(timeout=90_000)
    # conv1 has 32 maps: the 16 most active for this input come first (the rest on demand).
    page.get_by_text("conv1: the 16 most active of 32 feature maps").first.wait_for(timeout=90_000)
    # (The input's title is on two lines, "What the network receives:" / "test image #0, …".)
    for title in ("What the network receives:test image #0", "conv1: the 16 most active of 32 feature maps"):
        chart = page.locator(".js-plotly-plot", has_text=title)
        expect(chart).to_have_count(1)
        expect(chart.locator(".heatmaplayer .hm")).to_have_count(1)  # drawn as one heatmap image
    page.get_by_text("5. How good is it").wait_for(timeout=120_000)
    confusion = page.locator(".js-plotly-plot", has_text="Confusion matrix").first
    confusion.scroll_into_view_if_needed()
    confusion.locator(".scatterlayer .point").nth(5 * 10 + 3).click(force=True)  # true 5, predicted 3
    images_word = "image" if fives_as_threes == 1 else "images"
    page.get_by_text(f"{fives_as_threes} {images_word} of a 5 answered 3:").wait_for(timeout=60_000)
    assert not page.locator('[data-testid="stException"]').count()


def test_mlp_opens_on_its_input_pixels_not_on_units(inspect_page):
    """The MLP's first layer, flatten, holds the input's pixels: its view says so, never "units"."""
    at = inspect_page
    at.radio(key="inspect_model").set_value("digits-mlp").run()
    at.segmented_control(key="inspect_source").set_value("A test image").run()
    at.radio(key="inspect_layer").set_value("flatten").run()
    assert not at.exception, at.exception
    titles = " | ".join(chart_titles(at))
    assert "flatten: the input's 784 pixels in one row" in titles and "(pixels, not neurons)" in titles
    assert "units" not in titles
    captions = " ".join(c.value for c in at.caption)
    assert "Flatten has no weights and no neurons" in captions and "Each bar is one unit" not in captions


def test_mlp_first_layer_shows_what_its_units_look_for(inspect_page):
    at = inspect_page
    at.radio(key="inspect_model").set_value("digits-mlp").run()
    at.segmented_control(key="inspect_source").set_value("A test image").run()
    at.radio(key="inspect_layer").set_value("fc1").run()
    assert not at.exception, at.exception
    look_for = "fc1: what its {} most active units for this input look for (weights as 28×28 images)"
    assert look_for.format(32) in chart_titles(at)
    at.select_slider(key="inspect_unit_count").set_value(64).run()
    assert not at.exception, at.exception
    assert look_for.format(64) in chart_titles(at) and look_for.format(32) not in chart_titles(at)
    assert ("Grad-CAM needs convolution layers; this network (an MLP) has none. The saliency map works for any "
            "network.") in [i.value for i in at.info]
