"""The training loop, shaped like pytorch/examples mnist/main.py, observable and stoppable.

:func:`fit` is a generator: it trains ``model`` in place and yields a :class:`BatchEnd` after
every batch and an :class:`EpochEnd` after every epoch. A caller watches progress by iterating,
and stops the run by simply not asking for more (or ``close()``): the model keeps the weights
it has so far. The command line and the app's live-training worker both run this code.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("onecycle", "constant")
MIN_ONECYCLE_STEPS = 8


@dataclass
class TrainConfig:
    """A training recipe. Defaults are the quick CNN-on-MNIST recipe.

    Attributes:
        epochs: passes over the training set.
        batch_size: images per optimisation step.
        learning_rate: peak learning rate (the one-cycle schedule's maximum; Smith & Topin 2017).
        optimizer: ``"sgd"``, ``"momentum"`` (SGD, momentum 0.9, Nesterov) or ``"adam"``.
        schedule: ``"onecycle"`` (warm up, then anneal to ~0) or ``"constant"``.
        weight_decay: L2 penalty (decoupled for Adam, i.e. AdamW).
        augment: random small rotations, shifts and scalings of the training digits.
        train_size: use only the first ``train_size`` images of a seeded shuffle (None: all).
        seed: seeds the weights' initialisation, the shuffling and the augmentation.
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or None for the best one present.
        num_threads: CPU threads for torch (None: one per core, which is fastest for these sizes).
    """

    epochs: int = 2
    batch_size: int = 128
    learning_rate: float = 3e-3
    optimizer: str = "adam"
    schedule: str = "onecycle"
    weight_decay: float = 0.0
    augment: bool = False
    train_size: int | None = None
    seed: int = 0
    device: str | None = None
    num_threads: int | None = None

    def validate(self) -> None:
        """Raises ValueError naming the first setting that is out of range."""
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning rate must be a positive number, got {self.learning_rate}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {SCHEDULES}")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(f"training-set size must be at least 1, got {self.train_size}")

    def to_dict(self) -> dict:
        return asdict(self)


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


class Diverged(RuntimeError):
    """The loss became NaN or infinite; the message says why in plain words and suggests a fix."""


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch's global generators (weights' initialisation) and return a CPU generator
    for shuffling and augmentation, so a run with the same seed repeats exactly on the CPU."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer`` over ``model``'s parameters."""
    params, lr, wd = model.parameters(), config.learning_rate, config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if config.optimizer == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, weight_decay=wd)


def make_scheduler(optimizer, config: TrainConfig, total_steps: int):
    """One-cycle schedule stepped per batch (Smith & Topin 2017), or None for a constant rate.

    A run of fewer than ``MIN_ONECYCLE_STEPS`` batches keeps a constant rate: OneCycleLR needs at
    least one step in each of its phases and divides by zero otherwise (e.g. 500 images, batch 128).
    """
    if config.schedule == "constant" or total_steps < MIN_ONECYCLE_STEPS:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=total_steps, pct_start=0.25,
        cycle_momentum=config.optimizer != "sgd")


