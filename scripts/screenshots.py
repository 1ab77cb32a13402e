"""Screenshot every page of the app in headless Chromium, with a 7 drawn on the Draw page.

    python scripts/screenshots.py OUT_DIR [--url URL] [--widths 1400 820 390]

Starts its own server unless --url is given. Used to look at the pages as a student sees them
(a desktop, a tablet and a phone: ``--widths 1400 820 390`` writes ``draw-390.png`` and so on)
and to make docs/draw.png.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from testkit.browser_drawing import SEVEN, draw_strokes, is_digit, open_draw_page, wait_for_prediction, wait_until_idle

ROOT = Path(__file__).resolve().parent.parent

PAGES = ["", "draw", "inspect", "cnn", "train", "class-runs", "under-the-hood", "photos"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--pages", nargs="*", default=PAGES)
    parser.add_argument("--height", type=int, default=1000, help="viewport height in px (Streamlit scrolls inside)")
    parser.add_argument("--widths", type=int, nargs="*", default=[1400],
                        help="viewport widths in px; with more than one, each file name ends in its width")
    parser.add_argument("--whole", action="store_true",
                        help="the whole page: the viewport grown to the page's height (else what one screen shows)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    server = None
    url = args.url
    if not url:
        url = "http://127.0.0.1:8599"
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", "8599"],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
    from playwright.sync_api import sync_playwright
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            for width in args.widths:
                page = browser.new_page(viewport={"width": width, "height": args.height})
                suffix = f"-{width}" if len(args.widths) > 1 else ""
                for name in args.pages:
                    shoot(page, url, name, args.out / f"{name or 'home'}{suffix}.png", args.whole)
                page.close()
            browser.close()
    finally:
        if server:
            server.terminate()


def shoot(page, url: str, name: str, path: Path, whole: bool = False) -> None:
    """Open page ``name`` (a 7 drawn on the Draw page), wait until it is idle, save a PNG of the
    screen, or with ``whole`` of the whole page (Streamlit scrolls inside its main block, so the
    viewport is grown to its height for the shot, then set back)."""
    if name == "draw":
        box = open_draw_page(page, url)
        draw_strokes(page, box, SEVEN)
        wait_for_prediction(page, is_digit)
        page.get_by_text("This is all the network sees").wait_for()
    else:
        page.goto(f"{url}/{name}")
        page.locator("h1").first.wait_for(timeout=120_000)
        wait_until_idle(page)
    page.wait_for_timeout(1500)
    size = page.viewport_size
    if whole:
        height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 50, 12000)})
        page.wait_for_timeout(1500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    print(path, flush=True)


if __name__ == "__main__":
    main()
