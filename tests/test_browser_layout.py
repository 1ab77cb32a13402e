"""Every page fits a desktop (1400 px), a tablet (820 px) and a phone (390 px) by its contents, in a
real Chromium: no text, label, title or number cut off or broken mid-word, no figure text outside
its figure or on top of another, no plot narrower than it can be read (:mod:`browser_fit`). On a
phone the Draw page's answer is on screen beside the canvas and the sidebar folds after a page is
chosen; in presentation mode the Draw page's Clear button is above the fold; and a page load asks
nothing of any host but the app server (the page icon is served by the app).

One app server for the module (``app_url``) and one browser page per width, reused from page to page.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from browser_fit import content_problems
from testkit.browser_drawing import (SEVEN, draw_strokes, is_digit, open_draw_page, wait_for_prediction,
                                     wait_until_idle)

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1400, "tablet": 820, "phone": 390}
PAGES = ["home", "draw", "inspect", "train", "class-runs", "under-the-hood", "photos"]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "photos" / "camera_trap"


@pytest.fixture(scope="module")
def screens(chromium):
    """``screens(width) -> page``: one browser page per viewport width for the whole module."""
    made = {}

    def get(width: int):
        if width not in made:
            context = chromium.new_context(viewport={"width": width, "height": 900})
            made[width] = context.new_page()
            made[width].set_default_timeout(180_000)
        return made[width]
    yield get
    for page in made.values():
        page.context.close()


def open_filled(page, app_url: str, name: str) -> None:
    """Open page ``name`` with something in it, as a student has it: a 7 drawn on Draw, two
    camera-trap photos on Photos (down to "4. Inside the network"); wait until the app is idle."""
    if name == "draw":
        box = open_draw_page(page, app_url)
        draw_strokes(page, box, SEVEN)
        wait_for_prediction(page, is_digit)
        page.get_by_text("This is all the network sees").wait_for()
    elif name == "photos":
        page.goto(f"{app_url}/photos")
        page.get_by_text("1. Your photos").wait_for()
        page.locator("[data-testid=stFileUploader]", has_text="Upload one or many photos").locator(
            "input[type=file]").set_input_files([str(EXAMPLES / "leopard-1.jpg"), str(EXAMPLES / "zebra-1.jpg")])
        page.get_by_text("4. Inside the network").wait_for()
    else:
        page.goto(f"{app_url}/{'' if name == 'home' else name}")
        page.locator("h1").first.wait_for()
        if name == "inspect":
            page.get_by_text("6. The map of learned features").wait_for()
    wait_until_idle(page)


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("screen", list(WIDTHS))
def test_every_page_fits_by_its_contents(screens, app_url, screen, name):
    page = screens(WIDTHS[screen])
    open_filled(page, app_url, name)
    assert not page.locator('[data-testid="stException"]').count()
    assert content_problems(page) == []


@pytest.mark.parametrize("screen", ["tablet", "phone"])
def test_photos_training_tab_fits(screens, app_url, screen):
    page = screens(WIDTHS[screen])
    page.goto(f"{app_url}/photos")
    page.get_by_text("1. Your photos").wait_for()
    example = page.get_by_role("button", name="One-click example")
    deadline = time.monotonic() + 120
    while not example.is_visible():  # a rerun that ends after the click can show the first tab again
        assert time.monotonic() < deadline, "the training tab did not open"
        page.get_by_role("tab", name="Train your own classifier").click()
        page.wait_for_function("() => document.querySelector('[role=tab][aria-selected=true]')")
    example.click()
    page.get_by_text("54 photos").wait_for()
    wait_until_idle(page)
    assert content_problems(page) == []


def on_screen(page, locator) -> dict:
    """``locator``'s box, after checking that it lies wholly inside the viewport."""
    box = locator.bounding_box()
    view = page.viewport_size
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= view["height"], (box, view)
    assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"], (box, view)
    return box


def test_draw_answer_is_beside_the_canvas_on_a_phone(chromium, app_url):
    """390×844 (a phone's page area): draw, and without scrolling the Prediction, the probability
    bars and the Clear button are on screen with the canvas."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                   device_scale_factor=2)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        box = open_draw_page(page, app_url)
        draw_strokes(page, box, SEVEN)
        wait_for_prediction(page, is_digit)
        page.get_by_text("This is all the network sees").wait_for()
        assert page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop") == 0
        canvas = page.frame_locator('iframe[title*="digit_canvas"]').locator("canvas#pad").bounding_box()
        answer = on_screen(page, page.locator('[data-testid="stMetric"]', has_text="Prediction").first)
        on_screen(page, page.get_by_role("img", name="Softmax probabilities"))
        on_screen(page, page.get_by_role("button", name="Clear the canvas"))
        assert canvas["width"] >= 200 and canvas["y"] + canvas["height"] <= 844, canvas
        assert answer["x"] >= canvas["x"] + canvas["width"], (answer, canvas)  # beside it, not under it
    finally:
        context.close()


def test_presentation_mode_shows_clear_above_the_fold(chromium, app_url):
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{app_url}/draw?present=1")
        page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize !== '16px'")
        page.frame_locator('iframe[title*="digit_canvas"]').locator("canvas#pad").wait_for()
        page.get_by_text("Draw a digit:").first.wait_for()
        on_screen(page, page.get_by_role("button", name="Clear the canvas"))
        on_screen(page, page.locator('[data-testid="stMetric"]', has_text="Prediction").first)
    finally:
        context.close()


def test_sidebar_folds_after_choosing_a_page_on_a_phone(chromium, app_url):
    """A 390-px window whose browser does not call itself mobile (Streamlit folds the sidebar on
    its own only for a mobile user agent): open the sidebar, choose a page, the sidebar folds."""
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app_url)
        page.locator("h1").first.wait_for()
        page.locator('[data-testid="stExpandSidebarButton"]').click()
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_text("Train a network").wait_for(state="visible")
        nav.get_by_text("Train a network").click()
        page.get_by_role("heading", name="Train a network").wait_for()
        # Folded: the sidebar slides out of the window (waited for, with the timeout as deadline).
        page.wait_for_function("() => document.querySelector('[data-testid=stSidebar]')"
                               ".getBoundingClientRect().right <= 1")
    finally:
        context.close()


def test_a_page_load_asks_nothing_of_other_hosts(chromium, app_url):
    """Every page, loaded with its contents: every request the browser makes goes to the app server
    (a school network without internet, and no student's browser contacting a third party)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    hosts: dict[str, str] = {}
    context.on("request", lambda request: hosts.setdefault(urlsplit(request.url).netloc, request.url))
    try:
        page = context.new_page()
        page.set_default_timeout(180_000)
        for name in PAGES:
            open_filled(page, app_url, name)
        page.wait_for_load_state("networkidle")
        server = urlsplit(app_url).netloc
        assert {host: url for host, url in hosts.items() if host and host != server} == {}
        assert server in hosts
    finally:
        context.close()