def augment_batch(images: torch.Tensor, generator: torch.Generator, background: float) -> torch.Tensor:
    """Random affine jitter per image: rotation ±10°, scale 0.9–1.1, shift ±2 px (of 28).

    ``images`` ``(N, C, H, W)`` float32 (normalised); ``background`` is the normalised value of a
    blank pixel, used to fill the borders. Per-image parameters in one ``affine_grid`` call: a
    per-image torchvision transform would cost a Python call per digit.
    """
    n = images.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(10)
    scale = 1 + (torch.rand(n, generator=generator) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 / (images.shape[-1] / 2))
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(images.device, images.dtype), list(images.shape), align_corners=False)
    out = F.grid_sample(images - background, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out + background


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000,
             device: torch.device | str | None = None,
             should_stop: Callable[[], bool] | None = None) -> tuple[float, float]:
    """Accuracy (fraction in [0, 1]) and mean cross-entropy loss (nats) of ``model`` on a set.

    ``images`` ``(N, C, H, W)`` float32 normalised; ``labels`` ``(N,)`` int64. The model is put in
    eval mode and left there. ``should_stop`` is asked between chunks of ``batch_size`` images;
    when it returns True the figures cover only the images seen so far (a stopped run's caller
    discards them), so that a Stop during evaluation takes effect within a chunk (~0.1 s on a CPU).
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    correct, loss_sum = 0, 0.0
    n = 0
    for start in range(0, len(images), batch_size):
        if should_stop is not None and should_stop():
            break
        x = images[start:start + batch_size].to(device)
        y = labels[start:start + batch_size].to(device)
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        n += len(y)
    n = max(n, 1)
    return correct / n, loss_sum / n


def fit(model: nn.Module, config: TrainConfig, train: tuple[torch.Tensor, torch.Tensor],
        test: tuple[torch.Tensor, torch.Tensor], device: torch.device | str = "cpu",
        background: float = 0.0, should_stop: Callable[[], bool] | None = None) -> Iterator[BatchEnd | EpochEnd]:
    """Train ``model`` in place, yielding a :class:`BatchEnd` per batch and an :class:`EpochEnd`
    per epoch. Closing the generator stops the run after the current batch.

    Args:
        train, test: ``(images (N, C, H, W) float32 normalised, labels (N,) int64)``.
        device: where to compute; the model is moved there.
        background: normalised value of a blank pixel (for augmentation's borders).
        should_stop: optional; asked during the test-set evaluation at the end of each epoch. When
            it returns True the generator ends without that epoch's :class:`EpochEnd`, so a Stop
            does not wait for a whole evaluation pass.

    Raises:
        ValueError: invalid config (see :meth:`TrainConfig.validate`).
        Diverged: the loss became NaN or infinite.
    """
    config.validate()
    device = torch.device(device)
    if device.type == "cpu":
        torch.set_num_threads(config.num_threads or os.cpu_count() or 1)
    generator = torch.Generator().manual_seed(config.seed)
    x_train, y_train = train
    if config.train_size is not None and config.train_size < len(x_train):
        keep = torch.randperm(len(x_train), generator=generator)[:config.train_size]
        x_train, y_train = x_train[keep], y_train[keep]
    n = len(x_train)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    model.to(device)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, total_steps)
    start, step, seen = time.perf_counter(), 0, 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        loss_sum, correct, count = 0.0, 0, 0
        for first in range(0, n, config.batch_size):
            idx = order[first:first + config.batch_size]
            x, y = x_train[idx], y_train[idx]
            if config.augment:
                x = augment_batch(x, generator, background)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise Diverged(divergence_message(loss_value, config, epoch, step + 1))
            loss.backward()
            optimizer.step()
            lr = optimizer.param_groups[0]["lr"]
            if scheduler is not None:
                scheduler.step()
            step += 1
            seen += len(idx)
            loss_sum += loss_value * len(idx)
            correct += (logits.detach().argmax(1) == y).sum().item()
            count += len(idx)
            elapsed = time.perf_counter() - start
            yield BatchEnd(epoch, step, total_steps, loss_value, lr, seen, seen / max(elapsed, 1e-9), elapsed)
        # Smaller chunks when a caller may stop the run, so a Stop waits at most one short chunk.
        test_accuracy, test_loss = evaluate(model, *test, device=device, should_stop=should_stop,
                                            batch_size=1000 if should_stop is None else 250)
        if should_stop is not None and should_stop():
            return
        yield EpochEnd(epoch, loss_sum / count, correct / count, test_loss, test_accuracy,
                       time.perf_counter() - start)


def divergence_message(loss: float, config: TrainConfig, epoch: int, step: int) -> str:
    """A plain-words explanation of a NaN/infinite loss, with a suggested fix."""
    lower = config.learning_rate / 10
    return (f"Training stopped: the loss became {'NaN' if math.isnan(loss) else 'infinite'} at step {step} "
            f"(epoch {epoch}). The weights grew out of control, which almost always means the learning "
            f"rate ({config.learning_rate:g}) is too high for this model and optimizer. "
            f"Try a smaller learning rate, e.g. {lower:g}.")
