"""What the Inspect page shows about a network on the fixed MNIST test set, computed once and stored.

The test report (every test image's prediction and probabilities, hence the confusion matrix)
and the 2-D maps of the penultimate features (PCA and t-SNE) depend only on the weights and on
the official 10,000 test images. Computing them takes ~2 s (report) and ~11 s (t-SNE) on a CPU,
so they are computed once and written to an ``.npz`` file (numpy arrays only, read with
``allow_pickle=False``) holding the card's ``weights_sha256``: a file whose hash differs from
the weights' is stale and ignored.

* Shipped networks: ``trained/<name>.inspect.npz`` beside the checkpoint, regenerated with
  ``python -m nnviz precompute`` (:func:`write_shipped`).
* Networks a user trains: ``$NNVIZ_CACHE_DIR/inspect/<weights_sha256>.npz`` (default
  ``~/.cache/nnviz``), written on first use (:func:`load_or_compute`).

What is stored (220 KB for the CNN, 360 KB for the MLP): ``predictions`` ``(10000,)`` uint8, ``probabilities``
``(10000, K)`` float16 (the confidences shown are rounded to 0.1 % anyway), the 2,000 map
``indices`` (:func:`nnviz.embedding.sample_indices`), the ``pca_points`` with the PCA's
``pca_mean`` and ``pca_components`` (so a new input is projected exactly), and the
``tsne_points``, and the map images' penultimate features (to place a new input among its
nearest neighbours on the t-SNE map) quantised to uint8 per feature (``features_low`` plus
``features_q`` times ``features_scale``: an error under 0.2 % of each feature's range, which
does not change who the nearest neighbours are in practice; recomputing them would take 2,000
forward passes, about 1.5 s).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnviz.embedding import Embedding, fit_embedding, penultimate_features, sample_indices
from nnviz.evaluation import TestReport, compute_test_report, confusion_matrix
from nnviz.files import atomic_write_bytes, cache_dir

FORMAT = 2
EMBEDDING_SIZE = 2000  # test images on the embedding map
SUFFIX = ".inspect.npz"
log = logging.getLogger(__name__)


@dataclass
class TestSetViews:
    """A network's stored test-set views.

    Attributes:
        report: the :class:`nnviz.evaluation.TestReport` on the 10,000 test images (probabilities
            rounded to float16 precision when read from a file).
        indices: ``(2000,)`` int64 test indices on the map, sorted.
        points: ``{"pca": (2000, 2), "tsne": (2000, 2)}`` float32 map coordinates.
        pca_mean, pca_components: ``(D,)`` and ``(2, D)`` float32: ``(f - mean) @ components.T``
            places new features ``f`` on the PCA map.
        features: ``(2000, D)`` float32, the map images' penultimate features (dequantised when
            read from a file).
    """

    report: TestReport
    indices: np.ndarray
    points: dict[str, np.ndarray]
    pca_mean: np.ndarray
    pca_components: np.ndarray
    features: np.ndarray

    def embedding(self, method: str) -> Embedding:
        """The :class:`nnviz.embedding.Embedding` of ``method`` ("pca" or "tsne")."""
        if method == "pca":
            return Embedding("pca", self.points["pca"], self.features, _projection=(self.pca_mean, self.pca_components))
        if method == "tsne":
            return Embedding("tsne", self.points["tsne"], self.features)
        raise ValueError(f"unknown projection {method!r}")


def quantise(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(q (N, D) uint8, low (D,), scale (D,) float32)`` with ``low + q * scale`` ≈ ``features``
    (within half a step, 1/510 of each feature's range)."""
    f = np.asarray(features, np.float32)
    low = f.min(0)
    scale = ((f.max(0) - low) / 255).astype(np.float32)
    q = np.round((f - low) / np.where(scale > 0, scale, 1)).astype(np.uint8)
    return q, low.astype(np.float32), scale


