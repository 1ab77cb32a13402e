"""The from-scratch NumPy network (:mod:`nnviz.numpy_mlp`) as a live training job, so that the
Train page can race it against the PyTorch MLP of the same shape, with the same live curves."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnviz.jobs.live_run import Preview, TrainJob
from nnviz.numpy_mlp import NumpyMLP, NumpyTrainConfig, predict_proba
from nnviz.numpy_runs import new_numpy_mlp, train_numpy_model
from nnviz.training import TrainConfig

KIND = "numpy-mlp"  # the architecture's ``kind`` on the Train page and in a run's record
DECAY = 0.9  # the learning rate shrinks ×0.9 per epoch: the shipped digits-numpy recipe's schedule


def numpy_config(config: TrainConfig) -> NumpyTrainConfig:
    """The plain-SGD recipe of the Train page's settings: the same epochs, batch size, learning
    rate, training images and seed; the rate shrinks ×0.9 per epoch when a schedule is on, else
    stays constant (NumPy's SGD has no momentum, Adam or one-cycle)."""
    return NumpyTrainConfig(epochs=config.epochs, batch_size=config.batch_size, learning_rate=config.learning_rate,
                            learning_rate_decay=DECAY if config.schedule != "constant" else 1.0,
                            train_size=config.train_size, seed=config.seed)


@dataclass
class NumpyJob(TrainJob):
    """Train a NumPy MLP of ``architecture["hidden"]`` widths and ``architecture["activation"]``
    on ``dataset``; a job for the training worker like :class:`~nnviz.jobs.live_run.TrainJob`.
    Afterwards ``model`` is the torch MLP holding the trained weights, ``card`` its model card."""

    network: NumpyMLP | None = field(default=None, repr=False)

    def __call__(self, on_event, should_stop):
        self._prepare_preview()
        a = self.architecture
        self.network = new_numpy_mlp(a["hidden"], a.get("activation", "relu"), self.dataset, self.config.seed)
        self.model, self.card = train_numpy_model(self.network, numpy_config(self.config), self.dataset,
                                                  on_event, should_stop)
        return self.model, self.card

    def preview(self) -> Preview | None:
        """The NumPy network's answers on the preview images right now (None before it exists)."""
        network, x, base = self.network, self._preview_x, self._preview
        if network is None or x is None or base is None:
            return None
        probs = predict_proba(network, x.reshape(len(x), -1).numpy())
        return Preview(base.pixels, base.labels, probs.argmax(1), probs.max(1).astype(np.float32), base.classes)
