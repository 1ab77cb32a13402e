"""What a training loop reports as it runs: a :class:`BatchEnd` after every batch, an
:class:`EpochEnd` after every epoch, and a :class:`TrainResult` when it ends. The PyTorch loop
(:func:`nnviz.training.fit`) and the NumPy one (:func:`nnviz.numpy_mlp.fit`) report the same
events, so the live worker, its metrics and the charts serve both."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BatchEnd:
    """After one optimisation step. ``loss`` is the batch's mean cross-entropy (nats)."""

    epoch: int  # 1-based
    step: int  # 1-based, counted over the whole run
    total_steps: int
    loss: float
    learning_rate: float
    samples_seen: int
    samples_per_s: float
    elapsed_s: float


@dataclass
class EpochEnd:
    """After one epoch: mean training loss/accuracy over the epoch and the test-set figures."""

    epoch: int
    train_loss: float
    train_accuracy: float  # fraction in [0, 1]
    test_loss: float
    test_accuracy: float
    elapsed_s: float


@dataclass
class TrainResult:
    """What a finished (or stopped) run leaves: the epochs done and the last metrics."""

    epochs: list[EpochEnd] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped_early: bool = False
