"""Nothing is clipped: in a real Chromium at 1400 px (desktop) and 820 px (tablet) wide, every
table, chart, metric and text of the Inspect and Photos pages fits inside its column, no table
scrolls sideways, and the page itself does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.browser_drawing import wait_until_idle

pytestmark = pytest.mark.browser

# Each element's box against its column's (or the main block's); a table's inner scroller and a
# plotly chart's SVG against their column too. Returns one line per element that sticks out.
OVERFLOW = """() => {
  const bad = [];
  const sel = ['stDataFrame', 'stPlotlyChart', 'stImage', 'stMetric', 'stCameraInput', 'stFileUploader',
               'stCaptionContainer', 'stMarkdownContainer', 'stButtonGroup'].map(t => `[data-testid="${t}"]`).join(',');
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    const col = el.closest('[data-testid="stColumn"]') || el.closest('[data-testid="stMainBlockContainer"]')
                || document.body;
    const c = col.getBoundingClientRect();
    const name = el.getAttribute('data-testid') + ' "' + (el.innerText || '').slice(0, 40).replace(/\\n/g, ' ') + '"';
    if (r.right > c.right + 1 || r.left < c.left - 1) bad.push(`${name} sticks out of its column`);
    for (const s of el.querySelectorAll('.dvn-scroller'))
      if (s.scrollWidth > s.clientWidth + 1) bad.push(`${name} scrolls sideways (${s.scrollWidth} > ${s.clientWidth} px)`);
    for (const s of el.querySelectorAll('.main-svg'))
      if (s.getBoundingClientRect().right > c.right + 1) bad.push(`${name}: its plot is wider than its column`);
    for (const b of el.querySelectorAll('button'))
      if (b.getBoundingClientRect().right > c.right + 1) bad.push(`${name}: button "${b.innerText}" is cut off`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) bad.push('the page scrolls sideways');
  return bad;
}"""


def overflowing(page) -> list[str]:
    """What sticks out, measured with the viewport as tall as the page (every element laid out)."""
    width = page.viewport_size["width"]
    height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    page.set_viewport_size({"width": width, "height": min(int(height) + 50, 9000)})
    page.wait_for_timeout(2000)
    return page.evaluate(OVERFLOW)


@pytest.mark.parametrize("width", [1400, 820])
def test_inspect_fits_its_columns(chromium, app_url, width):
    context = chromium.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{app_url}/inspect")
        page.get_by_text("6. The map of learned features").wait_for()
        wait_until_idle(page)
        assert overflowing(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1400, 820])
def test_photos_fit_their_columns(chromium, app_url, width):
    context = chromium.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    examples = Path(__file__).resolve().parent.parent / "examples" / "photos" / "camera_trap"
    try:
        page.goto(f"{app_url}/photos")
        page.get_by_text("1. Your photos").wait_for()
        page.locator("[data-testid=stFileUploader]", has_text="Upload one or many photos").locator(
            "input[type=file]").set_input_files([str(examples / "leopard-1.jpg"), str(examples / "zebra-1.jpg")])
        page.get_by_text("4. Inside the network").wait_for()
        wait_until_idle(page)
        assert overflowing(page) == []
        page.set_viewport_size({"width": width, "height": 1000})
        page.get_by_text("Train your own classifier").first.click()
        page.get_by_text("One-click example").first.click()
        page.get_by_text("54 photos").wait_for()
        wait_until_idle(page)
        assert overflowing(page) == []
    finally:
        context.close()
