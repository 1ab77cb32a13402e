"""Saying "this does not look like a digit" or "the network hesitates", from a measured signal.

A softmax answer is always one of ten digits, and its confidence is no guide to whether the input
is a digit at all: an earlier shipped CNN read a short dash in a corner as "0" with 93.5 %
confidence. So two signals are used:

* **not a digit** — the Mahalanobis distance of the drawing's penultimate features (the CNN's
  128 ``relu3`` units) to the nearest class of the MNIST training digits, with one covariance
  shared by the ten classes (Lee et al., "A simple unified framework for detecting
  out-of-distribution samples and adversarial attacks", NeurIPS 2018). The class means, the
  shared precision matrix and the threshold live in ``trained/digits-cnn.features.safetensors``,
  written by ``benchmarks/unsure.py --fit``: means and covariance from the first 50,000 MNIST
  training images; the threshold chosen on the other 10,000 (held out from the fit), redrawn with a
  pen on a 280×280 canvas and preprocessed as the Draw page does
  (``benchmarks/canvas_renderings.py``), against generated non-digits (dashes, dots, scribbles,
  shapes, letters that look like no digit, Fashion-MNIST items).
* **hesitates** — the answer's own softmax probability is below a second threshold: several
  digits are plausible to the network. Max-softmax alone misses dashes (read as a sure "0"), the
  distance alone misses most Fashion-MNIST items (their features land near a digit's, but the
  network spreads its probability), so the warning fires on either.

The pair (distance threshold, probability threshold) is chosen together on a grid (distance at the
99.5th–98th percentile of the held-out digits; probability 0.5–0.9) as the one that flags the
most non-digits (mean over the six kinds) while warning on at most 2 % of the held-out digits.
Chosen with ``benchmarks/unsure.py --fit --n-held-out 3000 --n-per-kind 300`` for the CNN shipped
2026-11-24: distance 230.9, probability 0.6; 1.6 % of the held-out digits warned about. Measured in
the same run: 54.6 % of 1,800 fresh non-digits warned about (dashes 91 %, shapes 66 %, letters 51 %,
dots 46 %, Fashion-MNIST 40 %, scribbles 33 %), and 2.9 % of the 15,953 UNIPEN digits. (The CNN
before it, whose held-out digits were MNIST images scaled up rather than redrawn with a pen: 74 % of
non-digits, 7.6 % of UNIPEN digits.) Real handwriting (UNIPEN) is only used to report the
false-alarm rate, never to choose.

The digit-likeness check always uses the shipped CNN's features, whichever network answers: it is
a property of the drawing, not of the answering network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from nnviz.checkpoints import TRAINED_DIR, load_checkpoint
from nnviz.data import dataset_info
from nnviz.embedding import penultimate_features
from nnviz.preprocess import DigitInput

FEATURES_FILE = TRAINED_DIR / "digits-cnn.features.safetensors"


@dataclass
class Doubt:
    """Why an answer should not be trusted: ``kind`` is ``"not a digit"`` or ``"hesitates"``;
    ``distance`` the Mahalanobis distance (squared, in units of the training spread) to the
    nearest digit class and ``threshold`` the distance above which a drawing is not a digit."""

    kind: str
    distance: float
    threshold: float

    @property
    def message(self) -> str:
        if self.kind == "not a digit":
            return ("This does not look like a digit to the network: its features are far from those of every "
                    "digit it was trained on. The answer below is only the closest of ten guesses.")
        return "The network is unsure: several digits look plausible to it. Try drawing more clearly."


def fit_class_gaussians(features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class means ``(10, D)`` and the shared precision matrix ``(D, D)`` (inverse of the pooled
    within-class covariance, with a small ridge so it is invertible), float64."""
    x = features.double()
    means = torch.stack([x[labels == c].mean(0) for c in range(int(labels.max()) + 1)])
    centred = x - means[labels]
    cov = centred.T @ centred / len(x)
    cov += 1e-6 * torch.trace(cov) / len(cov) * torch.eye(len(cov), dtype=cov.dtype)
    return means, torch.linalg.inv(cov)


def min_distance(features: torch.Tensor, means: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """Squared Mahalanobis distance ``(N,)`` of each feature row to its nearest class mean."""
    d = features.double()[:, None, :] - means[None]  # (N, C, D)
    return torch.einsum("ncd,de,nce->nc", d, precision, d).min(1).values


def save_features(means: torch.Tensor, precision: torch.Tensor, threshold: float, hesitation: float, note: str,
                  path: Path = FEATURES_FILE) -> None:
    """Write the class means, the precision matrix and both thresholds (``threshold``: squared
    distance; ``hesitation``: softmax probability) to ``path``."""
    save_file({"means": means.contiguous(), "precision": precision.contiguous()}, str(path),
              metadata={"threshold": repr(float(threshold)), "hesitation": repr(float(hesitation)), "note": note})


class DigitLikeness:
    """The shipped CNN's features and the stored digit statistics; thread-safe (read only).

    Raises:
        FileNotFoundError: ``trained/digits-cnn.features.safetensors`` is missing.
    """

    def __init__(self, path: Path = FEATURES_FILE):
        from safetensors import safe_open

        self.model, _ = load_checkpoint("digits-cnn")
        tensors = load_file(str(path))
        self.means, self.precision = tensors["means"].double(), tensors["precision"].double()
        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
        self.threshold, self.hesitation = float(meta["threshold"]), float(meta["hesitation"])
        mnist = dataset_info("mnist")  # the CNN was trained on MNIST normalised by its training set
        self.mean, self.std = mnist.mean[0], mnist.std[0]

    def distance(self, digit: DigitInput) -> float:
        """Squared Mahalanobis distance of a preprocessed drawing to the nearest digit class."""
        feats = torch.from_numpy(penultimate_features(self.model, digit.tensor(self.mean, self.std)))
        return float(min_distance(feats, self.means, self.precision)[0])

    def doubt(self, digit: DigitInput, confidence: float) -> Doubt | None:
        """Why the answer (with softmax ``confidence`` in [0, 1]) should not be trusted, or None."""
        d = self.distance(digit)
        if d > self.threshold:
            return Doubt("not a digit", d, self.threshold)
        if confidence < self.hesitation:
            return Doubt("hesitates", d, self.threshold)
        return None
