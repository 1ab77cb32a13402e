"""A whole training run of the from-scratch NumPy network (:mod:`nnviz.numpy_mlp`): data → SGD →
a torch :class:`nnviz.models.MLP` holding the same weights → model card.

The bridge to torch is what lets a network trained by the NumPy code be saved as an ordinary
checkpoint (safetensors + card) and used on every page of the app: the weights have the same
names and shapes (``fc1.weight`` ``(out, in)``, …) and the same maths (``z = W a + b``, then σ).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import platform
from collections.abc import Callable

import numpy as np
import torch

from nnviz import data
from nnviz.divergence import stop_when_diverged
from nnviz.models import MLP, build_model
from nnviz.numpy_mlp import ACTIVATIONS, NumpyMLP, NumpyTrainConfig, fit, from_state_dict, init_mlp, state_dict
from nnviz.events import BatchEnd, EpochEnd
from nnviz.training import follow, make_card

# The recipe of the shipped trained/digits-numpy: 3Blue1Brown's 784 → 16 → 16 → 10, trained by
# plain mini-batch SGD. Chosen on a held-out validation set — trained on the first 50,000 training
# images, scored on the last 10,000 — never on the test set (benchmarks/select_numpy_recipe.py).
DIGITS_NUMPY = ({"kind": "mlp", "hidden": [16, 16], "activation": "relu", "in_features": 784,
                 "num_classes": 10, "dropout": 0.0},
                NumpyTrainConfig())  # its defaults: batch 32, η 0.05 × 0.9 per epoch, 40 epochs
RECIPE_SELECTION = (
    "chosen on a validation split of the training set (trained on images 0–49,999, scored on 50,000–59,999), "
    "never on the test set; validation accuracy after 40 epochs, batch 32: ReLU η 0.05 × 0.9/epoch 96.12 %, "
    "ReLU η 0.05 × 0.95 96.00 %, ReLU η 0.03 × 0.97 95.81 %, ReLU η 0.1 × 0.93 95.40 %, tanh η 0.05 94.61 %, "
    "sigmoid η 2 × 0.93 94.59 %, sigmoid η 1 × 0.93 94.48 %, sigmoid η 0.5 × 0.95 94.37 %; "
    "then retrained with the winner on all 60,000 training images")

TRAINED_BY = ("nnviz.numpy_mlp: NumPy code written from scratch (forward pass, softmax, cross-entropy, "
              "backpropagation by Nielsen's equations BP1–BP4, mini-batch SGD); no PyTorch autograd or optimizer")


def is_shipped_recipe(hidden, activation: str, config: NumpyTrainConfig) -> bool:
    """Whether a run uses the digits-numpy recipe (any seed, all training images)."""
    architecture, recipe = DIGITS_NUMPY
    return ([int(w) for w in hidden] == architecture["hidden"] and activation == architecture["activation"]
            and dataclasses.replace(config, seed=recipe.seed) == recipe)


def as_arrays(images: torch.Tensor, labels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(N, C, H, W)`` float32 normalised images and ``(N,)`` int64 labels (as
    :func:`nnviz.data.load_tensors` returns them) → ``(N, C·H·W)`` float32 and ``(N,)`` int64 arrays."""
    return images.numpy().reshape(len(images), -1), labels.numpy()


def architecture_of(mlp: NumpyMLP) -> dict:
    """The architecture dict (see :func:`nnviz.models.build_model`) of the torch MLP equal to ``mlp``."""
    widths = mlp.widths
    return {"kind": "mlp", "hidden": widths[1:-1], "activation": mlp.activation, "in_features": widths[0],
            "num_classes": widths[-1], "dropout": 0.0}


def to_torch(mlp: NumpyMLP) -> MLP:
    """A float32 torch :class:`nnviz.models.MLP`, in eval mode, holding ``mlp``'s weights."""
    model = build_model(architecture_of(mlp))
    model.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state_dict(mlp).items()})
    return model.eval()


