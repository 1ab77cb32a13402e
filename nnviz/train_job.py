"""One live training run of an image classifier, as a job for :class:`nnviz.worker.TrainingWorker`.

:class:`TrainJob` runs :func:`nnviz.runs.train_model` — the same code as ``python -m nnviz train``
— keeps a handle on the model while it trains, and can show the model's current answers on a
few fixed test images (:meth:`TrainJob.preview`), so a student sees predictions change as the
network learns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from nnviz import data
from nnviz.runs import train_model
from nnviz.training import TrainConfig

# About a dozen test images to watch: one per class for 10 classes, two per class for 6.
PREVIEW_IMAGES = 12


def architecture_for(kind: str, dataset: str, *, hidden=(128,), activation: str = "relu", channels=(16, 32),
                     cnn_hidden: int = 128, kernel_size: int = 5, dropout: float = 0.0) -> dict:
    """An architecture dict (see :func:`nnviz.models.build_model`) sized for ``dataset``'s images.

    ``kind`` ``"mlp"`` uses ``hidden`` widths and ``activation``; ``"cnn"`` uses ``channels``,
    ``cnn_hidden`` and ``kernel_size``. Input size and class count come from the dataset
    (784 inputs for 1×28×28 MNIST, 3,072 for 3×32×32 CIFAR-10).

    Raises:
        ValueError: unknown kind or dataset.
    """
    if kind == "mlp":
        body = {"kind": "mlp", "hidden": [int(x) for x in hidden], "activation": activation, "dropout": dropout}
    elif kind == "cnn":
        body = {"kind": "cnn", "channels": [int(x) for x in channels], "hidden": int(cnn_hidden),
                "kernel_size": int(kernel_size), "dropout": dropout}
    else:
        raise ValueError(f"unknown model kind {kind!r}; choose 'mlp' or 'cnn'")
    return sized_for(body, dataset)


def sized_for(architecture: dict, dataset: str) -> dict:
    """A copy of ``architecture`` with its input and output layers sized for ``dataset``'s images
    and classes (``in_features`` for an MLP; ``in_channels`` and ``image_size`` for a CNN).

    Raises:
        ValueError: unknown dataset.
    """
    info = data.dataset_info(dataset)
    c, h, w = info.image_shape
    if architecture["kind"] == "mlp":
        return {**architecture, "in_features": c * h * w, "num_classes": len(info.classes)}
    return {**architecture, "in_channels": c, "image_size": h, "num_classes": len(info.classes)}


def preview_indices(labels: torch.Tensor, n_classes: int, total: int = PREVIEW_IMAGES) -> list[int]:
    """Indices of the first ``total // n_classes`` (at least 1) test images of each class, in class
    order: a fixed, balanced handful to watch (10 for the 10 MNIST digits, 12 for 6 animals)."""
    per_class = max(1, total // n_classes)
    picked = []
    for k in range(n_classes):
        picked += (labels == k).nonzero().flatten()[:per_class].tolist()
    return picked


@dataclass
class Preview:
    """The network's current answers on the preview images.

    Attributes:
        pixels: ``(K, H, W, 3)`` uint8 RGB of the images (grey digits repeated on 3 channels).
        labels: ``(K,)`` true class indices.
        predicted: ``(K,)`` predicted class indices (argmax of the logits).
        confidence: ``(K,)`` softmax probability of the predicted class, in [0, 1].
        classes: class names.
    """

    pixels: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    classes: tuple[str, ...]

    @property
    def correct(self) -> int:
        return int((self.predicted == self.labels).sum())


@dataclass
class TrainJob:
    """Train ``architecture`` on ``dataset`` with ``config``; a job for the training worker.

    Call it as ``job(on_event, should_stop)`` (the worker does). Afterwards ``model`` and ``card``
    hold the trained network (on the CPU, eval mode) and its model card; ``model`` is set as soon
    as training starts, so a stopped or diverged run still has it.
    """

    architecture: dict
    dataset: str
    config: TrainConfig
    model: nn.Module | None = None
    card: dict | None = None
    device: torch.device | None = None
    _preview_x: torch.Tensor | None = field(default=None, repr=False)
    _preview: Preview | None = field(default=None, repr=False)

    def __call__(self, on_event, should_stop):
        model, card = train_model(self.architecture, self.dataset, self.config, on_event=on_event,
                                  should_stop=should_stop, on_model=self._on_model)
        self.model, self.card = model.cpu(), card
        return model, card

    def _on_model(self, model: nn.Module, device: torch.device) -> None:
        self.model, self.device = model, device
        images, labels = data.load_tensors(self.dataset, train=False)
        info = data.dataset_info(self.dataset)
        idx = preview_indices(labels, len(info.classes))
        self._preview_x = images[idx]
        pixels = (data.raw_pixels(images[idx], self.dataset) * 255).round().to(torch.uint8)
        pixels = pixels.permute(0, 2, 3, 1).numpy()
        if pixels.shape[-1] == 1:
            pixels = np.repeat(pixels, 3, axis=-1)
        k = len(idx)
        self._preview = Preview(pixels, labels[idx].numpy(), np.zeros(k, dtype=np.int64), np.zeros(k), info.classes)

    @torch.no_grad()
    def preview(self) -> Preview | None:
        """The model's answers on the preview images right now (None before training starts).

        Called from the training thread between batches; the model's train/eval mode is restored.
        """
        model, x, base = self.model, self._preview_x, self._preview
        if model is None or x is None or base is None:
            return None
        was_training = model.training
        model.eval()
        try:
            device = next(model.parameters()).device
            probs = torch.softmax(model(x.to(device)).float(), 1).cpu()
        finally:
            model.train(was_training)
        confidence, predicted = probs.max(1)
        return Preview(base.pixels, base.labels, predicted.numpy(), confidence.numpy(), base.classes)
