"""One live training run of an image classifier, and the runs a session keeps to compare.

* :class:`TrainJob` — a job for :class:`~nnviz.jobs.worker.TrainingWorker`: it builds its network,
  trains it with :func:`nnviz.training.train_model` (the same code as ``python -m nnviz train``)
  and can show the network's current answers on a few fixed test images (:meth:`TrainJob.preview`),
  so a student sees predictions change as the network learns.
* :class:`LiveRun` — a session's current run: its number, worker, job and label.
* :class:`RunRecord` — a frozen summary of an ended run (:func:`record_of`), which can keep the
  trained model (a few MB) so the run can still be saved after newer runs were made.

Nothing here knows Streamlit: ``ui/train_panel.py`` keeps these objects in a session's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nnviz import data
from nnviz.divergence import LEARNING_RATES, smaller_learning_rate
from nnviz.jobs.metrics import DIVERGED, ENDED, FAILED, FINISHED, PAUSED, STOPPED, smoothing_for
from nnviz.jobs.worker import TrainingWorker
from nnviz.names import OPTIMIZERS, SCHEDULES
from nnviz.events import BatchEnd, EpochEnd
from nnviz.training import TrainConfig, new_model, train_model

# About a dozen test images to watch: one per class for 10 classes, two per class for 6.
PREVIEW_IMAGES = 12
# A page redraws a live run twice a second (the Train page's $NNVIZ_TRAIN_POLL_S changes it). The
# answers on the test images are recomputed once a second: they change more slowly than the loss,
# and a grid that has not changed since the last poll costs the browser nothing to redraw.
POLL_S = 0.5
PREVIEW_S = 1.0
KEEP_MODELS = 5  # past runs whose trained model stays in memory for saving
KEEP_RUNS = 12
OPTIMIZER_NAMES = {name: optimizer.label for name, optimizer in OPTIMIZERS.items()}  # "momentum" → "SGD + momentum"


def preview_indices(labels: torch.Tensor, n_classes: int, total: int = PREVIEW_IMAGES) -> list[int]:
    """Indices of the first ``total // n_classes`` (at least 1) test images of each class, in class
    order: a fixed, balanced handful to watch (10 for the 10 MNIST digits, 12 for 6 animals)."""
    per_class = max(1, total // n_classes)
    picked = []
    for k in range(n_classes):
        picked += (labels == k).nonzero().flatten()[:per_class].tolist()
    return picked


@dataclass
class Preview:
    """The network's current answers on the preview images.

    Attributes:
        pixels: ``(K, H, W, 3)`` uint8 RGB of the images (grey digits repeated on 3 channels).
        labels: ``(K,)`` true class indices.
        predicted: ``(K,)`` predicted class indices (argmax of the logits).
        confidence: ``(K,)`` softmax probability of the predicted class, in [0, 1]; NaN when the
            network's outputs are not numbers (a run blowing up): no answer, never counted right.
        classes: class names.
    """

    pixels: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    classes: tuple[str, ...]

    @property
    def correct(self) -> int:
        return int(((self.predicted == self.labels) & np.isfinite(self.confidence)).sum())


@dataclass
class TrainJob:
    """Train ``architecture`` on ``dataset`` with ``config``; a job for the training worker.

    Call it as ``job(on_event, should_stop)`` (the worker does). ``model`` is set as soon as the
    job has built its network, so a stopped or diverged run still has it; afterwards ``model`` and
    ``card`` hold the trained network (on the CPU, eval mode) and its model card.
    """

    architecture: dict
    dataset: str
    config: TrainConfig
    model: nn.Module | None = None
    card: dict | None = None
    _preview_x: torch.Tensor | None = field(default=None, repr=False)
    _preview: Preview | None = field(default=None, repr=False)

    def __call__(self, on_event, should_stop):
        self._prepare_preview()
        self.model = new_model(self.architecture, self.config.seed)
        card = train_model(self.model, self.architecture, self.dataset, self.config, on_event, should_stop)
        self.model, self.card = self.model.cpu(), card
        return self.model, card

    def _prepare_preview(self) -> None:
        images, labels = data.load_tensors(self.dataset, train=False)
        info = data.dataset_info(self.dataset)
        idx = preview_indices(labels, len(info.classes))
        self._preview_x = images[idx]
        pixels = (data.raw_pixels(images[idx], self.dataset) * 255).round().to(torch.uint8)
        pixels = pixels.permute(0, 2, 3, 1).numpy()
        if pixels.shape[-1] == 1:
            pixels = np.repeat(pixels, 3, axis=-1)
        k = len(idx)
        self._preview = Preview(pixels, labels[idx].numpy(), np.zeros(k, dtype=np.int64), np.zeros(k), info.classes)

    @torch.no_grad()
    def preview(self) -> Preview | None:
        """The model's answers on the preview images right now (None before training starts).

        Called from the training thread between batches; the model's train/eval mode is restored.
        """
        model, x, base = self.model, self._preview_x, self._preview
        if model is None or x is None or base is None:
            return None
        was_training = model.training
        model.eval()
        try:
            device = next(model.parameters()).device
            probs = torch.softmax(model(x.to(device)).float(), 1).cpu()
        finally:
            model.train(was_training)
        confidence, predicted = probs.max(1)
        return Preview(base.pixels, base.labels, predicted.numpy(), confidence.numpy(), base.classes)


def describe_architecture(architecture: dict) -> str:
    """Short name of a network: ``CNN 16→32 ch`` or ``MLP 512-256 relu``."""
    if architecture.get("kind") == "cnn":
        c1, c2 = architecture.get("channels", (32, 64))
        return f"CNN {c1}→{c2} ch"
    hidden = "-".join(str(w) for w in architecture.get("hidden", ())) or "no hidden layer"
    numpy = " (NumPy, from scratch)" if architecture.get("kind") == "numpy-mlp" else ""
    return f"MLP {hidden} {architecture.get('activation', 'relu')}{numpy}"


def describe_run(architecture: dict, dataset: str, config: TrainConfig | dict) -> str:
    """One line naming a run: network, optimiser, learning rate, batch size, data."""
    c = config.to_dict() if isinstance(config, TrainConfig) else dict(config)
    size = f", {c['train_size']:,} images" if c.get("train_size") else ""
    return (f"{describe_architecture(architecture)} · {OPTIMIZER_NAMES.get(c['optimizer'], c['optimizer'])} "
            f"lr {c['learning_rate']:g} · batch {c['batch_size']} · {data.dataset_info(dataset).name}{size}")


@dataclass
class LiveRun:
    """A session's current (or last) run: ``number`` (1, 2, … in the session), its ``worker`` and
    ``job``, a one-line ``label``; ``archived`` once its :class:`RunRecord` is in the history;
    ``shown`` is the (status, finished epochs) a page last drew, to know when to redraw."""

    number: int
    worker: TrainingWorker
    job: TrainJob
    label: str
    steps_per_epoch: int
    archived: bool = False
    shown: tuple[str, int] = ("", 0)

    @classmethod
    def start(cls, number: int, job: TrainJob, **worker_options) -> LiveRun:
        """Start ``job`` in a new :class:`TrainingWorker` (``worker_options`` are its keyword
        arguments: queue, client check …) and return the run."""
        steps = job.config.steps_per_epoch(data.train_set_size(job.dataset))
        options = {"preview_every_s": PREVIEW_S, "name": f"nnviz-train-{id(job):x}",
                   "smoothing": smoothing_for(steps), **worker_options}
        worker = TrainingWorker(job, preview=job.preview, **options)
        run = cls(number, worker, job, describe_run(job.architecture, job.dataset, job.config), steps)
        worker.start()
        return run

    @property
    def ended(self) -> bool:
        return not self.worker.alive and self.worker.metrics.status in ENDED


@dataclass
class RunRecord:
    """A finished, stopped, diverged or failed run of a session.

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


