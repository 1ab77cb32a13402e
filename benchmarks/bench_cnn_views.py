"""Benchmark "What each channel looks for" and occlusion on this CPU.

Prints, as the median (p50) and maximum over ``--repeats`` runs:
* one channel's visualisation, uncached: :func:`nnviz.feature_visualization.visualize` for one
  channel of ``--layer`` (256 gradient steps from two random starts and its best test image), plus
  writing nothing; target ≤ 3 s. The dataset examples (computed once per network) are not counted:
  their time over the 10,000 test images is printed apart;
* occlusion of one digit (:func:`nnviz.occlusion.occlusion`, a 6×6 patch, stride 2: 144 forward
  passes in batches of 64); target ≤ 1 s.

Usage: ``python benchmarks/bench_cnn_views.py [--model digits-cnn] [--layer relu2] [--repeats 5] [--threads 1]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from nnviz import feature_visualization as fv
from nnviz import occlusion as occ
from nnviz.data import load_tensors, load_torchvision_dataset
from nnviz.predict import DigitClassifier


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def report(name: str, seconds: list[float], target: float) -> None:
    p50 = statistics.median(seconds)
    print(f"{name}: p50 {p50:.3f} s, max {max(seconds):.3f} s over {len(seconds)} runs "
          f"(target ≤ {target:g} s: {'met' if p50 <= target else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="digits-cnn")
    parser.add_argument("--layer", default="relu2")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    c = DigitClassifier(args.model)
    images, _ = load_tensors("mnist", train=False)
    pixels = load_torchvision_dataset("mnist", train=False).data.numpy()

    start = time.perf_counter()
    examples = fv.dataset_examples(c.model, args.layer, images)
    print(f"dataset examples of {args.layer} over {len(images):,} test images (once per network, not counted): "
          f"{time.perf_counter() - start:.2f} s")
    channels = iter(range(10_000))
    count = fv.channel_count(c.model, args.layer)

    def one_channel():
        ch = next(channels) % count
        fv.visualize(c.model, args.layer, [ch], mean=c.mean, std=c.std, init=pixels[examples.indices[ch, :1]])

    report(f"one {args.layer} channel's visualisation, uncached", timed(one_channel, args.repeats), 3.0)
    digits = iter(range(10_000))

    def occlude():
        i = next(digits)
        occ.occlusion(c.model, images[i:i + 1], baseline=-c.mean / c.std)

    report("occlusion of one digit", timed(occlude, max(args.repeats, 10)), 1.0)


if __name__ == "__main__":
    main()
