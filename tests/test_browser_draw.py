"""A person's path through the app in a real Chromium: open the Draw page, draw a 7 with the
mouse, read the network's answer; clear the canvas and draw a 1; the Home page lists the models."""

import pytest
from playwright.sync_api import expect

from browser_drawing import (ONE, SEVEN, canvas_inked, clear_canvas, draw_strokes, is_digit, open_draw_page,
                             prediction_text, wait_for_prediction)

pytestmark = pytest.mark.browser


def test_drawing_a_seven_shows_seven(page, app_url):
    box = open_draw_page(page, app_url)
    assert prediction_text(page) == "—" and not canvas_inked(page)
    draw_strokes(page, box, SEVEN)
    text, _ = wait_for_prediction(page, is_digit)
    assert text == "7" and canvas_inked(page)
    page.get_by_text("This is all the network sees").wait_for()
    expect(page.locator(".js-plotly-plot")).to_have_count(2)  # probabilities and the 28×28 input
    clear_canvas(page)  # fails unless the canvas is empty again
    assert not canvas_inked(page) and prediction_text(page) == "—"
    expect(page.get_by_text("Draw a digit: the canvas is empty or almost empty.")).to_have_count(1)
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    draw_strokes(page, box, ONE)  # the fresh canvas takes a new drawing, read without the 7
    assert wait_for_prediction(page, is_digit)[0] == "1"


def test_home_page_shows_the_trained_models(page, app_url):
    page.goto(app_url)
    page.get_by_text("The trained networks").wait_for(timeout=60_000)
    expect(page.get_by_text("Test accuracy", exact=True)).to_have_count(3)
    expect(page.get_by_text("digits-cnn", exact=True)).to_have_count(1)  # each card, once
    expect(page.get_by_text("digits-mlp", exact=True)).to_have_count(1)
    expect(page.get_by_text("digits-numpy", exact=True)).to_have_count(1)
    assert not page.locator('[data-testid="stException"]').count()