def run_settings(record: RunRecord) -> dict[str, str]:
    """The settings of a run, each as words: ``{"network": "CNN 16→32 ch", "lr": "lr 0.1", …}``."""
    c = record.config
    return {"data": data.dataset_info(record.dataset).name, "network": describe_architecture(record.architecture),
            "optimizer": OPTIMIZER_NAMES.get(c["optimizer"], c["optimizer"]), "lr": f"lr {c['learning_rate']:g}",
            "schedule": SCHEDULES.get(c.get("schedule"), SCHEDULES["constant"]),
            "batch": f"batch {c['batch_size']}", "epochs": f"{c['epochs']} epochs",
            "images": f"{c['train_size']:,} images" if c.get("train_size") else "all images",
            "seed": f"seed {c['seed']}"}


def overlay_labels(records: list[RunRecord]) -> list[str]:
    """A legend label per run: its number and the settings that differ between the runs shown
    (``"#3 · lr 0.1"``), so each label is unique and says what the comparison is about; runs with
    the same settings are told apart by number (``"#2 · same settings"``)."""
    settings = [run_settings(r) for r in records]
    differ = [k for k in (settings[0] if settings else {}) if len({s[k] for s in settings}) > 1]
    return [f"#{r.number} · " + (" · ".join(s[k] for k in differ) if differ else "same settings")
            for r, s in zip(records, settings)]


