"""Prediction latency of the Draw page's path: a 280×280 RGBA canvas → MNIST-style preprocessing
→ forward pass → softmax, for each shipped digit network, on real MNIST test digits drawn at
canvas size. Prints p50/p95 in milliseconds and the share of preprocessing, and the time of the
page's stroke path (:func:`nnviz.preprocess.digit_from_strokes`, on UNIPEN pen strokes) beside it.

    .venv/bin/python benchmarks/bench_predict.py [--n 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image

from nnviz.data import load_torchvision_dataset
from nnviz.predict import DigitClassifier
from nnviz.preprocess import digit_from_strokes, mnist_style


def canvases(n: int) -> list[np.ndarray]:
    ds = load_torchvision_dataset("mnist", train=False)
    out = []
    for i in range(n):
        big = np.asarray(Image.fromarray(ds.data[i].numpy()).resize((200, 200), Image.Resampling.BILINEAR))
        c = np.zeros((280, 280, 4), np.uint8)
        c[..., 3] = 255
        c[40:240, 40:240, :3] = big[..., None]
        out.append(c)
    return out


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="torch CPU threads to measure with (the app uses 1 for single images)")
    args = parser.parse_args()
    images = canvases(args.n)
    for threads in args.threads:
        torch.set_num_threads(threads)
        measure(images)


def measure(images) -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {len(images)} canvases of 280×280 RGBA")
    pre = []
    for img in images:
        t = time.perf_counter()
        mnist_style(img)
        pre.append((time.perf_counter() - t) * 1e3)
    print(f"preprocessing only:         p50 {percentile(pre, 50):6.2f} ms   p95 {percentile(pre, 95):6.2f} ms")
    try:
        from unipen import load_unipen, to_canvas
        strokes = [to_canvas(r["strokes"]) for r in load_unipen(len(images))]
    except FileNotFoundError as exc:
        print(f"strokes preprocessing: skipped ({exc})")
    else:
        pen = []
        for s in strokes:
            t = time.perf_counter()
            digit_from_strokes(s)
            pen.append((time.perf_counter() - t) * 1e3)
        print(f"strokes preprocessing (the page's path, {len(strokes)} UNIPEN digits): p50 {percentile(pen, 50):6.2f} ms   "
              f"p95 {percentile(pen, 95):6.2f} ms")
    for name in ("digits-mlp", "digits-cnn"):
        clf = DigitClassifier(name)
        for img in images[:20]:
            clf.predict_image(img)  # warm-up
        times = []
        for img in images:
            t = time.perf_counter()
            clf.predict_image(img)
            times.append((time.perf_counter() - t) * 1e3)
        p50 = percentile(times, 50)
        print(f"{name:12s} preprocess+forward: p50 {p50:6.2f} ms   p95 {percentile(times, 95):6.2f} ms   "
              f"(target p50 < 5 ms: {'met' if p50 < 5 else 'MISSED'}; preprocessing is "
              f"{statistics.median(pre) / p50:.0%} of it)")


if __name__ == "__main__":
    main()
