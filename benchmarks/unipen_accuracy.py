"""Accuracy of the shipped digit networks on real handwriting: UNIPEN pen-stroke digits replayed
onto a 280×280 canvas, then the Draw page's preprocessing of strokes (``digit_from_strokes``).
This is the closest offline measure of "does a student's drawing get the right answer". Each digit
is drawn twice: large and centred (as the page asks), and small (90 px) in a random corner.

    .venv/bin/python benchmarks/unipen_accuracy.py [--n 16000] [--models digits-cnn digits-mlp]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch

from nnviz.predict import DigitClassifier
from nnviz.preprocess import BlankDrawing
from unipen import load_unipen, network_input, to_canvas, to_small_canvas


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=None, help="digits to use (default: all 15,953)")
    parser.add_argument("--models", nargs="+", default=["digits-cnn", "digits-mlp"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = load_unipen(args.n)
    rng = np.random.default_rng(0)
    layouts = {"large, centred": [to_canvas(r["strokes"]) for r in records],
               "small, off-centre": [to_small_canvas(r["strokes"], rng) for r in records]}
    print(f"{len(records)} UNIPEN digits from {len({r['source'] for r in records})} labs")
    for name, layout in ((n, lay) for n in args.models for lay in layouts):
        clf = DigitClassifier(name)
        print(f"{name}, {layout}:", end=" ")
        correct, blank, per_class, confusions = 0, 0, Counter(), Counter()
        for r, strokes in zip(records, layouts[layout]):
            try:
                label = clf.predict_digit(network_input(strokes)).label
            except BlankDrawing:
                blank += 1
                continue
            ok = label == str(r["label"])
            correct += ok
            per_class[r["label"]] += ok
            if not ok:
                confusions[(r["label"], label)] += 1
        totals = Counter(r["label"] for r in records)
        print(f"{correct / len(records):.2%} correct ({correct}/{len(records)}, {blank} seen as blank); "
              f"MNIST test {clf.card['metrics']['test_accuracy']:.2%} (its card; `python -m nnviz evaluate` recomputes it)")
        print("  per class: " + ", ".join(f"{d}: {per_class[d] / totals[d]:.1%}" for d in range(10)))
        print("  most common mistakes (true→predicted): " +
              ", ".join(f"{t}→{p} ×{n}" for (t, p), n in confusions.most_common(5)))


if __name__ == "__main__":
    main()
