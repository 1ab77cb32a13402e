"""In a real Chromium: Under the hood first shows a shipped test image the network hesitates on; after the student draws a
0 on the Draw page, the diagram on Under the hood shows that drawing and the network's answer to it."""

import math

import pytest

from testkit.browser_drawing import drawing_canvas, draw_strokes, is_digit, wait_for_prediction

pytestmark = pytest.mark.browser

# A "0" as drawn on the 280×280 canvas: one closed oval stroke.
ZERO = [[(140 + 55 * math.sin(2 * math.pi * t / 24), 140 - 85 * math.cos(2 * math.pi * t / 24)) for t in range(25)]]

# The diagram's traces as plotly holds them in the page: output probabilities and the input image.
READ_DIAGRAM = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => (g._fullData || []).some(t => t.name === 'output'));
  if (!gd) return null;
  // _fullData holds the decoded arrays (data may keep plotly.py's base64 'bdata' form)
  const out = gd._fullData.find(t => t.name === 'output'), img = gd._fullData.find(t => t.name === 'input');
  let ink = 0;  // z may be nested arrays or typed arrays
  for (const row of Array.from(img.z)) for (const v of (typeof row === 'number' ? [row] : Array.from(row))) ink += v;
  return {probabilities: Array.from(out.marker.color), ink};
}"""


def read_diagram(page, must_contain: str) -> dict:
    page.get_by_text(must_contain).first.wait_for(timeout=60_000)
    page.get_by_text("4. Glossary").wait_for(timeout=60_000)
    page.wait_for_function(f"({READ_DIAGRAM})() !== null", timeout=60_000)
    return page.evaluate(READ_DIAGRAM)


def argmax(values) -> int:
    return max(range(len(values)), key=values.__getitem__)


def first_shown():
    """``(test index, label)`` of the shipped digit Under the hood opens on for digits-numpy."""
    from nnviz.checkpoints import load_checkpoint
    from nnviz.learning_step import teaching_example
    from nnviz.numpy_runs import from_torch
    from nnviz.samples import MEAN, STD, sample_digits

    samples = sample_digits()
    i = teaching_example(from_torch(load_checkpoint("digits-numpy")[0]),
                         (samples.pixels.reshape(len(samples), -1) / 255.0 - MEAN) / STD, samples.labels)
    return int(samples.indices[i]), int(samples.labels[i])


def test_the_diagram_responds_to_a_drawing(page, app_url):
    index, label = first_shown()
    page.goto(f"{app_url}/under-the-hood")
    before = read_diagram(page, f"test image #{index}")
    assert argmax(before["probabilities"]) == label
    page.get_by_role("link", name="Draw a digit").first.click()  # in-app navigation keeps the session
    canvas = drawing_canvas(page)
    canvas.wait_for(state="visible", timeout=60_000)
    page.get_by_text("Draw a digit:").first.wait_for(timeout=60_000)
    draw_strokes(page, canvas.bounding_box(), ZERO)
    assert wait_for_prediction(page, is_digit)[0] == "0"
    page.get_by_role("link", name="Under the hood").first.click()
    after = read_diagram(page, "your drawing")
    assert argmax(after["probabilities"]) == 0 and after["probabilities"][0] > 0.5
    assert after["ink"] != pytest.approx(before["ink"])  # the input layer is the new drawing
    assert abs(sum(after["probabilities"]) - 1) < 1e-6
    assert not page.locator('[data-testid="stException"]').count()
