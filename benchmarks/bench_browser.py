"""The app as a student meets it, in headless Chromium:

1. server cold start: from launching ``streamlit run app.py`` to the Home page rendered;
2. mouse-up to new prediction on the Draw page, p50/p95 over real UNIPEN pen-stroke digits
   replayed with the mouse (timed inside the browser: the ``mouseup`` event to the moment the
   Prediction metric shows a digit), and how many of them the network got right.

    .venv/bin/python benchmarks/bench_browser.py [--strokes 30] [--model digits-cnn]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from testkit.browser_drawing import clear_canvas, draw_strokes, prediction_text, open_draw_page, wait_for_prediction
from unipen import load_unipen, to_canvas

ROOT = Path(__file__).resolve().parent.parent

# Records the time of the pen release and of the first Prediction metric showing a digit after it.
WATCH = """() => {
  window.__up = null; window.__done = null;
  // The canvas lives in a component frame (same origin): listen there, timing with this page's clock.
  const up = () => { if (window.__up === null) window.__up = performance.now(); };
  for (const d of [document, ...[...document.querySelectorAll('iframe')].map(f => f.contentDocument).filter(Boolean)])
    d.addEventListener('pointerup', up, {capture: true, once: true});
  const check = () => {
    const m = [...document.querySelectorAll('[data-testid="stMetric"]')].find(e => e.innerText.includes('Prediction'));
    const v = m && m.querySelector('[data-testid="stMetricValue"]');
    if (window.__up !== null && v && /^\\d$/.test(v.innerText.trim())) { window.__done = performance.now(); obs.disconnect(); }
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strokes", type=int, default=30, help="digits to draw (at least 20)")
    parser.add_argument("--model", default="digits-cnn")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                   "--server.address", "127.0.0.1"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "NNVIZ_USER_MODELS": "/tmp/nnviz-bench-models"})
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            health = time.perf_counter() - start
            page.goto(url)
            page.get_by_text("The trained networks").wait_for(timeout=120_000)
            first_page = time.perf_counter() - start
            print(f"cold start: server healthy after {health:.2f} s, Home page rendered after {first_page:.2f} s")

            box = open_draw_page(page, url)
            if args.model != "digits-cnn":
                page.get_by_text(args.model).click()
            latencies, correct = [], 0
            # Single-stroke digits (74 % of UNIPEN), so one mouse release gives one answer to time.
            digits = [r for r in load_unipen(seed=1) if len(r["strokes"]) == 1][:args.strokes]
            for record in digits:
                clear_canvas(page)
                page.evaluate(WATCH)
                draw_strokes(page, box, to_canvas(record["strokes"]), steps_per_segment=1)
                try:
                    page.wait_for_function("() => window.__done !== null", timeout=30_000)
                except Exception:
                    print(f"  no answer for digit {record['id']} (a {record['label']}): "
                          f"{page.evaluate('() => [window.__up, window.__done]')}, shown {prediction_text(page)!r}")
                    page.screenshot(path="/tmp/bench_fail.png")
                    raise
                latencies.append(page.evaluate("() => window.__done - window.__up"))
                text, _ = wait_for_prediction(page, lambda t: t != "—")
                correct += text == str(record["label"])
            ms = np.asarray(latencies)
            print(f"mouse-up → prediction ({args.model}, {len(ms)} real single-stroke UNIPEN digits drawn with the mouse): "
                  f"p50 {np.percentile(ms, 50):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms, "
                  f"max {ms.max():.0f} ms (target p50 ≤ 100 ms, p95 ≤ 200 ms: "
                  f"{'met' if np.percentile(ms, 50) <= 100 and np.percentile(ms, 95) <= 200 else 'MISSED'})")
            print(f"answers: {correct}/{len(digits)} correct")
        finally:
            server.terminate()
            server.wait(10)
            browser.close()


if __name__ == "__main__":
    main()