def from_torch(model: torch.nn.Module, dtype=np.float64) -> NumpyMLP:
    """The NumPy network holding a torch :class:`nnviz.models.MLP`'s weights (copied, as ``dtype``).

    Raises:
        ValueError: ``model`` is not an :class:`~nnviz.models.MLP` (e.g. a CNN) or uses an
            activation :mod:`nnviz.numpy_mlp` does not know.
    """
    names = [name for name, _ in model.named_children()]
    # MLP names its layers flatten, fc1, <activation>1, [dropout1,] fc2, …
    kinds = {n.rstrip("0123456789") for n in names} - {"flatten", "fc", "dropout"}
    if len(kinds) != 1 or not kinds <= set(ACTIVATIONS):
        raise ValueError(f"not an MLP with one of the activations {sorted(ACTIVATIONS)}: layers {names}")
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return from_state_dict(state, kinds.pop(), dtype)


def new_numpy_mlp(hidden=(16, 16), activation: str = "relu", dataset: str = "mnist", seed: int = 0,
                  dtype: str = "float32") -> NumpyMLP:
    """An untrained NumPy MLP sized for ``dataset`` (784 inputs and 10 outputs for MNIST), its
    initial weights fixed by ``seed`` (:func:`nnviz.numpy_mlp.init_mlp`).

    Raises:
        ValueError: unknown dataset or activation, or a non-positive width.
    """
    info = data.dataset_info(dataset)
    c, h, w = info.image_shape
    return init_mlp([c * h * w, *[int(x) for x in hidden], len(info.classes)], activation, seed=seed,
                    dtype=np.dtype(dtype))


def train_numpy_model(mlp: NumpyMLP, config: NumpyTrainConfig | None = None, dataset: str = "mnist",
                      on_event: Callable[[BatchEnd | EpochEnd], None] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> tuple[MLP, dict]:
    """Train ``mlp`` (from :func:`new_numpy_mlp`, updated in place) on ``dataset``'s official
    training split and evaluate it on its test split.

    The counterpart of :func:`nnviz.training.train_model` for the from-scratch code: ``on_event``
    sees every :class:`~nnviz.training.BatchEnd` and :class:`~nnviz.training.EpochEnd`;
    ``should_stop`` ends the run early (:func:`nnviz.numpy_mlp.fit` asks it after every step). While
    it trains, :func:`nnviz.numpy_mlp.predict_proba` on ``mlp`` gives live predictions.

    Returns ``(model, card)``: a torch :class:`nnviz.models.MLP` (CPU, eval mode) with the trained
    weights, and its model card (``trained_by`` says the NumPy code trained it), ready for
    :func:`nnviz.checkpoints.save_checkpoint`.

    Raises:
        nnviz.data.DatasetUnavailable, ValueError, nnviz.divergence.Diverged (the loss became NaN or
            stayed blown up: :func:`nnviz.divergence.stop_when_diverged`).
    """
    config = config or NumpyTrainConfig()
    config.validate()
    train, test = data.load_tensors(dataset, train=True), data.load_tensors(dataset, train=False)
    x_train, y_train = as_arrays(*train)
    x_test, y_test = as_arrays(*test)
    # Named diverged by the same rule as a PyTorch run (a loss that stays blown up, not only NaN).
    events = stop_when_diverged(fit(mlp, config, (x_train, y_train), (x_test, y_test), should_stop), config,
                                mlp.widths[-1])
    result = follow(events, config.epochs, on_event)
    model = to_torch(mlp)
    hidden, activation = mlp.widths[1:-1], mlp.activation
    n_train = min(len(x_train), config.train_size or len(x_train))
    card = make_card(architecture_of(mlp), dataset, config, result, model, torch.device("cpu"), n_train, len(x_test))
    card.update({
        "trained_by": TRAINED_BY,
        # The keys every card has (the Home page reads optimizer), then the NumPy recipe's own.
        "hyperparameters": {"optimizer": "sgd", "schedule": f"×{config.learning_rate_decay:g} per epoch",
                            "weight_decay": 0.0, "augment": False, **config.to_dict()},
        "recipe": (f"plain mini-batch SGD, batch {config.batch_size}, learning rate {config.learning_rate:g} "
                   f"× {config.learning_rate_decay:g} per epoch, {config.epochs} epochs, cross-entropy loss, "
                   f"{config.dtype}, no momentum, no weight decay, no augmentation"),
        "device": f"cpu (NumPy {np.__version__}, {os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "numpy_version": np.__version__,
        **({"recipe_selection": RECIPE_SELECTION} if is_shipped_recipe(hidden, activation, config) else {}),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    return model, card