def compute(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> TestSetViews:
    """Compute every view: the test report, then PCA and t-SNE of 2,000 test images' features
    (about 13 s on a 2-core CPU, t-SNE most of it)."""
    report = compute_test_report(model, images, labels)
    idx = sample_indices(labels.numpy(), EMBEDDING_SIZE)
    features = penultimate_features(model, images[idx])
    pca = fit_embedding(features, "pca")
    tsne = fit_embedding(features, "tsne")
    return TestSetViews(report, idx, {"pca": pca.points, "tsne": tsne.points},
                        pca._pca.mean_.astype(np.float32), pca._pca.components_.astype(np.float32), features)


def to_bytes(views: TestSetViews, weights_sha256: str) -> bytes:
    """The ``.npz`` file's bytes (compressed, numpy arrays only)."""
    buffer = io.BytesIO()
    r = views.report
    q, low, scale = quantise(views.features)
    np.savez_compressed(buffer, format=np.int64(FORMAT), weights_sha256=np.str_(weights_sha256),
                        labels=r.labels.astype(np.uint8), predictions=r.predictions.astype(np.uint8),
                        probabilities=r.probabilities.astype(np.float16), indices=views.indices.astype(np.int16),
                        pca_points=views.points["pca"].astype(np.float32),
                        tsne_points=views.points["tsne"].astype(np.float32),
                        pca_mean=views.pca_mean, pca_components=views.pca_components,
                        features_q=q, features_low=low, features_scale=scale)
    return buffer.getvalue()


def read(path: str | Path, weights_sha256: str) -> TestSetViews | None:
    """The views stored in ``path``, or None when the file is missing, unreadable, of another
    format, or for other weights (its ``weights_sha256`` differs)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["format"]) != FORMAT or str(f["weights_sha256"]) != weights_sha256:
                log.info("ignoring %s: made for other weights or another format", path)
                return None
            labels = f["labels"].astype(np.int64)
            predictions = f["predictions"].astype(np.int64)
            probabilities = f["probabilities"].astype(np.float32)
            report = TestReport(labels, predictions, probabilities,
                                confusion_matrix(labels, predictions, probabilities.shape[1]))
            return TestSetViews(report, f["indices"].astype(np.int64),
                                {"pca": f["pca_points"], "tsne": f["tsne_points"]},
                                f["pca_mean"], f["pca_components"],
                                f["features_low"] + f["features_q"].astype(np.float32) * f["features_scale"])
    except (OSError, KeyError, ValueError) as exc:
        log.info("cannot read %s (%s)", path, exc)
        return None


def shipped_path(checkpoint: str | Path) -> Path:
    """``trained/<name>.inspect.npz`` for checkpoint ``trained/<name>.safetensors`` (or ``.json``)."""
    p = Path(checkpoint)
    return p.with_name(p.name.split(".")[0] + SUFFIX)


def cache_path(weights_sha256: str) -> Path:
    """``$NNVIZ_CACHE_DIR/inspect/<weights_sha256>.npz`` (default ``~/.cache/nnviz``)."""
    return cache_dir() / "inspect" / f"{weights_sha256}.npz"


def load_or_compute(model: nn.Module, weights_sha256: str, images: torch.Tensor, labels: torch.Tensor,
                    checkpoint: str | Path | None = None, on_compute=None) -> TestSetViews:
    """The views of ``model``: from the file shipped beside ``checkpoint``, else from the disk
    cache, else computed (``on_compute()`` is called first, e.g. to show a progress message) and
    written to the disk cache. A cache that cannot be written only costs the next restart time."""
    candidates = ([shipped_path(checkpoint)] if checkpoint is not None else []) + [cache_path(weights_sha256)]
    for path in candidates:
        views = read(path, weights_sha256) if path.is_file() else None
        if views is not None:
            return views
    if on_compute is not None:
        on_compute()
    views = compute(model, images, labels)
    try:
        atomic_write_bytes(cache_path(weights_sha256), to_bytes(views, weights_sha256), durable=False)
    except OSError as exc:
        log.warning("cannot cache the test-set views in %s (%s)", cache_path(weights_sha256), exc)
    return views


def write_shipped(name: str, images: torch.Tensor, labels: torch.Tensor) -> Path:
    """Compute the views of checkpoint ``name`` and write them beside it; returns the path.

    Raises:
        nnviz.checkpoints.CheckpointError: no such checkpoint.
    """
    from nnviz.checkpoints import load_checkpoint, resolve_checkpoint

    model, card = load_checkpoint(name)
    path = shipped_path(resolve_checkpoint(name))
    atomic_write_bytes(path, to_bytes(compute(model, images, labels), card["weights_sha256"]))
    return path
