"""How good is the network: predictions on the whole official test set, the confusion matrix,
per-class accuracy and the most confident mistakes.

The 10,000 MNIST test images take a few seconds on a CPU: the shipped networks' reports are stored
beside their checkpoints (:mod:`nnviz.test_set_views`), and the app caches the others per model
content (``ui/inspect_cache.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class TestReport:
    """A model's answers on a labelled test set.

    Attributes:
        labels: ``(N,)`` int64, the true classes.
        predictions: ``(N,)`` int64, the argmax of the logits.
        probabilities: ``(N, K)`` float32, softmax of the logits (rows sum to 1).
        confusion: ``(K, K)`` int64; ``confusion[t, p]`` counts images of true class ``t``
            predicted as ``p``. Sums to N; its diagonal counts the correct answers per class.
    """

    labels: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray
    confusion: np.ndarray

    @property
    def accuracy(self) -> float:
        """Fraction of correct answers, in [0, 1]."""
        return float(np.trace(self.confusion) / max(self.confusion.sum(), 1))

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """``(K,)`` float64 in [0, 1]: for each true class, the fraction predicted correctly
        (the confusion matrix's diagonal over its row sums; NaN for a class with no images)."""
        rows = self.confusion.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / rows

    @property
    def confidence(self) -> np.ndarray:
        """``(N,)`` float32: probability of the predicted class."""
        return self.probabilities[np.arange(len(self.predictions)), self.predictions]

    def mistakes(self) -> np.ndarray:
        """Indices of misclassified images, ``(M,)`` int64, in test-set order."""
        return np.flatnonzero(self.predictions != self.labels)

    def most_confident_mistakes(self, k: int = 16) -> np.ndarray:
        """Indices of the ``k`` misclassified images the network was surest about, surest first."""
        wrong = self.mistakes()
        order = np.argsort(-self.confidence[wrong], kind="stable")
        return wrong[order[:k]]

    def cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Indices of the images in confusion-matrix cell (true, predicted), most confident first."""
        idx = np.flatnonzero((self.labels == true_class) & (self.predictions == predicted_class))
        return idx[np.argsort(-self.confidence[idx], kind="stable")]


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """``(K, K)`` int64 counts, rows = true class, columns = predicted class."""
    flat = np.asarray(labels, np.int64) * num_classes + np.asarray(predictions, np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


@torch.no_grad()
def compute_test_report(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                        batch_size: int = 1000) -> TestReport:
    """Run ``model`` over a labelled set (read only; the model must already be in eval mode).

    Args:
        images: ``(N, C, H, W)`` float32 normalised (e.g. :func:`nnviz.data.load_tensors`).
        labels: ``(N,)`` int64.
    """
    device = next(model.parameters()).device
    probs = []
    for start in range(0, len(images), batch_size):
        logits = model(images[start:start + batch_size].to(device))
        probs.append(torch.softmax(logits, 1).cpu())
    p = torch.cat(probs).numpy().astype(np.float32)
    y = labels.cpu().numpy().astype(np.int64)
    pred = p.argmax(1).astype(np.int64)
    return TestReport(y, pred, p, confusion_matrix(y, pred, p.shape[1]))
