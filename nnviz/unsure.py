"""Saying "this does not look like a digit" or "the network hesitates", from measured signals.

A softmax answer is always one of ten digits, and its confidence is no guide to whether the input
is a digit at all: an earlier shipped CNN read a short dash in a corner as "0" with 93.5 %
confidence. So the drawing is measured with the shipped CNN, and the page warns when any of these
is past its threshold:

* **not a digit**, three scores (higher = less like the digits the CNN was trained on):
  - ``features``: the Mahalanobis distance of the drawing's penultimate features (the CNN's 128
    ``relu3`` units) to the nearest digit class, with one covariance shared by the ten classes
    (Lee et al., "A simple unified framework for detecting out-of-distribution samples and
    adversarial attacks", NeurIPS 2018);
  - ``feature_maps``: the same distance for the last convolution's feature maps (``relu2``), each
    of its 64 channels averaged over the image: Lee et al.'s lower-layer feature, which sees
    strokes and textures where the penultimate layer sees digit parts;
  - ``energy``: minus the log-sum-exp of the logits (Liu et al., "Energy-based out-of-distribution
    detection", NeurIPS 2020): high when no digit gets a high score.
* **hesitates**: the answering network's own softmax probability is below a threshold: several
  digits are plausible to it.

Each score catches different non-digits: the penultimate distance catches dashes and shapes, the
feature maps letters and scribbles, the energy dots and Fashion-MNIST items; softmax alone misses
dashes (read as a sure "0"). Class means, shared precision matrices and thresholds live in
``trained/digits-cnn.features.safetensors``, written by ``benchmarks/unsure.py --fit``: means and
covariances from the first 50,000 MNIST training images; the thresholds chosen together on a grid
(each score at the 98th–99.8th percentile of held-out digits, probability 0.5–0.9) as the set that
flags the most tuning non-digits (mean over the six kinds: dashes, dots, scribbles, shapes, letters
that look like no digit, Fashion-MNIST items) while warning on at most 2 % of held-out digits
(MNIST-train 50,000–59,999 redrawn with a pen on a 280×280 canvas and preprocessed as the Draw page
does, ``benchmarks/canvas_renderings.py``). Which scores to use was chosen the same way
(``benchmarks/unsure.py --compare``): every set of four candidates (these three and the first
convolution's feature maps), the smallest set within half a point of the best hit rate on the
tuning non-digits: these three, 80.2 % against 80.4 % for all four; each alone 53–64 %. Real
handwriting (UNIPEN) is only used to report the false-alarm rate, never to choose.

Chosen with ``benchmarks/unsure.py --fit --compare --n-held-out 3000 --n-per-kind 300`` for the
CNN shipped 2026-11-24: features > 262.2, feature maps > 181.6, energy > -6.1, or probability
< 0.5; 2.0 % of the held-out digits warned about. Measured in the same run on 1,800 fresh
non-digits: 81.2 % warned about (dashes 93 %, dots 70 %, scribbles 78 %, shapes 64 %, letters
87 %, Fashion-MNIST 94 %), and 2.6 % of the 15,953 UNIPEN digits. (The penultimate distance and
softmax alone, the rule before: 54.6 % of non-digits, 2.9 % of UNIPEN digits.)

The digit-likeness check always uses the shipped CNN, whichever network answers: it is a property
of the drawing, not of the answering network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from nnviz.checkpoints import TRAINED_DIR, load_checkpoint
from nnviz.data import dataset_info
from nnviz.inspection import capture_activations
from nnviz.preprocess import DigitInput

FEATURES_FILE = TRAINED_DIR / "digits-cnn.features.safetensors"
# The class-conditional Gaussian scores, in checking order, and the shipped CNN's layer each reads:
# its penultimate features and its last convolution's feature maps (after the ReLU).
DISTANCES = {"features": "relu3", "feature_maps": "relu2"}
NOT_A_DIGIT = (*DISTANCES, "energy")
# Every score is computed by the shipped CNN, whichever network answers (an MLP has no convolution
# filters), so the messages name the CNN that checks the drawing.
MESSAGES = {
    "features": "the features that the checking CNN (a convolutional network trained on digits) computes for it "
                "are far from those of every digit it was trained on.",
    "feature_maps": "the patterns that the convolution filters of the checking CNN (a convolutional network "
                    "trained on digits) find in it are unlike those they find in digits.",
    "energy": "the checking CNN (a convolutional network trained on digits) gives none of the ten digits a high "
              "score (logit).",
}


@dataclass
class Doubt:
    """Why an answer should not be trusted.

    ``kind`` is ``"not a digit"`` or ``"hesitates"``; ``signal`` the score that fired (one of
    :data:`NOT_A_DIGIT`, or ``"softmax"``); ``score`` its value and ``threshold`` its limit: a
    drawing is not a digit when ``score > threshold`` (squared Mahalanobis distances in units of the
    training spread; energy in logit units), and the network hesitates when its softmax probability
    ``score < threshold``."""

    kind: str
    signal: str
    score: float
    threshold: float

    @property
    def message(self) -> str:
        if self.kind == "not a digit":
            return (f"This does not look like a digit: {MESSAGES[self.signal]} "
                    "The answer below is only the closest of ten guesses.")
        return "The network is unsure: several digits look plausible to it. Try drawing more clearly."


def fit_class_gaussians(features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class means ``(C, D)`` and the shared precision matrix ``(D, D)`` (inverse of the pooled
    within-class covariance, with a small ridge so it is invertible), float64, for ``(N, D)``
    features and ``(N,)`` int64 labels 0..C-1."""
    x = features.double()
    means = torch.stack([x[labels == c].mean(0) for c in range(int(labels.max()) + 1)])
    centred = x - means[labels]
    cov = centred.T @ centred / len(x)
    cov += 1e-6 * torch.trace(cov) / len(cov) * torch.eye(len(cov), dtype=cov.dtype)
    return means, torch.linalg.inv(cov)


