"""The embedding map: what the network's learned features look like, flattened onto a page.

The *penultimate* features — the input of the last (logits) layer: 128 numbers for the CNN,
256 for the MLP — are what the final layer separates linearly into the ten classes. Projecting
them to 2-D shows whether the classes form separate clusters.

* **PCA** (scikit-learn ``PCA``): the two directions of largest variance; a linear map, so a new
  image (the student's drawing) is placed exactly with the same projection.
* **t-SNE** (scikit-learn ``TSNE``, van der Maaten & Hinton 2008): keeps neighbours close, shows
  clusters better, but has no projection for new points; a new image is placed at the
  distance-weighted mean position of its 10 nearest neighbours in feature space (an
  approximation, said so on the page).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnviz.inspection import capture_activations, penultimate_layer

METHODS = ("pca", "tsne")
NEIGHBOURS = 10


@torch.no_grad()
def penultimate_features(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """``(N, D)`` float32 features feeding the logits layer, for ``(N, C, H, W)`` normalised images.
    Read only: no hooks (see :func:`nnviz.inspection.capture_activations`)."""
    name = penultimate_layer(model)
    device = next(model.parameters()).device
    chunks = [capture_activations(model, images[s:s + batch_size].to(device), [name])[name].cpu()
              for s in range(0, len(images), batch_size)]
    return torch.cat(chunks).flatten(1).numpy().astype(np.float32)


def sample_indices(labels: np.ndarray, n: int = 2000, seed: int = 0) -> np.ndarray:
    """``n`` test-set indices, the same number from every class where possible, sorted; seeded."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per = n // len(classes)
    picked = [rng.choice(np.flatnonzero(labels == c), size=min(per, int((labels == c).sum())), replace=False)
              for c in classes]
    idx = np.concatenate(picked)
    rest = np.setdiff1d(np.arange(len(labels)), idx)
    if len(idx) < n:
        idx = np.concatenate([idx, rng.choice(rest, size=min(n - len(idx), len(rest)), replace=False)])
    return np.sort(idx)


@dataclass
class Embedding:
    """A fitted 2-D map of features.

    Attributes:
        method: ``"pca"`` or ``"tsne"``.
        points: ``(N, 2)`` float32 coordinates of the fitted features (arbitrary units).
        features: ``(N, D)`` float32, kept to place new points.
        explained_variance: for PCA, the fraction of the variance along each axis; else None.
    """

    method: str
    points: np.ndarray
    features: np.ndarray
    explained_variance: np.ndarray | None = None
    _pca: object | None = None
    _projection: tuple[np.ndarray, np.ndarray] | None = None  # PCA's (mean (D,), components (2, D)), stored

    def place(self, features: np.ndarray) -> np.ndarray:
        """2-D positions ``(M, 2)`` for new features ``(M, D)`` on this map (see module docs)."""
        if self._projection is not None:
            mean, components = self._projection
            f = np.asarray(features, np.float32).reshape(-1, mean.size)
            return ((f - mean) @ components.T).astype(np.float32)
        f = np.asarray(features, np.float32).reshape(-1, self.features.shape[1])
        if self._pca is not None:
            return self._pca.transform(f).astype(np.float32)
        d = np.linalg.norm(self.features[None, :, :] - f[:, None, :], axis=2)  # (M, N)
        near = np.argsort(d, axis=1)[:, :NEIGHBOURS]
        w = 1.0 / (np.take_along_axis(d, near, 1) + 1e-6)
        return ((self.points[near] * w[..., None]).sum(1) / w.sum(1, keepdims=True)).astype(np.float32)


def fit_embedding(features: np.ndarray, method: str = "pca", seed: int = 0) -> Embedding:
    """Project ``(N, D)`` features to 2-D with PCA or t-SNE (scikit-learn, seeded).

    t-SNE on 2,000 points takes several seconds on a CPU: cache the result.

    Raises:
        ValueError: unknown ``method``.
    """
    from sklearn.decomposition import PCA

    f = np.asarray(features, np.float32)
    if method == "pca":
        pca = PCA(n_components=2, random_state=seed).fit(f)
        return Embedding("pca", pca.transform(f).astype(np.float32), f, pca.explained_variance_ratio_, pca)
    if method == "tsne":
        from sklearn.manifold import TSNE

        # Perplexity 30 is the paper's and scikit-learn's default; PCA initialisation makes the
        # layout stable from run to run (Kobak & Linderman 2021).
        points = TSNE(n_components=2, perplexity=30, init="pca", random_state=seed).fit_transform(f)
        return Embedding("tsne", points.astype(np.float32), f)
    raise ValueError(f"unknown projection {method!r}; choose one of {METHODS}")
