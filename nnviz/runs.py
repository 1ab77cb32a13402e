"""A whole training run: data → model → :func:`nnviz.training.fit` → model card.

Used by ``python -m nnviz train`` and by the app's live-training worker, so both run the same code.
"""

from __future__ import annotations

import datetime as _dt
import platform
import time
from collections.abc import Callable

import torch
from torch import nn

from nnviz import data
from nnviz.models import build_model, count_parameters, pick_device
from nnviz.training import BatchEnd, EpochEnd, TrainConfig, TrainResult, fit

# The recipes of the shipped checkpoints in trained/. Chosen for the 2-core CPU: the CNN is the
# LeNet shape with 32/64 channels, the MLP two hidden layers; both use AdamW with a one-cycle
# schedule (Smith & Topin 2017) and small random affine jitter, which also makes them more robust
# to hand-drawn digits on the canvas.
SHIPPED_RECIPES = {
    "digits-cnn": ({"kind": "cnn", "channels": [32, 64], "hidden": 128, "kernel_size": 5, "in_channels": 1,
                    "image_size": 28, "num_classes": 10, "dropout": 0.25},
                   TrainConfig(epochs=8, batch_size=128, learning_rate=3e-3, weight_decay=1e-4, augment=True)),
    "digits-mlp": ({"kind": "mlp", "hidden": [512, 256], "activation": "relu", "in_features": 784,
                    "num_classes": 10, "dropout": 0.2},
                   TrainConfig(epochs=15, batch_size=128, learning_rate=2e-3, weight_decay=1e-4, augment=True)),
}

# The quick recipe of the Train page (and ``python -m nnviz train --model cnn --recipe quick``): a
# smaller LeNet-shaped CNN, AdamW with a one-cycle schedule over 2 epochs, no augmentation and no
# regularisation (two epochs are too few to overfit). It reaches 99.0–99.2 % MNIST test accuracy;
# see benchmarks/bench_training.py for its time on this machine.
QUICK_CNN = {"kind": "cnn", "channels": [16, 32], "hidden": 128, "kernel_size": 5, "in_channels": 1,
             "image_size": 28, "num_classes": 10, "dropout": 0.0}
QUICK_CONFIG = TrainConfig(epochs=2, batch_size=128, learning_rate=3e-3, optimizer="adam", schedule="onecycle",
                           weight_decay=0.0, augment=False)


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


def train_model(architecture: dict, dataset: str, config: TrainConfig,
                on_event: Callable[[BatchEnd | EpochEnd], None] | None = None,
                should_stop: Callable[[], bool] | None = None,
                on_model: Callable[[nn.Module, torch.device], None] | None = None) -> tuple[nn.Module, dict]:
    """Train a new model on ``dataset``'s official training split, evaluate on its test split.

    ``on_event`` sees every :class:`BatchEnd` and :class:`EpochEnd`; ``should_stop`` is asked after
    every batch (and during each epoch's evaluation) and ends the run early when it returns True
    (the model so far is kept). ``on_model(model, device)`` is called once, with the freshly built
    model, before training starts: the app's worker keeps it to show live predictions.

    Returns ``(model, card)``; the model is on the training device, in eval mode.

    Raises:
        nnviz.data.DatasetUnavailable, ValueError, nnviz.training.Diverged.
    """
    train = data.load_tensors(dataset, train=True)
    test = data.load_tensors(dataset, train=False)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)  # the weights' initialisation
    model = build_model(architecture)
    background = (0.0 - data.dataset_info(dataset).mean[0]) / data.dataset_info(dataset).std[0]
    result = TrainResult()
    start = time.perf_counter()
    if on_model is not None:
        on_model(model, device)
    events = fit(model, config, train, test, device=device, background=background, should_stop=should_stop)
    try:
        for event in events:
            if isinstance(event, EpochEnd):
                result.epochs.append(event)
            if on_event is not None:
                on_event(event)
            if should_stop is not None and should_stop():
                result.stopped_early = True
                break
        else:  # fit ended by itself: early only if a stop cut an evaluation short
            result.stopped_early = len(result.epochs) < config.epochs
    finally:
        events.close()
        result.elapsed_s = time.perf_counter() - start
    n_train = min(len(train[0]), config.train_size or len(train[0]))
    return model.eval(), make_card(architecture, dataset, config, result, model, device, n_train, len(test[0]))
