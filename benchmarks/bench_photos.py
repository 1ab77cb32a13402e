"""Timings of the Photos page's work on this CPU, on the real photos in ``shared/data/animals``:

* prediction of one photo: decode (JPEG bytes → PIL) + preprocess (resize 256, crop 224,
  normalise) + forward pass + softmax + group sums, p50/p95 in ms (target: p50 < 80 ms);
* Grad-CAM for the top class, p50/p95 in ms (target: p50 < 150 ms);
* feature extraction throughput (decode + preprocess + backbone, batches of 8), photos/s.

Each is measured with 1 torch thread (what the app's pages use, so sessions share the cores)
and with torch's default (one per core).

    .venv/bin/python benchmarks/bench_photos.py [--n 60]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from nnviz.photos.classify import AnimalClassifier, grad_cam
from nnviz.photos.features import extract_features

ROOT = Path(__file__).resolve().parent.parent

PHOTOS = ROOT.parent / "shared" / "data" / "animals"


def p(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60, help="photos per measurement")
    args = parser.parse_args()
    files = sorted(PHOTOS.rglob("*.jpg"))
    photos = [f.read_bytes() for f in files[:: max(1, len(files) // args.n)][: args.n]]
    clf = AnimalClassifier()
    default_threads = torch.get_num_threads()
    print(f"{len(photos)} real photos (camera traps 512×267, pets up to 512 px); torch {torch.__version__}")
    for threads in (1, default_threads):
        torch.set_num_threads(threads)
        for data in photos[:3]:  # warm-up: oneDNN builds its kernels on first use
            pred = clf.predict_file(data)
            grad_cam(clf, pred.input, pred.top5[0].index)
        predict, cams = [], []
        for data in photos:
            t = time.perf_counter()
            pred = clf.predict_file(data)
            predict.append(time.perf_counter() - t)
            t = time.perf_counter()
            grad_cam(clf, pred.input, pred.top5[0].index)
            cams.append(time.perf_counter() - t)
        paths = [f for f in files[: args.n * 2]]
        t = time.perf_counter()
        feats = extract_features(paths, model=clf.model, cache=None, batch_size=8)
        rate = len(paths) / (time.perf_counter() - t)
        assert feats.ok.all()
        print(f"threads={threads}: predict p50 {p(predict, 50):.1f} ms, p95 {p(predict, 95):.1f} ms | "
              f"Grad-CAM p50 {p(cams, 50):.1f} ms, p95 {p(cams, 95):.1f} ms | "
              f"features {rate:.1f} photos/s ({len(paths)} photos, batches of 8)")


if __name__ == "__main__":
    main()
