"""Classifying digits with a trained checkpoint: preprocessing + forward pass + softmax."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nnviz.checkpoints import DIGIT_DATASETS, load_checkpoint
from nnviz.data import dataset_info
from nnviz.images import open_image
from nnviz.preprocess import DigitInput, mnist_style


@dataclass
class Prediction:
    """One answer: ``label`` (the class name), ``index`` (0–9), ``probabilities`` ``(10,)`` float32
    summing to 1 (softmax of ``logits``), and the ``digit`` the network actually received."""

    label: str
    index: int
    probabilities: np.ndarray
    logits: np.ndarray
    digit: DigitInput

    @property
    def confidence(self) -> float:
        """Probability of the predicted class, in [0, 1]."""
        return float(self.probabilities[self.index])


class DigitClassifier:
    """A trained digit network with its card; thread-safe for prediction (no state is changed).

    Args:
        name: a checkpoint name (``"digits-cnn"``) or card path.
        device: where to run the network; the CPU is fastest for single images of this size.

    Raises:
        nnviz.checkpoints.CheckpointError: see :func:`nnviz.checkpoints.load_checkpoint`; also a
            checkpoint not trained on 28×28 grey images (:data:`~nnviz.checkpoints.DIGIT_DATASETS`),
            e.g. a photo head.
    """

    def __init__(self, name: str, device: str = "cpu"):
        self.model, self.card = load_checkpoint(name, device, datasets=DIGIT_DATASETS)
        self.device = torch.device(device)
        mnist = dataset_info("mnist")
        norm = self.card.get("normalization", {"mean": mnist.mean, "std": mnist.std})
        self.mean, self.std = float(norm["mean"][0]), float(norm["std"][0])
        self.classes = [str(c) for c in self.card.get("classes", range(10))]

    @torch.no_grad()
    def predict_digit(self, digit: DigitInput) -> Prediction:
        """Classify an already preprocessed digit."""
        logits = self.model(digit.tensor(self.mean, self.std).to(self.device))[0]
        probs = torch.softmax(logits, 0)
        index = int(probs.argmax())
        return Prediction(self.classes[index], index, probs.cpu().numpy(), logits.cpu().numpy(), digit)

    def predict_image(self, image: np.ndarray | Image.Image) -> Prediction:
        """Preprocess (see :func:`nnviz.preprocess.mnist_style`) and classify a drawing or photo.

        Raises:
            nnviz.preprocess.BlankDrawing: nothing drawn.
        """
        return self.predict_digit(mnist_style(image))

    def predict_file(self, path: str | Path) -> Prediction:
        """Read an image file and classify it.

        Raises:
            nnviz.images.ImageReadError: not a readable image.
            nnviz.preprocess.BlankDrawing: the image holds no digit.
        """
        return self.predict_image(open_image(path))
