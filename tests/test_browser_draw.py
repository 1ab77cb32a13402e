"""A person's path through the app in a real Chromium: open the Draw page, draw a 7 with the
mouse, read the network's answer; clear the canvas and draw a 1; a dash gets a warning; a finger
draws on a phone and a tablet; the page fits a laptop, a tablet and a phone; the Home page lists
the models."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from testkit.browser_drawing import (DASH, ONE, SEVEN, canvas_inked, clear_canvas, draw_strokes, is_digit, open_draw_page,
                             prediction_text, touch_strokes, wait_for_prediction)

pytestmark = pytest.mark.browser

UNSURE = "does not look like a digit"
# (width, height, touch): a laptop, a tablet in portrait, a phone.
SCREENS = {"laptop": (1400, 1000, False), "tablet": (820, 1180, True), "phone": (390, 844, True)}


def test_drawing_a_seven_shows_seven(page, app_url):
    box = open_draw_page(page, app_url)
    assert prediction_text(page) == "—" and not canvas_inked(page)
    draw_strokes(page, box, SEVEN)
    text, _ = wait_for_prediction(page, is_digit)
    assert text == "7" and canvas_inked(page)
    page.get_by_text("This is all the network sees").wait_for()
    expect(page.get_by_role("img", name="Softmax probabilities")).to_have_count(1)
    expect(page.get_by_alt_text("Network input, 28×28")).to_be_visible()
    expect(page.get_by_text(UNSURE)).to_have_count(0)  # a clear 7 gets no warning
    expect(page.get_by_text("The network is unsure")).to_have_count(0)
    clear_canvas(page)  # fails unless the canvas is empty again
    assert not canvas_inked(page) and prediction_text(page) == "—"
    expect(page.get_by_text("Draw a digit: the canvas is empty or almost empty.")).to_have_count(1)
    expect(page.get_by_role("img", name="Softmax probabilities")).to_have_count(0)
    draw_strokes(page, box, ONE)  # the fresh canvas takes a new drawing, read without the 7
    assert wait_for_prediction(page, is_digit)[0] == "1"


def test_a_dash_is_not_taken_for_a_digit(page, app_url):
    box = open_draw_page(page, app_url)
    draw_strokes(page, box, DASH)
    wait_for_prediction(page, is_digit)
    expect(page.get_by_text(UNSURE)).to_be_visible()


@pytest.fixture(params=list(SCREENS))
def screen(request, chromium):
    """A fresh page the size of a laptop, a tablet or a phone screen (touch on the latter two)."""
    width, height, touch = SCREENS[request.param]
    context = chromium.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch,
                                   device_scale_factor=2 if touch else 1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield request.param, page
    context.close()


def test_the_page_fits_the_screen_and_takes_a_finger(screen, app_url, tmp_path):
    name, page = screen
    width, height, touch = SCREENS[name]
    box = open_draw_page(page, app_url)
    # The whole canvas is on screen, and nothing makes the page scroll sideways.
    assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, box
    assert box["width"] >= 200, box  # big enough to draw on
    (touch_strokes if touch else draw_strokes)(page, box, SEVEN)
    assert wait_for_prediction(page, is_digit)[0] == "7"
    page.get_by_text("This is all the network sees").wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    answer = page.locator('[data-testid="stMetric"]', has_text="Prediction").first.bounding_box()
    assert answer["x"] >= 0 and answer["x"] + answer["width"] <= width, answer
    for shown in (page.get_by_role("img", name="Softmax probabilities"), page.get_by_alt_text("Network input")):
        b = shown.bounding_box()
        assert b["x"] >= 0 and b["x"] + b["width"] <= width + 1, b
    shots = Path(os.environ.get("NNVIZ_SCREENSHOTS", tmp_path))  # to look at them
    page.screenshot(path=str(shots / f"draw-{name}.png"))


def test_home_page_shows_the_trained_models(page, app_url):
    page.goto(app_url)
    page.get_by_text("The trained networks").wait_for(timeout=60_000)
    expect(page.get_by_text("Test accuracy", exact=True)).to_have_count(3)
    expect(page.get_by_text("digits-cnn", exact=True)).to_have_count(1)  # each card, once
    expect(page.get_by_text("digits-mlp", exact=True)).to_have_count(1)
    expect(page.get_by_text("digits-numpy", exact=True)).to_have_count(1)
    assert not page.locator('[data-testid="stException"]').count()
