"""The Home and Draw pages render without exceptions in Streamlit's headless AppTest, and the
Draw page answers a real MNIST digit injected as the session's drawing."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

TIMEOUT = 120
APP = str(Path(__file__).resolve().parent.parent / "app.py")


def canvas_from_mnist(pixels28: np.ndarray) -> np.ndarray:
    """A 280×280 RGBA canvas (white ink on black, like the Draw page's) holding a real digit."""
    big = np.asarray(Image.fromarray(pixels28).resize((200, 200), Image.Resampling.BILINEAR))
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[40:240, 40:240, :3] = big[..., None]
    return canvas


@pytest.fixture
def app():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def test_home_lists_the_shipped_models_with_their_accuracy(app):
    assert app.title[0].value.startswith("nnviz")
    from nnviz.checkpoints import load_checkpoint
    shown = [m.value for m in app.metric if m.label == "Test accuracy"]
    for name in ("digits-cnn", "digits-mlp"):
        _, card = load_checkpoint(name)
        assert any(name in md.value for md in app.markdown)
        assert f"{card['metrics']['test_accuracy']:.2%}" in shown


def test_draw_page_without_a_drawing_asks_for_one(app):
    app.switch_page("app_pages/draw.py").run()
    assert not app.exception, app.exception
    assert app.metric[0].value == "—"
    assert any("Draw a digit" in i.value for i in app.info)


@pytest.mark.parametrize("model", ["digits-cnn", "digits-mlp"])
def test_draw_page_answers_an_injected_drawing(app, mnist_test_pixels, model):
    pixels, labels = mnist_test_pixels
    app.switch_page("app_pages/draw.py")
    app.session_state["drawing"] = canvas_from_mnist(pixels[0])  # a 7
    app.run()
    app.radio(key="draw_model").set_value(model).run()
    assert not app.exception, app.exception
    prediction = {m.label: m.value for m in app.metric}
    assert prediction["Prediction"] == str(labels[0])
    assert float(prediction["Confidence"].rstrip("%")) > 50
    assert len(app.get("plotly_chart")) == 2


def test_clearing_the_canvas_forgets_the_drawing(app, mnist_test_pixels):
    pixels, _ = mnist_test_pixels
    app.switch_page("app_pages/draw.py")
    app.session_state["drawing"] = canvas_from_mnist(pixels[1])
    app.run()
    assert app.metric[0].value != "—"
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert app.metric[0].value == "—"
    assert app.session_state["drawing"] is None
