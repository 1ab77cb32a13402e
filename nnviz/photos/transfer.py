"""Transfer learning: a classifier of your own on top of a frozen ImageNet network.

The recipe of the dog-breed and camera-trap projects: run every labelled photo
(:mod:`nnviz.photos.labelled`) once through the pretrained EfficientNet-Lite0 without its last
layer and keep its 1280 pooled features (:mod:`nnviz.photos.features`), then train only a new
linear layer — the *head* — from those features to your classes. Training the head takes seconds
on a CPU because the expensive part, the backbone, never changes.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnviz.evaluation import confusion_matrix
from nnviz.models import build_model
from nnviz.photos import backbone
from nnviz.photos.features import BACKBONE
from nnviz.photos.labelled import LabelledPhotos, Split
from nnviz.events import EpochEnd
from nnviz.training import TrainConfig, run_fit

# The head's recipe: AdamW with a one-cycle schedule over 30 epochs and a little weight decay.
# On 1280 features a linear layer converges in well under a second per epoch on a CPU.
HEAD_CONFIG = TrainConfig(epochs=30, batch_size=64, learning_rate=3e-3, optimizer="adam", schedule="onecycle",
                          weight_decay=1e-3)


def head_architecture(num_classes: int) -> dict:
    """The head as an architecture dict for :func:`nnviz.models.build_model`: one linear layer
    from the 1280 features to ``num_classes`` logits (an MLP without hidden layers)."""
    return {"kind": "mlp", "hidden": [], "activation": "relu", "in_features": backbone.FEATURE_DIM,
            "num_classes": int(num_classes), "dropout": 0.0}


def make_head(num_classes: int, seed: int = 0) -> nn.Module:
    """A new, randomly initialised head (PyTorch's default init, seeded)."""
    torch.manual_seed(seed)
    return build_model(head_architecture(num_classes))


@dataclass
class HeadMetrics:
    """A head's figures on a set of photos: ``accuracy`` in [0, 1], ``log_loss`` (mean negative log
    probability of the true class, nats, probabilities clipped to [1e-15, 1] as scikit-learn's
    ``log_loss`` and the competition do), ``confusion`` ``(K, K)`` int64 (rows: true class,
    columns: predicted), ``n`` photos."""

    accuracy: float
    log_loss: float
    confusion: np.ndarray
    n: int


@torch.no_grad()
def head_probabilities(head: nn.Module, features: np.ndarray | torch.Tensor) -> np.ndarray:
    """Softmax of the head: ``(N, 1280)`` features → ``(N, K)`` float64, rows summing to 1."""
    head.eval()
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    device = next(head.parameters()).device
    return torch.softmax(head(x.to(device)).double(), dim=1).cpu().numpy()


def evaluate_head(head: nn.Module, features: np.ndarray, labels: np.ndarray) -> HeadMetrics:
    """Accuracy, log loss and confusion matrix of ``head`` on ``(N, 1280)`` features and ``(N,)`` labels."""
    probs = head_probabilities(head, features)
    labels = np.asarray(labels, dtype=np.int64)
    pred = probs.argmax(1)
    confusion = confusion_matrix(labels, pred, probs.shape[1])
    p_true = np.clip(probs[np.arange(len(labels)), labels], 1e-15, 1.0)
    n = len(labels)
    return HeadMetrics(float((pred == labels).mean()) if n else math.nan,
                       float(-np.log(p_true).mean()) if n else math.nan, confusion, n)


class HeadJob:
    """Training a head on extracted features, as a job for :class:`nnviz.jobs.worker.TrainingWorker`
    (``job(on_event, should_stop)``) or run directly with :meth:`run`.

    Args:
        features: ``(N, 1280)`` float32 of the usable photos.
        photos: their labels, classes, ids and sites (same order as ``features``).
        split: which rows train and which are held out (:func:`nnviz.photos.labelled.split_photos`).
        config: the training recipe (default :data:`HEAD_CONFIG`); ``augment`` must be off.

    After the run ``model`` is the trained head (eval mode), ``card`` its model card and
    ``metrics`` its :class:`HeadMetrics` on the held-out photos.
    """

    def __init__(self, features: np.ndarray, photos: LabelledPhotos, split: Split, config: TrainConfig | None = None):
        self.config = config or HEAD_CONFIG
        if self.config.augment:
            raise ValueError("augmentation works on images; a head trains on features, so turn it off")
        x = torch.as_tensor(np.asarray(features, dtype=np.float32))
        y = torch.as_tensor(photos.labels, dtype=torch.int64)
        self.train = (x[split.train], y[split.train])
        self.test = (x[split.test], y[split.test])
        self.photos, self.split = photos, split
        self.model = make_head(len(photos.classes), self.config.seed)
        self.card: dict | None = None
        self.metrics: HeadMetrics | None = None
        self.epochs: list[EpochEnd] = []

    @property
    def steps_per_epoch(self) -> int:
        """Batches per epoch on the training photos."""
        return self.config.steps_per_epoch(len(self.split.train))

    def __call__(self, on_event, should_stop):
        """Train the head with :func:`nnviz.training.run_fit` on the features; returns ``(head, card)``."""
        result = run_fit(self.model, self.config, self.train, self.test, "cpu", on_event=on_event,
                         should_stop=should_stop)
        self.epochs = result.epochs
        return self.finish(result.elapsed_s)

    def run(self) -> tuple[nn.Module, dict]:
        """Train to the end without a worker; returns ``(head, card)``."""
        return self(lambda e: None, lambda: False)

    def finish(self, seconds: float) -> tuple[nn.Module, dict]:
        self.model.eval()
        self.metrics = evaluate_head(self.model, *(t.numpy() for t in self.test))
        self.card = head_card(self.photos, self.split, self.config, self.metrics, self.epochs, seconds)
        return self.model, self.card


def head_card(photos: LabelledPhotos, split: Split, config: TrainConfig, metrics: HeadMetrics,
              epochs: list[EpochEnd], seconds: float) -> dict:
    """The model card of a trained head (saved with :func:`nnviz.checkpoints.save_checkpoint`)."""
    counts = np.bincount(photos.labels, minlength=len(photos.classes))
    return {
        "task": "transfer-head",
        "dataset": "photos",
        "architecture": head_architecture(len(photos.classes)),
        "backbone": {"name": BACKBONE, "timm_model": "tf_efficientnet_lite0",
                     "weights": backbone.WEIGHTS_PACKAGE, "features": backbone.FEATURE_DIM, "frozen": True},
        "preprocessing": backbone.preprocessing_card(),
        "classes": list(photos.classes),
        "photos_per_class": {c: int(k) for c, k in zip(photos.classes, counts)},
        "split": {"description": split.description, "n_train": int(len(split.train)), "n_test": int(len(split.test))},
        "hyperparameters": config.to_dict(),
        "metrics": {"test_accuracy": metrics.accuracy, "test_log_loss": metrics.log_loss,
                    "confusion": metrics.confusion.tolist(), "epochs_completed": len(epochs)},
        "history": [vars(e) for e in epochs],
        "training_time_s": round(seconds, 2),
        "torch_version": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def head_network(backbone_model: nn.Module, head: nn.Module) -> nn.Sequential:
    """The frozen backbone with ``head`` in place of its ImageNet classifier, as one
    ``nn.Sequential`` over the same modules (no copy): photo ``(N, 3, 224, 224)`` → your classes'
    logits ``(N, K)``."""
    from collections import OrderedDict

    layers = [(n, m) for n, m in backbone.as_sequential(backbone_model).named_children() if n != "classifier"]
    return nn.Sequential(OrderedDict(layers + [("head", head)])).eval()


@torch.no_grad()
def head_answer(backbone_model: nn.Module, head: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Your classes' probabilities ``(K,)`` float64 for one photo ``(3, 224, 224)`` in [-1, 1]."""
    head.eval()
    logits = head_network(backbone_model, head)(x[None])
    return torch.softmax(logits.double(), dim=1)[0].numpy()


def head_grad_cam(backbone_model: nn.Module, head: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """Where the backbone + your head look for class ``target``: Grad-CAM on the backbone's last
    feature maps (:data:`nnviz.photos.classify.GRAD_CAM_LAYER`), ``(224, 224)`` float32 in [0, 1]."""
    from nnviz.photos.classify import normalised_grad_cam

    return normalised_grad_cam(head_network(backbone_model, head), x, target)


def load_head(name_or_path: str | Path) -> tuple[nn.Module, dict]:
    """A saved head and its card (see :func:`nnviz.checkpoints.load_checkpoint`).

    Raises:
        nnviz.checkpoints.CheckpointError: missing, damaged, or not a transfer head.
    """
    from nnviz.checkpoints import CheckpointError, load_checkpoint

    model, card = load_checkpoint(name_or_path)
    if card.get("task") != "transfer-head":
        raise CheckpointError(f"{card.get('name', name_or_path)} is not a head trained on photos "
                              f"(its task is {card.get('task')!r})")
    return model, card
