"""What goes wrong in training, and how to say so: a loss that becomes NaN or blows up, and a
network stuck at chance because its ReLU units died. :func:`nnviz.training.fit` raises
:class:`Diverged` with one of these plain-words messages, each with a suggested learning rate
that the Train page's slider can select (:data:`LEARNING_RATES`). (Counting dead ReLU units needs
torch: :func:`nnviz.training.dead_relu_fraction`. This module imports no torch, as the from-scratch
NumPy network uses it too.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nnviz.training import TrainConfig

# The learning rates a student can pick (a 1-3-10 ladder); a suggested rate is always one of them.
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
# Settings refuse a learning rate above this: nothing is learnt there, and the largest choice
# above, 100, already shows a run blowing up.
MAX_LEARNING_RATE = 1000.0


def check_run_settings(epochs: int, batch_size: int, learning_rate: float, train_size: int | None) -> None:
    """The range checks every training recipe shares (the PyTorch loop's and the NumPy network's).

    Raises:
        ValueError: naming the first setting out of range: fewer than 1 epoch or image per batch, a
            learning rate that is not a positive finite number or is above :data:`MAX_LEARNING_RATE`,
            a training-set size below 1.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if not (learning_rate > 0 and math.isfinite(learning_rate)):
        raise ValueError(f"learning rate must be a positive number, got {learning_rate}")
    if learning_rate > MAX_LEARNING_RATE:
        raise ValueError(f"learning rate must be at most {MAX_LEARNING_RATE:g}, got {learning_rate:g} "
                         "(from about 1 upwards most networks already blow up)")
    if train_size is not None and train_size < 1:
        raise ValueError(f"training-set size must be at least 1, got {train_size}")

# A network that guesses uniformly among K classes has a loss of ln K (2.30 for 10 classes). A loss
# that stays above 10 × ln K for 5 batches in a row has blown up, even while it is still finite.
BLOWUP_FACTOR, BLOWUP_BATCHES = 10.0, 5
# A run at chance (test accuracy under 1.5 / K) whose ReLU units output 0 for nearly every image is
# stuck: no gradient flows through a dead unit, so more epochs cannot help.
DEAD_FRACTION = 0.9


class Diverged(RuntimeError):
    """The run cannot learn any more: the loss became NaN or infinite or blew up, or the network is
    stuck at chance with dead ReLU units. The message says why in plain words and suggests a fix."""


def smaller_learning_rate(learning_rate: float, factor: float = 10.0) -> float:
    """The largest of :data:`LEARNING_RATES` at most ``learning_rate / factor`` (the smallest of
    them if none is), so that a suggestion names a rate the Train page's slider can select."""
    fitting = [r for r in LEARNING_RATES if r <= learning_rate / factor * (1 + 1e-9)]
    return fitting[-1] if fitting else LEARNING_RATES[0]


def divergence_message(loss: float, config: TrainConfig, epoch: int, step: int, n_classes: int = 10) -> str:
    """A plain-words explanation of a NaN, infinite or blown-up loss, with a suggested rate.

    ``step`` is the 1-based batch counted over the whole run, as :class:`nnviz.events.BatchEnd`'s
    ``step`` and the Train page's progress ("batch 20 of 2,814 in the run") count it."""
    what = ("became NaN" if math.isnan(loss) else "became infinite" if math.isinf(loss)
            else f"blew up to {loss:.3g} (a network that only guesses scores {math.log(n_classes):.2f})")
    return (f"Training stopped: the loss {what} at batch {step:,} of the run (in epoch {epoch}). The weights grew "
            "out of "
            f"control, which almost always means the learning rate ({config.learning_rate:g}) is too high for "
            f"this model and optimizer. Try a smaller learning rate, e.g. {smaller_learning_rate(config.learning_rate):g}.")


def stuck_message(dead: float, accuracy: float, n_classes: int, config: TrainConfig) -> str:
    """A plain-words explanation of a run stuck at chance with dead ReLU units, with a suggested rate."""
    return (f"Training stopped: the network is stuck at chance ({accuracy:.1%} right; guessing among "
            f"{n_classes} classes gives {1 / n_classes:.0%}). {dead:.0%} of its ReLU units output 0 for every "
            f"test image: the first updates, with a learning rate of {config.learning_rate:g}, threw their "
            "weights so far that they never switch on again, and no gradient flows through a unit that is "
            f"always 0. Try a smaller learning rate, e.g. {smaller_learning_rate(config.learning_rate, 30):g}.")


def stop_when_diverged(events: Iterable, config, n_classes: int) -> Iterator:
    """Pass a training loop's events on, raising :class:`Diverged` (:func:`divergence_message`)
    before the first batch whose loss is NaN or infinite, or the :data:`BLOWUP_BATCHES`-th batch
    in a row above :data:`BLOWUP_FACTOR` × ln K — the rule :func:`nnviz.training.fit` applies
    itself, for a loop that does not (the NumPy network's: :func:`nnviz.numpy_mlp.fit` stops only
    on NaN, so at a learning rate of 100 it went on for thousands of batches at a loss of ~50).

    ``events`` are :class:`nnviz.events.BatchEnd` (checked) and :class:`~nnviz.events.EpochEnd`
    (passed on); ``config`` has the ``learning_rate`` the message names.
    """
    limit, blown = BLOWUP_FACTOR * math.log(n_classes), 0
    for event in events:
        loss = getattr(event, "loss", None)  # BatchEnd; EpochEnd has train_loss and test_loss instead
        if loss is not None:
            blown = blown + 1 if loss > limit else 0
            if not math.isfinite(loss) or blown >= BLOWUP_BATCHES:
                raise Diverged(divergence_message(loss, config, event.epoch, event.step, n_classes))
        yield event
