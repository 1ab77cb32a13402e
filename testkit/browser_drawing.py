"""Driving the app in Playwright (used by tests, benchmarks and scripts/screenshots.py): drawing on
the Draw page's canvas with a real mouse or finger, reading the answer, and waiting until a page is
idle. Strokes are given in the 280×280 logical canvas and scaled to the canvas's size on screen,
which is smaller on a phone."""

from __future__ import annotations

import re
import time

LOGICAL = 280  # the canvas's logical side (app_pages/draw.py CANVAS_SIZE)
# A short dash, as drawn in a corner of the canvas.
DASH = [[(25, 30), (70, 32)]]
# A "7" as a student draws it on the 280×280 canvas: a top bar, then a long diagonal down.
SEVEN = [[(70, 60), (130, 58), (210, 60), (180, 120), (150, 180), (125, 240)]]
# A "1": one slightly slanted stroke down the middle.
ONE = [[(150, 45), (145, 140), (138, 235)]]


def drawing_canvas(page):
    """The canvas element, inside its component frame."""
    return page.frame_locator('iframe[title*="digit_canvas"]').locator("canvas#pad")


def open_draw_page(page, app_url: str):
    """Open the Draw page and wait until the canvas is ready; returns the canvas's bounding box
    (page pixels)."""
    page.goto(f"{app_url}/draw")
    canvas = drawing_canvas(page)
    canvas.wait_for(state="visible", timeout=60_000)
    page.get_by_text("Draw a digit:").first.wait_for(timeout=60_000)  # the fragment has rendered
    page.wait_for_function("() => [...document.querySelectorAll('iframe')].some(f => f.getBoundingClientRect().height > 50)")
    return canvas.bounding_box()


# True when a canvas element holds any bright (ink) pixel.
INKED = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  for (let i = 0; i < d.length; i += 4) if (d[i] > 128) return true;
                  return false; }"""


def clear_canvas(page, timeout_s: float = 30.0) -> None:
    """Press "Clear the canvas" and wait until the answer is reset and the canvas is empty.

    Raises:
        AssertionError: the canvas still holds ink ``timeout_s`` seconds after the click.
    """
    page.get_by_role("button", name="Clear the canvas").click()
    wait_for_prediction(page, lambda t: t == "—", timeout_s)
    deadline = time.perf_counter() + timeout_s
    while canvas_inked(page):
        if time.perf_counter() > deadline:
            raise AssertionError(f"the canvas still shows ink {timeout_s:g} s after Clear")
        time.sleep(0.02)


def canvas_inked(page) -> bool:
    """True when the drawing canvas shows any ink."""
    return drawing_canvas(page).evaluate(INKED)


def draw_strokes(page, box: dict, strokes, steps_per_segment: int = 6) -> None:
    """Draw polylines given in logical canvas pixels, each as one press–move–release of the mouse."""
    for stroke in strokes:
        points = on_screen(box, stroke, steps_per_segment)
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y)
        page.mouse.up()


def on_screen(box: dict, stroke, steps_per_segment: int) -> list[tuple[float, float]]:
    """A stroke's points in page pixels, each segment cut into ``steps_per_segment`` moves."""
    k = box["width"] / LOGICAL
    points = [stroke[0]] + [(xa + (xb - xa) * i / steps_per_segment, ya + (yb - ya) * i / steps_per_segment)
                            for (xa, ya), (xb, yb) in zip(stroke, stroke[1:]) for i in range(1, steps_per_segment + 1)]
    return [(box["x"] + x * k, box["y"] + y * k) for x, y in points]


def touch_strokes(page, box: dict, strokes, steps_per_segment: int = 6) -> None:
    """Draw polylines with a finger: Chromium's touch events through the DevTools protocol
    (``Input.dispatchTouchEvent``), as a phone or tablet sends them. The page's context needs
    ``has_touch=True``."""
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        points = on_screen(box, stroke, steps_per_segment)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
        for x, y in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def prediction_text(page) -> str:
    """The value of the "Prediction" metric as shown on the page."""
    metric = page.locator('[data-testid="stMetric"]', has_text="Prediction").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def wait_for_prediction(page, predicate, timeout_s: float = 30.0, poll_s: float = 0.005) -> tuple[str, float]:
    """Poll the Prediction metric until ``predicate(text)``; returns (text, seconds waited)."""
    start = time.perf_counter()
    text = ""
    while time.perf_counter() - start < timeout_s:
        try:
            text = prediction_text(page)
        except Exception:  # the fragment is re-rendering; try again
            text = ""
        if predicate(text):
            return text, time.perf_counter() - start
        time.sleep(poll_s)
    raise TimeoutError(f"prediction did not update within {timeout_s} s (last: {text!r})")


def is_digit(text: str) -> bool:
    return re.fullmatch(r"\d", text) is not None


def wait_until_idle(page, timeout_s: float = 240) -> None:
    """Wait until the app shows no spinner and is not running, twice in a row one second apart."""
    quiet, deadline = 0, time.time() + timeout_s
    while quiet < 2 and time.time() < deadline:
        busy = page.locator('[data-testid="stSpinner"]').count() + page.locator(
            '[data-testid="stStatusWidget"]').count()
        quiet = 0 if busy else quiet + 1
        page.wait_for_timeout(1000)