def archive_if_ended(run: LiveRun | None, history: list[RunRecord]) -> RunRecord | None:
    """Once ``run`` has ended, append its :class:`RunRecord` to ``history`` (once) and return it.

    Only the last :data:`KEEP_MODELS` records keep their trained model, and ``history`` keeps
    the last :data:`KEEP_RUNS` records: a long session's memory stays bounded.
    """
    if run is None or run.archived or not run.ended:
        return None
    snap, job = run.worker.snapshot(), run.job
    elapsed = snap.epochs[-1].elapsed_s if snap.epochs else snap.last_batch.elapsed_s if snap.last_batch else 0.0
    record = RunRecord(run.number, run.label, job.dataset, job.architecture, job.config.to_dict(), snap.status,
                       snap.message, snap.steps, snap.smoothed, run.steps_per_epoch, snap.epochs, elapsed,
                       model=job.model if job.card is not None else None, card=job.card)
    history.append(record)
    for old in history[:-KEEP_MODELS]:
        old.model = None  # free memory; the record keeps its curves
    del history[:-KEEP_RUNS]
    run.archived = True
    return record


def default_model_name(record: RunRecord, taken: set[str]) -> str:
    """``<dataset>-<kind>-run<number>``, with ``-2``, ``-3`` … added until it is not in ``taken``."""
    base = f"{record.dataset}-{record.architecture.get('kind', 'net')}-run{record.number}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    return name


def progress_text(last: BatchEnd, epochs: int, samples_per_s: float | None = None, eta_s: float | None = None) -> str:
    """The live progress line of a run whose last batch was ``last``: the epoch of ``epochs``, the
    batch counted over the whole run (as a divergence message counts it), the speed and the time
    left when given (None: the run is not active), and the time so far."""
    rate = f" · {samples_per_s:,.0f} images/s" if samples_per_s is not None else ""
    left = f" · about {eta_s:.0f} s left" if eta_s is not None else ""
    return (f"Epoch {last.epoch} of {epochs} · batch {last.step:,} of {last.total_steps:,} in the run{rate}{left} · "
            f"{last.elapsed_s:.0f} s so far")


def at_chance(epochs, n_classes: int) -> bool:
    """Whether the last epoch's test accuracy is below 1.5 / ``n_classes`` (10 % is chance for 10
    classes): the network is only guessing."""
    return bool(epochs) and epochs[-1].test_accuracy < 1.5 / n_classes


def chance_hint(epochs: tuple[EpochEnd, ...] | list[EpochEnd], n_classes: int, learning_rate: float) -> str | None:
    """A plain-words hint when a run ended no better than guessing (:func:`at_chance`), else None;
    the suggested learning rate is one the Train page can select. (A run stuck with dead ReLU units
    is stopped by the loop itself: see :func:`nnviz.divergence.stuck_message`.)"""
    if not at_chance(epochs, n_classes):
        return None
    acc = epochs[-1].test_accuracy
    if learning_rate >= 0.1:
        return (f"The network is only guessing: {acc:.1%} right is what picking one of {n_classes} classes at "
                f"random gives. A learning rate of {learning_rate:g} makes every update so large that the weights "
                f"jump past anything they learned. Try a smaller learning rate, e.g. "
                f"{smaller_learning_rate(learning_rate, 30):g}.")
    larger = next((r for r in LEARNING_RATES if r >= learning_rate * 10), LEARNING_RATES[-1])
    return (f"The network is only guessing: {acc:.1%} right is about chance for {n_classes} classes. "
            f"It has not learned yet: try more epochs or a larger learning rate, e.g. {larger:g}.")


@dataclass(frozen=True)
class Verdict:
    """How a run stands, in words: ``level`` is ``"success"``, ``"info"``, ``"warning"`` or
    ``"error"`` (how a page colours it), ``text`` the sentence(s) to show."""

    level: str
    text: str


def verdict(status: str, message: str, epochs, n_classes: int, learning_rate: float) -> Verdict | None:
    """The verdict on a run from its status (:mod:`nnviz.jobs.metrics`), the worker's message and
    its epochs: a finished run is a success only when it learned; one that ended at chance is a
    warning with its cause and a fix, whatever its status. None while it trains or waits."""
    hint = chance_hint(epochs, n_classes, learning_rate)
    if status == PAUSED:
        return Verdict("info", "Paused. The network keeps its weights; **Resume** carries on from here.")
    if status == FINISHED and hint:
        return Verdict("warning", f"Finished, but the network did not learn. {hint}")
    if status == FINISHED:
        if not epochs:
            return Verdict("success", "Finished.")
        return Verdict("success", f"Finished in {epochs[-1].elapsed_s:.1f} s: the network now classifies "
                                  f"**{epochs[-1].test_accuracy:.2%}** of the test images correctly — images it "
                                  "never saw during training.")
    if status == STOPPED:
        return Verdict("warning", message + (f" {hint}" if hint else ""))
    if status in (DIVERGED, FAILED):
        return Verdict("error", message)
    return None
