"""Training, shaped like pytorch/examples mnist/main.py: the recipe, the loop, a whole run, its card.

* :class:`TrainConfig` — a recipe (epochs, batch size, learning rate, optimizer, schedule …);
  :data:`SHIPPED_RECIPES` and :data:`QUICK_CONFIG` are the recipes this project uses.
* :func:`fit` — the loop (zero_grad, forward, loss, backward, step), as a generator: it trains
  ``model`` in place and yields a :class:`BatchEnd` after every batch and an :class:`EpochEnd`
  after every epoch, with :func:`evaluate` on the test set. It is the one place that asks
  ``should_stop``; a caller can also stop it by not asking for more (or ``close()``). Either way
  the model keeps the weights it has so far.
* :func:`run_fit` — :func:`fit` to its end, events passed on, a :class:`TrainResult` back.
* :func:`train_model` — a whole run on a dataset's official splits, and :func:`make_card`, its
  model card. The command line and the app's live-training jobs both run this code.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nnviz import data
from nnviz.augment import augment_batch, handwriting_batch
from nnviz.divergence import (BLOWUP_BATCHES, BLOWUP_FACTOR, DEAD_FRACTION, Diverged, check_run_settings,
                              divergence_message, stuck_message)
from nnviz.events import BatchEnd, EpochEnd, TrainResult
from nnviz.models import bf16_supported, build_model, count_parameters, pick_device
from nnviz.names import OPTIMIZERS, SCHEDULES

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
        handwriting: with ``augment``, the share (0–1) of each batch drawn the ways people write
            on a canvas instead (:func:`nnviz.augment.handwriting_batch`: slashed zeros, pen width,
            slant, elastic wobble). MNIST only: it uses the digit labels.
        train_size: use only the first ``train_size`` images of a seeded shuffle (None: all).
        seed: seeds the weights' initialisation, the shuffling and the augmentation.
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or None for the best one present.
        num_threads: CPU threads for torch (None: one per core, which is fastest for these sizes).
        channels_last: keep images and convolution weights in channels-last (NHWC) memory
            format, which PyTorch's CPU convolutions run 1.3–1.5× faster here (no effect on an MLP).
        mixed_precision: compute the forward pass in bfloat16 where the device does so natively
            (:func:`bf16_supported`: recent NVIDIA GPUs, CPUs with AVX-512 BF16 or AMX), about
            1.4× faster here; elsewhere it is ignored. Weights, gradients and evaluation stay float32.
    """

    epochs: int = 2
    batch_size: int = 128
    learning_rate: float = 3e-3
    optimizer: str = "adam"
    schedule: str = "onecycle"
    weight_decay: float = 0.0
    augment: bool = False
    handwriting: float = 0.0
    train_size: int | None = None
    seed: int = 0
    device: str | None = None
    num_threads: int | None = None
    channels_last: bool = False
    mixed_precision: bool = False

    def validate(self) -> None:
        """Raises ValueError naming the first setting that is out of range."""
        check_run_settings(self.epochs, self.batch_size, self.learning_rate, self.train_size)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {tuple(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {tuple(SCHEDULES)}")
        if not 0.0 <= self.handwriting <= 1.0:
            raise ValueError(f"handwriting is a share of each batch, from 0 to 1, not {self.handwriting}")

    def to_dict(self) -> dict:
        return asdict(self)

    def steps_per_epoch(self, n_images: int) -> int:
        """Batches per epoch on a training set of ``n_images`` (after ``train_size`` is applied)."""
        n = min(n_images, self.train_size) if self.train_size else n_images
        return max(1, math.ceil(n / self.batch_size))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer`` (:data:`nnviz.names.OPTIMIZERS`: SGD, SGD with
    Nesterov momentum 0.9, or AdamW) over ``model``'s parameters.

    Raises:
        ValueError: an optimizer name that is not in the registry.
    """
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; choose one of {tuple(OPTIMIZERS)}")
    spec = OPTIMIZERS[config.optimizer]
    return getattr(torch.optim, spec.torch_class)(model.parameters(), lr=config.learning_rate, **dict(spec.options),
                                                 weight_decay=config.weight_decay)


def make_scheduler(optimizer, config: TrainConfig, total_steps: int):
    """One-cycle schedule stepped per batch (Smith & Topin 2017), or None for a constant rate.

    A run of fewer than ``MIN_ONECYCLE_STEPS`` batches keeps a constant rate: OneCycleLR needs at
    least one step in each of its phases and divides by zero otherwise (e.g. 500 images, batch 128).
    """
    if config.schedule == "constant" or total_steps < MIN_ONECYCLE_STEPS:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=total_steps, pct_start=0.25,
        cycle_momentum=OPTIMIZERS[config.optimizer].cycles_momentum)


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
        should_stop: optional; asked after every batch and between the chunks of each epoch's
            test-set evaluation. When it returns True the generator ends (without the current
            epoch's :class:`EpochEnd` if it came during evaluation), so a Stop never waits for a
            whole epoch or evaluation pass.

    Raises:
        ValueError: invalid config (see :meth:`TrainConfig.validate`).
        Diverged: the loss became NaN or infinite or blew up (see :mod:`nnviz.divergence`), or
            after an epoch at chance most ReLU units are dead.
    """
    config.validate()
    stop = should_stop or (lambda: False)
    device = torch.device(device)
    if device.type == "cpu":
        torch.set_num_threads(config.num_threads or os.cpu_count() or 1)
    generator = torch.Generator().manual_seed(config.seed)
    x_train, y_train = train
    if config.train_size is not None and config.train_size < len(x_train):
        keep = torch.randperm(len(x_train), generator=generator)[:config.train_size]
        x_train, y_train = x_train[keep], y_train[keep]
    n = len(x_train)
    total_steps = config.steps_per_epoch(n) * config.epochs
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(device, memory_format=memory_format)
    bf16 = config.mixed_precision and bf16_supported(device)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, total_steps)
    start, step, seen, blown = time.perf_counter(), 0, 0, 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        loss_sum, correct, count = 0.0, 0, 0
        for first in range(0, n, config.batch_size):
            idx = order[first:first + config.batch_size]
            x, y = x_train[idx], y_train[idx]
            if config.augment and config.handwriting:
                x = handwriting_batch(x, y, generator, background, share=config.handwriting)
            elif config.augment:
                x = augment_batch(x, generator, background)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if x.dim() == 4:
                x = x.contiguous(memory_format=memory_format)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(x)
                loss = F.cross_entropy(logits, y)  # autocast computes it in float32
            loss_value = loss.item()
            blown = blown + 1 if loss_value > BLOWUP_FACTOR * math.log(logits.shape[1]) else 0
            if not math.isfinite(loss_value) or blown >= BLOWUP_BATCHES:
                raise Diverged(divergence_message(loss_value, config, epoch, step + 1, logits.shape[1]))
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
            if stop():
                return
        # Smaller chunks when a caller may stop the run, so a Stop waits at most one short chunk.
        test_accuracy, test_loss = evaluate(model, *test, device=device, should_stop=stop,
                                            batch_size=1000 if should_stop is None else 250)
        if stop():
            return
        yield EpochEnd(epoch, loss_sum / count, correct / count, test_loss, test_accuracy,
                       time.perf_counter() - start)
        n_classes = logits.shape[1]
        if test_accuracy < 1.5 / n_classes:
            dead = dead_relu_fraction(model, test[0][:500])
            if dead >= DEAD_FRACTION:
                raise Diverged(stuck_message(dead, test_accuracy, n_classes, config))


@torch.no_grad()
def dead_relu_fraction(model: nn.Module, images: torch.Tensor) -> float:
    """Fraction in [0, 1] of the ReLU units of ``model`` that output 0 for every one of ``images``
    (``(N, C, H, W)`` float32 normalised); 0.0 for a network without ReLUs. A unit of a feature
    map counts once per position. The model is put in eval mode (its caller restores the mode)."""
    dead, total, hooks = [0], [0], []

    def count(_module, _inputs, output):
        alive = (output > 0).flatten(2).any(0) if output.dim() > 2 else (output > 0).any(0)
        dead[0] += int((~alive).sum())
        total[0] += alive.numel()

    for module in model.modules():
        if isinstance(module, nn.ReLU):
            hooks.append(module.register_forward_hook(count))
    try:
        model.eval()
        model(images.to(next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
    return dead[0] / total[0] if total[0] else 0.0


def run_fit(model: nn.Module, config: TrainConfig, train: tuple[torch.Tensor, torch.Tensor],
            test: tuple[torch.Tensor, torch.Tensor], device: torch.device | str = "cpu", background: float = 0.0,
            on_event: Callable[[BatchEnd | EpochEnd], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """:func:`fit` to its end (or until ``should_stop``), passing each event to ``on_event``.

    Returns the :class:`TrainResult`: the epochs completed, the seconds spent, and whether the run
    ended before ``config.epochs`` epochs (a stop). Raises what :func:`fit` raises.
    """
    return follow(fit(model, config, train, test, device, background, should_stop), config.epochs, on_event)


def follow(events: Iterator[BatchEnd | EpochEnd], epochs: int,
           on_event: Callable[[BatchEnd | EpochEnd], None] | None = None) -> TrainResult:
    """Iterate a training loop's ``events`` (:func:`fit`, or :func:`nnviz.numpy_mlp.fit`) to their
    end, passing each to ``on_event``; a run of fewer than ``epochs`` epochs stopped early."""
    result, start = TrainResult(), time.perf_counter()
    try:
        for event in events:
            if isinstance(event, EpochEnd):
                result.epochs.append(event)
            if on_event is not None:
                on_event(event)
    finally:
        result.elapsed_s = time.perf_counter() - start
        result.stopped_early = len(result.epochs) < epochs
    return result


# The recipes of the shipped checkpoints in trained/. Chosen for the 2-core CPU: the CNN is the
# LeNet shape with 32/64 channels, the MLP two hidden layers; both use AdamW with a one-cycle
# schedule (Smith & Topin 2017) and small random affine jitter. Both also draw half of each batch
# the ways people write on a canvas (nnviz.augment.handwriting_batch), chosen on held-out MNIST
# digits redrawn with a pen (benchmarks/select_handwriting_recipe.py; for the MLP, the same
# comparison of the two recipes on MNIST-train 0-54,999: held-out 99.08 -> 99.18 %, slashed zeros
# 92.6 -> 98.4 %, pen-redrawn held-out digits unchanged at 98.0-98.1 %).
SHIPPED_RECIPES = {
    "digits-cnn": ({"kind": "cnn", "channels": [32, 64], "hidden": 128, "kernel_size": 5, "in_channels": 1,
                    "image_size": 28, "num_classes": 10, "dropout": 0.25},
                   TrainConfig(epochs=12, batch_size=128, learning_rate=3e-3, weight_decay=1e-4, augment=True,
                               handwriting=0.5)),
    "digits-mlp": ({"kind": "mlp", "hidden": [512, 256], "activation": "relu", "in_features": 784,
                    "num_classes": 10, "dropout": 0.2},
                   TrainConfig(epochs=15, batch_size=128, learning_rate=2e-3, weight_decay=1e-4, augment=True,
                               handwriting=0.5)),
}

# The quick recipe of the Train page (and ``python -m nnviz train --model cnn --recipe quick``): a
# small LeNet-shaped CNN (8 and 16 channels) with batch normalisation after max-pooling, AdamW with a
# one-cycle schedule over one epoch of batches of 64, no augmentation or regularisation (one epoch
# is too few to overfit), images and kernels in channels-last memory and bfloat16 where the hardware
# has it. Chosen on 5,000 training images held out from training (never the test set), mean of
# three seeds and one epoch each, on this 2-core CPU: 16/32 channels, norm before pooling 98.84 %
# in 10 s; 16/32 pooled first 98.85 % in 8.2 s; 8/16 norm first 98.75 % in 7.3 s; 8/16 pooled
# first 98.76 % in 4.8 s (this one); 8/24 pooled first 98.82 % in 5.9 s (benchmarks/
# select_quick_recipe.py). Its time against the
# stock pytorch/examples recipe, and its test accuracy: benchmarks/bench_speed.py.
QUICK_CNN = {"kind": "cnn", "channels": [8, 16], "hidden": 128, "kernel_size": 5, "in_channels": 1,
             "image_size": 28, "num_classes": 10, "dropout": 0.0, "batch_norm": True, "pool_before_norm": True}
QUICK_CONFIG = TrainConfig(epochs=1, batch_size=64, learning_rate=1e-2, optimizer="adam", schedule="onecycle",
                           weight_decay=0.0, augment=False, channels_last=True, mixed_precision=True)


def new_model(architecture: dict, seed: int) -> nn.Module:
    """An untrained network (:func:`nnviz.models.build_model`) whose initial weights are fixed by
    ``seed``: the same seed gives the same weights."""
    torch.manual_seed(seed)
    return build_model(architecture)


def train_model(model: nn.Module, architecture: dict, dataset: str, config: TrainConfig,
                on_event: Callable[[BatchEnd | EpochEnd], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> dict:
    """Train ``model`` (built from ``architecture``, e.g. by :func:`new_model`) on ``dataset``'s
    official training split and evaluate it on its test split: :func:`run_fit` on the data.

    ``on_event`` sees every :class:`BatchEnd` and :class:`EpochEnd`; ``should_stop`` ends the run
    early (see :func:`fit`; the model keeps what it learned). The model is left on the training
    device, in eval mode. Returns its model card (:func:`make_card`).

    Raises:
        nnviz.data.DatasetUnavailable, ValueError, Diverged. ValueError also for
        ``config.handwriting`` on a dataset other than MNIST (its conventions are digits').
    """
    if config.handwriting and dataset != "mnist":
        raise ValueError(f"the handwriting augmentation draws digits' conventions; it is for MNIST, not {dataset}")
    train = data.load_tensors(dataset, train=True)
    test = data.load_tensors(dataset, train=False)
    device = pick_device(config.device)
    info = data.dataset_info(dataset)
    background = (0.0 - info.mean[0]) / info.std[0]  # a blank (black) pixel, normalised
    result = run_fit(model, config, train, test, device, background, on_event, should_stop)
    n_train = min(len(train[0]), config.train_size or len(train[0]))
    return make_card(architecture, dataset, config, result, model.eval(), device, n_train, len(test[0]))


def make_card(architecture: dict, dataset: str, config: TrainConfig, result: TrainResult,
              model: nn.Module, device: torch.device, n_train: int, n_test: int) -> dict:
    """The model card of a run: architecture, hyperparameters, data, test figures and provenance."""
    info = data.dataset_info(dataset)
    last = result.epochs[-1] if result.epochs else None
    return {
        "task": "image-classification",
        "architecture": architecture,
        "parameters": count_parameters(model),
        "dataset": dataset,
        "classes": list(info.classes),
        "normalization": {"mean": list(info.mean), "std": list(info.std)},
        "split": {"train": f"official training set, {n_train} images", "test": f"official test set, {n_test} images",
                  "n_train": n_train, "n_test": n_test},
        "hyperparameters": config.to_dict(),
        "metrics": {"test_accuracy": last.test_accuracy if last else None,
                    "test_loss": last.test_loss if last else None,
                    "train_accuracy": last.train_accuracy if last else None,
                    "epochs_completed": len(result.epochs), "stopped_early": result.stopped_early},
        "history": [vars(e) for e in result.epochs],
        "training_time_s": round(result.elapsed_s, 2),
        "device": str(device) if device.type != "cpu" else f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})",
        "torch_version": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
