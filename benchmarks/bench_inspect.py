"""Benchmark the Inspect page's work on this CPU.

Prints:
* full inspection of one input — every layer's output, Grad-CAM, saliency, and every figure the
  page can show for it (all layers' figures, both attribution overlays) built as plotly objects —
  median (p50) and p90 over ``--repeats`` test images; target p50 < 150 ms;
* the test report (confusion matrix etc.) for the 10,000 test images: first time (target < 10 s)
  and served from the cache;
* the first visit to the Inspect page after a server restart: a fresh Python process runs the
  page headless (Streamlit's AppTest) with an empty disk cache, first with the PCA map (the
  default), then switched to t-SNE; printed are the seconds of each run (target < 2 s each, the
  test report and both maps coming from ``trained/<name>.inspect.npz``) and, apart, the time to
  import the app's libraries, which a running server has already paid on its first page.

Usage: ``python benchmarks/bench_inspect.py [--model digits-cnn] [--repeats 30] [--threads N] [--first-visit-only]``

One image is too small for torch's intra-op threads to help; on a busy machine they spin and
wait for each other (measured here: a single-image forward took ~90 ms with 2 threads under a
load of 5, 0.6 ms with 1). ``--threads`` sets ``torch.set_num_threads`` to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from nnviz import evaluation
from nnviz.data import load_tensors, raw_pixels
from nnviz.figures.attribution import attribution_overlay
from nnviz.figures.layers import layer_figures
from nnviz.inspection import inspect
from nnviz.predict import DigitClassifier


def full_inspection(classifier: DigitClassifier, x, picture) -> int:
    """Everything for one input; returns the number of figures built."""
    result = inspect(classifier.model, x, picture)
    n = 0
    for name, _ in classifier.model.named_children():
        n += len(layer_figures(classifier.model, result, name, classifier.classes))
    if result.grad_cam is not None:
        attribution_overlay(result.image, result.grad_cam, "Grad-CAM")
        n += 1
    attribution_overlay(result.image, result.saliency, "saliency")
    return n + 1


ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh process: imports first (timed apart), then the page as a first visitor sees it.
FIRST_VISIT = """
import sys, time
start = time.perf_counter()
import torch, torchvision, sklearn.manifold, streamlit  # what a server has loaded for its first page
from streamlit.testing.v1 import AppTest
import nnviz.inspection, nnviz.embedding, nnviz.evaluation, nnviz.figures.layers
imports = time.perf_counter() - start
at = AppTest.from_file("app.py", default_timeout=300)
at.run()  # the home page
at.session_state["inspect_model"] = sys.argv[1]
start = time.perf_counter()
at.switch_page("app_pages/inspect.py").run()
pca = time.perf_counter() - start
assert not at.exception, at.exception
assert any(c.proto.spec and "Penultimate" in c.proto.spec for c in at.get("plotly_chart")), "no map"
at.radio(key="inspect_projection").set_value("tsne")
start = time.perf_counter()
at.run()
tsne = time.perf_counter() - start
assert not at.exception, at.exception
print(f"{imports:.2f} {pca:.2f} {tsne:.2f}")
"""


def first_visit(model: str) -> tuple[float, float, float]:
    """``(imports, page with PCA, switch to t-SNE)`` seconds in a fresh process, empty disk cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NNVIZ_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", FIRST_VISIT, model], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=600)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    imports, pca, tsne = map(float, out.stdout.split()[-3:])
    return imports, pca, tsne


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="digits-cnn")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--first-visit-only", action="store_true", help="only the first visit after a restart")
    args = parser.parse_args()
    imports, pca, tsne = first_visit(args.model)
    print(f"first visit to Inspect after a restart ({args.model}, fresh process, empty disk cache): "
          f"page with the PCA map {pca:.2f} s, then t-SNE {tsne:.2f} s (target < 2 s each); "
          f"importing torch, scikit-learn and Streamlit before it {imports:.2f} s")
    if args.first_visit_only:
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    classifier = DigitClassifier(args.model)
    images, labels = load_tensors("mnist", train=False)
    pixels = raw_pixels(images, "mnist")[:, 0].numpy()
    full_inspection(classifier, images[:1], pixels[0])  # warm-up: first calls load code paths
    times, figures = [], 0
    for i in range(args.repeats):
        start = time.perf_counter()
        figures = full_inspection(classifier, images[i:i + 1], pixels[i])
        times.append(time.perf_counter() - start)
    times.sort()
    p50 = statistics.median(times) * 1000
    p90 = times[int(0.9 * (len(times) - 1))] * 1000
    print(f"full inspection of one input ({args.model}, {figures} figures): p50 {p50:.0f} ms, p90 {p90:.0f} ms "
          f"over {args.repeats} test images (target p50 < 150 ms)")
    start = time.perf_counter()
    report = evaluation.compute_test_report(classifier.model, images, labels)
    first = time.perf_counter() - start
    print(f"confusion matrix on {int(report.confusion.sum()):,} test images: {first:.2f} s (target < 10 s); "
          f"accuracy {report.accuracy:.2%}")


if __name__ == "__main__":
    main()
