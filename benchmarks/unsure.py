"""The warning of :mod:`nnviz.unsure`: fit its statistics and choose its thresholds (``--fit``),
compare candidate scores (``--compare``), then print its hit rate on generated non-digits and its
false-alarm rate on held-out MNIST digits and on real handwriting (UNIPEN, evaluation only: never
used to choose anything).

    .venv/bin/python benchmarks/unsure.py [--fit] [--compare] [--n-unipen 16000]

Choosing (``--fit``): class means and shared covariances of the CNN's features on MNIST-train
images 0–49,999; the thresholds on images 50,000–59,999 drawn again with a pen on the canvas and
preprocessed as the page does (``benchmarks/canvas_renderings.py``; false alarms) against
non-digits made with seed 0 (hits): the thresholds, together, that flag most non-digits while
flagging ≤ 2 % of the held-out digits. ``--compare`` makes the same choice for every set of
candidate scores and prints each set's hit rate on those tuning non-digits (how the scores of
:data:`nnviz.unsure.NOT_A_DIGIT` were picked) beside its rate on fresh ones. Reported hits are on
fresh non-digits (seed 1, Fashion-MNIST test items not used for the choice).
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch

from canvas_renderings import draw, on_canvas, skeleton
from nondigits import network_input, non_digits

from nnviz.checkpoints import load_checkpoint
from nnviz.data import dataset_info, load_tensors, load_torchvision_dataset
from nnviz.preprocess import BlankDrawing
from nnviz.unsure import (DISTANCES, NOT_A_DIGIT, DigitLikeness, digit_statistics,
                          fit_class_gaussians, not_a_digit_scores, save_features)


MAX_FALSE_ALARMS = 0.02
FIT, HELD_OUT = slice(0, 50_000), slice(50_000, 60_000)


def page_inputs(items, to_input) -> list:
    """The network's 28×28 input per item (``to_input(item).image``), None where the page would say
    the canvas is blank."""
    out = []
    for item in items:
        try:
            out.append(to_input(item).image)
        except BlankDrawing:
            out.append(None)
    return out


def normalised(inputs: list) -> tuple[torch.Tensor, np.ndarray]:
    """The non-blank network inputs as one normalised ``(M, 1, 28, 28)`` batch, and their indices."""
    where = np.array([i for i, x in enumerate(inputs) if x is not None], dtype=int)
    mnist = dataset_info("mnist")
    x = torch.from_numpy(np.stack([inputs[i] for i in where]).astype(np.float32))[:, None]
    return (x - mnist.mean[0]) / mnist.std[0], where


def scored(inputs: list, score_batch) -> dict[str, np.ndarray]:
    """``{score: (N,)}`` per network input (from :func:`page_inputs`), with ``"softmax"`` the CNN's
    top probability; a drawing the page calls blank (None; it gives no answer) gets +inf and 0.
    ``score_batch(x)`` gives ``({score: (M,)}, logits (M, 10))`` for a normalised batch."""
    x, where = normalised(inputs)
    scores, logits = score_batch(x)
    out = {}
    for name, values in {**scores, "softmax": torch.softmax(logits, 1).max(1).values}.items():
        out[name] = np.full(len(inputs), 0.0 if name == "softmax" else np.inf)
        out[name][where] = values.numpy()
    return out


def score_batches(model, gaussians, layers=DISTANCES):
    """:func:`nnviz.unsure.not_a_digit_scores` for ``layers`` as a ``score_batch`` (by default the
    page's scores)."""
    def score_batch(x):
        stats = digit_statistics(model, x, layers)
        return not_a_digit_scores(stats, gaussians), stats["logits"]
    return score_batch


# Candidates for --compare: class-conditional distances of each layer's output (convolutions'
# feature maps averaged per channel) and the energy of the logits.
CANDIDATE_LAYERS = {"conv1 maps": "relu1", "conv2 maps": "relu2", "features": "relu3"}


def candidate_scores(model, images: torch.Tensor, labels: torch.Tensor):
    """Fit each candidate layer's class Gaussians on ``images``/``labels``; return a ``score_batch``."""
    stats = digit_statistics(model, images, CANDIDATE_LAYERS)
    gaussians = {name: fit_class_gaussians(stats[name], labels) for name in CANDIDATE_LAYERS}
    return score_batches(model, gaussians, CANDIDATE_LAYERS)


def warns(s: dict[str, np.ndarray], thresholds: dict[str, float], hesitation: float) -> np.ndarray:
    """Whether the page warns: any score above its threshold, or the top probability below ``hesitation``."""
    return np.any([s[name] > t for name, t in thresholds.items()], 0) | (s["softmax"] < hesitation)


def choose(names, digits: dict, tuning: list[dict]) -> tuple[float, float, dict[str, float], float]:
    """The thresholds for scores ``names`` and the hesitation, chosen together on a grid, that warn
    on the most ``tuning`` non-digits (mean over kinds) while warning on ≤ 2 % of ``digits``:
    ``(hits, false alarms, thresholds, hesitation)``."""
    best = None
    grids = [np.quantile(digits[n], [0.98, 0.985, 0.99, 0.995, 0.998]) for n in names]
    for values in itertools.product(*grids):
        thresholds = dict(zip(names, (float(v) for v in values)))
        for hesitation in (0.5, 0.6, 0.7, 0.8, 0.9):
            false_alarms = np.mean(warns(digits, thresholds, hesitation))
            if false_alarms > MAX_FALSE_ALARMS:
                continue
            hits = np.mean([np.mean(warns(s, thresholds, hesitation)) for s in tuning])
            if best is None or hits > best[0]:
                best = (hits, false_alarms, thresholds, hesitation)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit", action="store_true", help="refit the statistics and thresholds, and save them")
    parser.add_argument("--compare", action="store_true", help="compare sets of candidate scores (no saving)")
    parser.add_argument("--n-unipen", type=int, default=None, help="UNIPEN digits to use (default all 15,953)")
    parser.add_argument("--n-held-out", type=int, default=4000)
    parser.add_argument("--n-per-kind", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, _ = load_checkpoint("digits-cnn")
    pixels = load_torchvision_dataset("mnist", train=True).data.numpy()
    fashion_test = load_torchvision_dataset("fashion-mnist", train=False).data.numpy()
    held_out = [draw(on_canvas(skeleton(p / 255.0))) for p in pixels[HELD_OUT][:args.n_held_out]]
    tune = [page_inputs(v, network_input) for v in
            non_digits(args.n_per_kind, seed=0, fashion_pixels=fashion_test[:5000]).values()]
    fresh = non_digits(args.n_per_kind, seed=1, fashion_pixels=fashion_test[5000:])
    fresh_inputs = {kind: page_inputs(items, network_input) for kind, items in fresh.items()}
    images, labels = load_tensors("mnist", train=True)

    if args.compare:
        score_batch = candidate_scores(model, images[FIT], labels[FIT])
        digits, tuning = scored(held_out, score_batch), [scored(t, score_batch) for t in tune]
        fresh_scores = [scored(f, score_batch) for f in fresh_inputs.values()]
        rows = []
        names = [*CANDIDATE_LAYERS, "energy"]
        for r in range(1, len(names) + 1):
            for subset in itertools.combinations(names, r):
                hits, false_alarms, thresholds, hesitation = choose(subset, digits, tuning)
                fresh_hits = np.mean([np.mean(warns(s, thresholds, hesitation)) for s in fresh_scores])
                rows.append((hits, fresh_hits, false_alarms, " + ".join(subset)))
        print("scores (+ softmax hesitation)             tuning hits  fresh hits  held-out false alarms")
        for hits, fresh_hits, false_alarms, subset in sorted(rows, reverse=True):
            print(f"  {subset:40s} {hits:10.1%} {fresh_hits:11.1%} {false_alarms:12.1%}")

    if args.fit:
        stats = digit_statistics(model, images[FIT])
        gaussians = {name: fit_class_gaussians(stats[name], labels[FIT]) for name in DISTANCES}
        score_batch = score_batches(model, gaussians)
        hits, false_alarms, thresholds, hesitation = choose(
            NOT_A_DIGIT, scored(held_out, score_batch), [scored(t, score_batch) for t in tune])
        rule = " or ".join(f"{name} > {t:.1f}" for name, t in thresholds.items())
        print(f"chosen: {rule} or probability < {hesitation}: {false_alarms:.1%} of held-out "
              f"MNIST digits, {hits:.1%} of the tuning non-digits (mean over kinds) warned about")
        save_features(gaussians, thresholds, hesitation,
                      note="benchmarks/unsure.py --fit: MNIST-train 0-49999 fit, 50000-59999 canvas-rendered for "
                           f"the thresholds at <= {MAX_FALSE_ALARMS:.0%} false alarms")

    check = DigitLikeness()
    t, h = check.thresholds, check.hesitation
    score_batch = score_batches(model, check.gaussians)
    print("warning when " + " or ".join(f"{name} > {v:.2f}" for name, v in t.items())
          + f" or the CNN's top softmax probability < {h}")
    false_alarms = np.mean(warns(scored(held_out, score_batch), t, h))
    print(f"false alarms on {len(held_out)} held-out MNIST-train digits drawn on the canvas: {false_alarms:.1%}")
    hits = []
    for kind, inputs in fresh_inputs.items():
        sk = scored(inputs, score_batch)
        hits.append(warns(sk, t, h))
        fired = ", ".join(f"{np.mean(sk[name] > t[name]):.0%} {name}" for name in NOT_A_DIGIT)
        print(f"  {kind:9s}: {np.mean(hits[-1]):.1%} warned ({fired}; {np.mean(np.isinf(sk['energy'])):.1%} "
              "of all as blank)")
    print(f"hit rate on {sum(map(len, hits))} fresh non-digits: {np.mean(np.concatenate(hits)):.1%}")
    from unipen import load_unipen, network_input as drawn_input, to_canvas

    records = load_unipen(args.n_unipen)
    su = scored(page_inputs([to_canvas(r["strokes"]) for r in records], drawn_input), score_batch)
    far = np.any([su[name] > t[name] for name in NOT_A_DIGIT], 0)
    print(f"false alarms on {len(records)} real UNIPEN digits (evaluation only): {np.mean(warns(su, t, h)):.1%} "
          f"({np.mean(far):.1%} not a digit, {np.mean(~far & (su['softmax'] < h)):.1%} hesitates)")


if __name__ == "__main__":
    main()
