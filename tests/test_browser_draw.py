"""A person's path through the app in a real Chromium: open the Draw page, draw a 7 with the
mouse, read the network's answer; clear the canvas; the Home page lists the models."""

import pytest
from playwright.sync_api import expect

from browser_drawing import SEVEN, clear_canvas, draw_strokes, is_digit, open_draw_page, prediction_text, wait_for_prediction

pytestmark = pytest.mark.browser


def test_drawing_a_seven_shows_seven(page, app_url):
    box = open_draw_page(page, app_url)
    assert prediction_text(page) == "—"
    draw_strokes(page, box, SEVEN)
    text, _ = wait_for_prediction(page, is_digit)
    assert text == "7"
    page.get_by_text("This is all the network sees").wait_for()
    expect(page.locator(".js-plotly-plot")).to_have_count(2)  # probabilities and the 28×28 input
    clear_canvas(page)
    assert page.get_by_text("Draw a digit:").count() == 1
    draw_strokes(page, box, SEVEN)  # the fresh canvas takes a drawing as well
    assert wait_for_prediction(page, is_digit)[0] == "7"


def test_home_page_shows_the_trained_models(page, app_url):
    page.goto(app_url)
    page.get_by_text("The trained networks").wait_for(timeout=60_000)
    assert page.get_by_text("digits-cnn").count() >= 1
    expect(page.get_by_text("Test accuracy", exact=True)).to_have_count(2)
    assert not page.locator('[data-testid="stException"]').count()
