"""The Home and Draw pages render without exceptions in Streamlit's headless AppTest, and the
Draw page answers a real MNIST digit injected as the session's drawing."""

import pytest

DRAW = "app_pages/draw.py"


def test_home_lists_the_shipped_models_with_their_accuracy(open_page, cnn, mlp, tmp_path, monkeypatch):
    from nnviz.checkpoints import TRAINED_DIR, read_card

    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path))  # no models saved by users: the three shipped ones
    app = open_page()
    assert app.title[0].value.startswith("nnviz")
    shown = [m.value for m in app.metric if m.label == "Test accuracy"]
    assert len(shown) == 3
    markdown = [md.value for md in app.markdown]
    numpy_card = read_card(TRAINED_DIR / "digits-numpy.json")
    for name, kind, (_, card) in (("digits-cnn", "Convolutional network (CNN)", cnn),
                                  ("digits-mlp", "Multi-layer perceptron (MLP)", mlp),
                                  ("digits-numpy", "Multi-layer perceptron (MLP), written from scratch in NumPy",
                                   (None, numpy_card))):
        assert f"**{name}** · {kind}" in markdown
        assert f"{card['metrics']['test_accuracy']:.2%}" in shown


def test_draw_page_without_a_drawing_asks_for_one(open_page):
    app = open_page(DRAW)
    assert app.metric[0].label == "Prediction" and app.metric[0].value == "—"
    assert [i.value for i in app.info] == ["Draw a digit: the canvas is empty or almost empty."]


@pytest.mark.parametrize("model", ["digits-cnn", "digits-mlp"])
def test_draw_page_answers_an_injected_drawing(open_page, canvas, mnist_test_pixels, model):
    pixels, labels = mnist_test_pixels
    app = open_page(DRAW, drawing=canvas(pixels[0]))  # a 7
    app.radio(key="draw_model").set_value(model).run()
    assert not app.exception, app.exception
    prediction = {m.label: m.value for m in app.metric}
    assert prediction["Prediction"] == str(labels[0])
    assert float(prediction["Confidence"].rstrip("%")) > 50
    [bars, image] = app.main.get("html")  # (stylesheets go to the page's head, not the main area)
    assert "Softmax probabilities" in bars.proto.body and "data:image/png;base64," in image.proto.body


def test_clearing_the_canvas_forgets_the_drawing(open_page, canvas, mnist_test_pixels):
    pixels, labels = mnist_test_pixels
    app = open_page(DRAW, drawing=canvas(pixels[1]))
    assert app.metric[0].value == str(labels[1])
    [clear] = [b for b in app.button if b.label == "Clear the canvas"]
    clear.click().run()
    assert not app.exception, app.exception
    assert app.metric[0].value == "—"
    assert app.session_state["drawing"] is None
