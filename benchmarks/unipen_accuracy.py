"""Accuracy of the shipped digit networks on real handwriting: UNIPEN pen-stroke digits replayed
onto a 280×280 canvas with the Draw page's 18 px brush, then the Draw page's preprocessing.
This is the closest offline measure of "does a student's drawing get the right answer".

    .venv/bin/python benchmarks/unipen_accuracy.py [--n 16000]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nnviz.predict import DigitClassifier  # noqa: E402
from nnviz.preprocess import BlankDrawing  # noqa: E402
from unipen import load_unipen, render, to_canvas  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=None, help="digits to use (default: all 15,953)")
    args = parser.parse_args()
    records = load_unipen(args.n)
    canvases = [render(to_canvas(r["strokes"])) for r in records]
    print(f"{len(records)} UNIPEN digits from {len({r['source'] for r in records})} labs")
    for name in ("digits-cnn", "digits-mlp"):
        clf = DigitClassifier(name)
        correct, blank, per_class, confusions = 0, 0, Counter(), Counter()
        for r, canvas in zip(records, canvases):
            try:
                label = clf.predict_image(canvas).label
            except BlankDrawing:
                blank += 1
                continue
            ok = label == str(r["label"])
            correct += ok
            per_class[r["label"]] += ok
            if not ok:
                confusions[(r["label"], label)] += 1
        totals = Counter(r["label"] for r in records)
        print(f"{name}: {correct / len(records):.2%} correct ({correct}/{len(records)}, {blank} seen as blank)")
        print("  per class: " + ", ".join(f"{d}: {per_class[d] / totals[d]:.1%}" for d in range(10)))
        print("  most common mistakes (true→predicted): " +
              ", ".join(f"{t}→{p} ×{n}" for (t, p), n in confusions.most_common(5)))


if __name__ == "__main__":
    main()
