"""Occlusion, and a sanity check of the gradient maps.

* **Occlusion** (Zeiler & Fergus 2014, "Visualizing and Understanding Convolutional Networks"):
  cover one square of the input with a plain patch, classify again, and see how much the answer's
  probability drops; slide the patch over the whole image. Unlike Grad-CAM and saliency it takes
  no gradient, so it shows what the network's *answer* depends on, at the price of one forward pass
  per position. The computation is captum's ``Occlusion``; each pixel gets the mean drop over the
  patch positions that cover it.
* **Sanity check** (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"): a map that explains the
  network must change when the network's weights do. Cascading randomisation replaces the weights
  layer by layer, from the last layer down, in a copy of the network, and compares each new map with
  the original by Spearman's rank correlation. A faithful method's correlation falls towards 0; a map
  that stays alike is showing the input's edges, not what the network learned.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import Occlusion
from scipy.stats import spearmanr
from torch import nn

# For a 28×28 digit: a 6×6 patch (a stroke's width and a bit) moved 2 pixels at a time, 144
# positions in one batch; for a 224×224 photo, a 56×56 patch moved 28 pixels at a time (49 positions).
DIGIT_WINDOW, DIGIT_STRIDE = 6, 2
PHOTO_WINDOW, PHOTO_STRIDE = 56, 28


def occlusion(model: nn.Module | Callable, inputs: torch.Tensor, target: int | None = None, *,
              window: int = DIGIT_WINDOW, stride: int = DIGIT_STRIDE, baseline: float = 0.0,
              batch: int = 64) -> tuple[np.ndarray, int]:
    """How much the class's probability drops when each part of the input is covered.

    Args:
        model: a classifier returning logits ``(N, K)``, in eval mode (not changed; no hooks).
        inputs: one input ``(1, C, H, W)`` float32, normalised as the model expects.
        target: the class whose probability is watched; None for the predicted class.
        window, stride: the square patch's side and its step, in pixels.
        baseline: the patch's value in the model's input units: the blank background for a digit
            (``-mean/std``, pixel 0, ≈ -0.4242 for MNIST), mid-grey (0.0) for a photo in [-1, 1].
        batch: occluded copies classified per forward pass.

    Returns:
        ``(drop (H, W) float32, target)``: the mean over the patch positions covering each pixel of
        ``p(target | input) − p(target | input with the patch)``, in probability units (−1…1; below
        0 where covering raised it), and the class used.

    Raises:
        ValueError: ``inputs`` is not one ``(1, C, H, W)`` image, or the window does not fit.
    """
    if inputs.ndim != 4 or inputs.shape[0] != 1:
        raise ValueError(f"expected one input of shape (1, C, H, W), got {tuple(inputs.shape)}")
    c, h, w = inputs.shape[1:]
    if not 1 <= window <= min(h, w) or stride < 1:
        raise ValueError(f"a {window}×{window} patch with stride {stride} does not fit a {h}×{w} image")
    x = inputs.detach().clone()

    def probabilities(batch_in: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(batch_in), dim=1)

    with torch.no_grad():
        if target is None:
            target = int(probabilities(x).argmax(1))
        drop = Occlusion(probabilities).attribute(x, target=int(target), sliding_window_shapes=(c, window, window),
                                                  strides=(c, stride, stride), baselines=float(baseline),
                                                  perturbations_per_eval=batch)
    return drop[0].mean(0).cpu().numpy().astype(np.float32), int(target)


@dataclass
class SanityCheck:
    """Cascading randomisation's result: ``layers`` randomised so far at each step (the last layer
    first), the ``correlations`` (Spearman's rank correlation of each step's map with the original,
    −1…1; 0 when a map is constant, which has no ranks), and the ``maps`` ``(steps + 1, H, W)``
    float32, the original first."""

    layers: list[str]
    correlations: list[float]
    maps: np.ndarray


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def cascading_randomization(model: nn.Module, inputs: torch.Tensor, explain: Callable[[nn.Module, torch.Tensor, int], np.ndarray],
                            target: int | None = None, seed: int = 0) -> SanityCheck:
    """Adebayo et al. 2018's cascading randomisation of ``model``'s weights, on a deep copy.

    Args:
        model: a classifier (not changed: the layers are re-initialised in a copy).
        inputs: ``(1, C, H, W)`` float32, normalised.
        explain: ``explain(network, inputs, target) → (H, W)`` map, e.g. saliency or Grad-CAM.
        target: the class explained at every step (the original network's prediction if None), so
            only the weights change.
        seed: the random weights (each layer gets its own ``reset_parameters()``, PyTorch's
            default initialisation).

    Returns:
        a :class:`SanityCheck` with one step per layer that has weights, the last layer first.
    """
    network = copy.deepcopy(model).eval()
    if target is None:
        with torch.no_grad():
            target = int(network(inputs).argmax(1))
    maps = [np.asarray(explain(network, inputs, target), np.float32)]
    layers: list[str] = []
    correlations: list[float] = []
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        weighted = [(name, m) for name, m in network.named_modules()
                    if hasattr(m, "reset_parameters") and any(True for _ in m.parameters(recurse=False))]
        for name, module in reversed(weighted):
            module.reset_parameters()
            layers.append(name)
            maps.append(np.asarray(explain(network, inputs, target), np.float32))
            correlations.append(_rank_correlation(maps[0], maps[-1]))
    finally:
        torch.random.set_rng_state(generator_state)
    return SanityCheck(layers, correlations, np.stack(maps))
