"""The runs of one session: what each was, how it went, and its curves, for listing and comparing.

A :class:`RunRecord` is a frozen summary made from a worker's final metrics; it can keep the
trained model (small: a few MB) so the run can still be saved after newer runs were made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from nnviz import data
from nnviz.training import EpochEnd, TrainConfig

OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}


def describe_architecture(architecture: dict) -> str:
    """Short name of a network: ``CNN 16→32 ch`` or ``MLP 512-256 relu``."""
    if architecture.get("kind") == "cnn":
        c1, c2 = architecture.get("channels", (32, 64))
        return f"CNN {c1}→{c2} ch"
    hidden = "-".join(str(w) for w in architecture.get("hidden", ())) or "no hidden layer"
    return f"MLP {hidden} {architecture.get('activation', 'relu')}"


def describe_run(architecture: dict, dataset: str, config: TrainConfig | dict) -> str:
    """One line naming a run: network, optimiser, learning rate, batch size, data."""
    c = config.to_dict() if isinstance(config, TrainConfig) else dict(config)
    size = f", {c['train_size']:,} images" if c.get("train_size") else ""
    return (f"{describe_architecture(architecture)} · {OPTIMIZER_NAMES.get(c['optimizer'], c['optimizer'])} "
            f"lr {c['learning_rate']:g} · batch {c['batch_size']} · {data.dataset_info(dataset).name}{size}")


@dataclass
class RunRecord:
    """A finished, stopped, diverged or failed run of this session.

    Attributes:
        number: 1, 2, … in the order the session started them.
        steps, smoothed: batch steps and the smoothed training loss (nats), for overlaying.
        steps_per_epoch: batches per epoch (x axis in epochs).
        epochs: the :class:`EpochEnd` of each completed epoch.
        model, card: the trained network (CPU) and its model card, or None (failed runs).
        saved_as: the name it was saved under, once saved.
    """

    number: int
    label: str
    dataset: str
    architecture: dict
    config: dict
    status: str
    message: str
    steps: tuple[int, ...]
    smoothed: tuple[float, ...]
    steps_per_epoch: int
    epochs: tuple[EpochEnd, ...]
    elapsed_s: float
    model: Any = field(default=None, repr=False)
    card: dict | None = field(default=None, repr=False)
    saved_as: str | None = None

    @property
    def test_accuracy(self) -> float | None:
        return self.epochs[-1].test_accuracy if self.epochs else None

    def row(self) -> dict:
        """One row of the session's run table."""
        acc = self.test_accuracy
        return {"run": f"#{self.number}", "network and recipe": self.label,
                "epochs": f"{len(self.epochs)} / {self.config['epochs']}",
                "test accuracy": f"{acc:.2%}" if acc is not None else "—",
                "time": f"{self.elapsed_s:.0f} s", "status": self.status,
                "saved as": self.saved_as or ""}


def train_set_size(dataset: str) -> int:
    """Images in ``dataset``'s training split (known without loading it for the built-in datasets)."""
    n = TRAIN_SIZES.get(dataset)
    return n if n is not None else len(data.load_tensors(dataset, train=True)[1])


def steps_per_epoch(dataset: str, config: TrainConfig) -> int:
    """Batches per epoch of ``config`` on ``dataset``'s training split."""
    n = train_set_size(dataset)
    if config.train_size:
        n = min(n, config.train_size)
    return max(1, math.ceil(n / config.batch_size))


TRAIN_SIZES = {"mnist": 60_000, "fashion-mnist": 60_000, "cifar10": 50_000, "cifar10-animals": 30_000}


def chance_hint(epochs: tuple[EpochEnd, ...] | list[EpochEnd], n_classes: int, learning_rate: float) -> str | None:
    """A plain-words hint when a run ended no better than guessing, else None.

    "Guessing" is a last test accuracy below 1.5 / ``n_classes`` (10 % is chance for 10 classes).
    A finite loss with chance accuracy usually means the updates were so large that the ReLU
    units died (they output 0 for every image, so no gradient flows), or so small that nothing
    was learned yet.
    """
    if not epochs or epochs[-1].test_accuracy >= 1.5 / n_classes:
        return None
    acc = epochs[-1].test_accuracy
    if learning_rate >= 0.1:
        return (f"The network is only guessing: {acc:.1%} right is what picking one of {n_classes} classes at "
                f"random gives. A learning rate of {learning_rate:g} is so large that the first updates threw "
                "the weights far off: many ReLU units now output 0 for every image and stop learning. "
                f"Try a learning rate 10 to 100 times smaller, e.g. {learning_rate / 30:.2g}.")
    return (f"The network is only guessing: {acc:.1%} right is about chance for {n_classes} classes. "
            "It has not learned yet: try more epochs or a larger learning rate.")