def min_distance(features: torch.Tensor, means: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """Squared Mahalanobis distance ``(N,)`` float64 of each ``(N, D)`` feature row to its nearest
    class mean."""
    d = features.double()[:, None, :] - means[None]  # (N, C, D)
    return torch.einsum("ncd,de,nce->nc", d, precision, d).min(1).values


def energy(logits: torch.Tensor) -> torch.Tensor:
    """Free energy ``-logsumexp(logits)`` ``(N,)`` float64 of ``(N, C)`` logits (Liu et al. 2020):
    higher when no class gets a high logit."""
    return -torch.logsumexp(logits.double(), 1)


@torch.no_grad()
def digit_statistics(model: nn.Module, images: torch.Tensor, layers: dict[str, str] = DISTANCES,
                     batch_size: int = 1000) -> dict[str, torch.Tensor]:
    """What the scores read from the CNN, in one forward pass per batch.

    Args:
        model: an ``nn.Sequential`` CNN with the ``layers`` named and a last logits layer, eval mode.
        images: ``(N, 1, 28, 28)`` float32, normalised as the CNN expects.
        layers: ``{name: layer}``; by default :data:`DISTANCES`.

    Returns:
        ``{name: (N, C)}`` for each of ``layers`` (feature maps averaged over the image, one value
        per channel; flat features as they are) and ``"logits"``: ``(N, 10)``, float32. For the
        shipped CNN, ``"features"`` is ``(N, 128)`` and ``"feature_maps"`` ``(N, 64)``.
    """
    last = list(model.named_children())[-1][0]
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in (*layers, "logits")}
    for chunk in images.split(batch_size):
        acts = capture_activations(model, chunk, [*layers.values(), last])
        for name, layer in layers.items():
            out = acts[layer]
            parts[name].append(out.mean((2, 3)) if out.dim() == 4 else out.flatten(1))
        parts["logits"].append(acts[last])
    return {k: torch.cat(v) for k, v in parts.items()}


def not_a_digit_scores(stats: dict[str, torch.Tensor],
                       gaussians: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """``{score: (N,) float64}``: the distance for each of ``gaussians`` (``{name: (means,
    precision)}``, by default one per :data:`DISTANCES`) and ``"energy"``, from
    :func:`digit_statistics`' output."""
    out = {name: min_distance(stats[name], *g) for name, g in gaussians.items()}
    out["energy"] = energy(stats["logits"])
    return out


def save_features(gaussians: dict[str, tuple[torch.Tensor, torch.Tensor]], thresholds: dict[str, float],
                  hesitation: float, note: str, path: Path = FEATURES_FILE) -> None:
    """Write each distance's class means and precision matrix, the thresholds of every score in
    :data:`NOT_A_DIGIT` and the softmax ``hesitation`` (0–1) to ``path``.

    Raises:
        KeyError: a score of :data:`NOT_A_DIGIT` has no threshold, or a distance no statistics.
    """
    tensors = {f"{name}.{part}": t.float().contiguous()
               for name in DISTANCES for part, t in zip(("means", "precision"), gaussians[name])}
    meta = {f"threshold.{name}": repr(float(thresholds[name])) for name in NOT_A_DIGIT}
    save_file(tensors, str(path), metadata={**meta, "hesitation": repr(float(hesitation)), "note": note})


class DigitLikeness:
    """The shipped CNN and the stored digit statistics; thread-safe (read only).

    Raises:
        FileNotFoundError: ``trained/digits-cnn.features.safetensors`` is missing.
        KeyError: the file was written by an older version (one distance only); rerun
            ``benchmarks/unsure.py --fit``.
    """

    def __init__(self, path: Path = FEATURES_FILE):
        self.model, _ = load_checkpoint("digits-cnn")
        tensors = load_file(str(path))
        self.gaussians = {name: (tensors[f"{name}.means"].double(), tensors[f"{name}.precision"].double())
                          for name in DISTANCES}
        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
        self.thresholds = {name: float(meta[f"threshold.{name}"]) for name in NOT_A_DIGIT}
        self.hesitation = float(meta["hesitation"])
        mnist = dataset_info("mnist")  # the CNN was trained on MNIST normalised by its training set
        self.mean, self.std = mnist.mean[0], mnist.std[0]

    def scores(self, digit: DigitInput) -> dict[str, float]:
        """Each of :data:`NOT_A_DIGIT` for a preprocessed drawing (see :class:`Doubt` for units)."""
        stats = digit_statistics(self.model, digit.tensor(self.mean, self.std))
        return {name: float(v[0]) for name, v in not_a_digit_scores(stats, self.gaussians).items()}

    def doubt(self, digit: DigitInput, confidence: float) -> Doubt | None:
        """Why the answer (with softmax ``confidence`` in [0, 1]) should not be trusted, or None."""
        scores = self.scores(digit)
        for name in NOT_A_DIGIT:
            if scores[name] > self.thresholds[name]:
                return Doubt("not a digit", name, scores[name], self.thresholds[name])
        if confidence < self.hesitation:
            return Doubt("hesitates", "softmax", confidence, self.hesitation)
        return None
