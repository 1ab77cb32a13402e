"""A run's live metrics: written by the training thread, read by any page as often as it likes.

:class:`LiveMetrics` records every :class:`~nnviz.training.BatchEnd` and
:class:`~nnviz.training.EpochEnd` of one run (thread-safe); :meth:`LiveMetrics.snapshot` gives a
consistent, frozen :class:`MetricsSnapshot` for drawing: the loss per batch and its moving
average, the epochs, the recent speed and the time left, the run's status and message.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Any

from nnviz.events import BatchEnd, EpochEnd

Event = BatchEnd | EpochEnd

# Statuses, in the order a run goes through them. A run ends in exactly one of the last four.
QUEUED, RUNNING, PAUSED, FINISHED, STOPPED, DIVERGED, FAILED = (
    "queued", "running", "paused", "finished", "stopped", "diverged", "failed")
ACTIVE = (QUEUED, RUNNING, PAUSED)
ENDED = (FINISHED, STOPPED, DIVERGED, FAILED)

# Exponential moving average of the batch loss, debiased as in Adam / TensorBoard: with 0.95
# the smoothed curve averages roughly the last 20 batches.
SMOOTHING = 0.95


def smoothing_for(steps_per_epoch: int) -> float:
    """The moving average's factor for a run of ``steps_per_epoch`` batches per epoch:
    :data:`SMOOTHING`, but averaging over no more than about one epoch, so that a run of a few
    batches per epoch (a transfer head on 40 photos) is not smoothed over many epochs, its curve
    lagging far above every batch point."""
    return min(SMOOTHING, 1.0 - 1.0 / max(steps_per_epoch, 1))
RATE_WINDOW_S = 3.0  # samples/s is measured over the last few seconds of training, not since start


@dataclass(frozen=True)
class MetricsSnapshot:
    """A consistent copy of a run's metrics at one moment (for drawing; never changes).

    Attributes:
        status: one of ``queued``, ``running``, ``paused``, ``finished``, ``stopped``,
            ``diverged``, ``failed``.
        message: plain-words explanation of how the run ended (empty while it runs).
        queue_position: 0 when training, ≥ 1 while waiting for a free slot.
        steps, losses, smoothed: per batch — step number (1-based), the batch's mean loss
            (nats) and its moving average; equal-length tuples.
        samples: samples seen after each of those steps.
        epochs: one :class:`EpochEnd` per finished epoch.
        last_batch: the latest :class:`BatchEnd` (None before the first).
        samples_per_s: recent training speed (paused time excluded).
        eta_s: estimated seconds left (None when unknown).
        preview: whatever the job's preview function last returned (e.g. predictions).
        version: increases with every recorded event; a page can skip redrawing an unchanged run.
    """

    status: str
    message: str
    queue_position: int
    steps: tuple[int, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    samples: tuple[int, ...]
    epochs: tuple[EpochEnd, ...]
    last_batch: BatchEnd | None
    samples_per_s: float
    eta_s: float | None
    preview: Any
    version: int
    wall_s: float

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def progress(self) -> float:
        """Fraction of the run's steps done, in [0, 1]."""
        b = self.last_batch
        return 0.0 if b is None else min(1.0, b.step / max(b.total_steps, 1))


class LiveMetrics:
    """The metrics of one run, written by the worker thread and read by any other. Thread-safe.
    ``smoothing`` is the moving average's factor (:func:`smoothing_for`)."""

    def __init__(self, smoothing: float = SMOOTHING):
        self._lock = threading.Lock()
        self._smoothing = smoothing
        self._status, self._message, self._queue_position = QUEUED, "", 0
        self._steps: list[int] = []
        self._losses: list[float] = []
        self._smoothed: list[float] = []
        self._samples: list[int] = []
        self._epochs: list[EpochEnd] = []
        self._last_batch: BatchEnd | None = None
        self._ema, self._ema_n = 0.0, 0
        self._recent: collections.deque[tuple[float, int, int]] = collections.deque()  # (time, samples, step)
        self._preview: Any = None
        self._version = 0
        self._created = time.monotonic()

    def record(self, event: Event) -> None:
        """Add one event (called by the worker thread)."""
        now = time.monotonic()
        with self._lock:
            if isinstance(event, BatchEnd):
                k = self._smoothing
                self._ema = k * self._ema + (1 - k) * event.loss
                self._ema_n += 1
                self._steps.append(event.step)
                self._losses.append(event.loss)
                self._smoothed.append(self._ema / (1 - k ** self._ema_n) if k > 0 else event.loss)
                self._samples.append(event.samples_seen)
                self._last_batch = event
                self._recent.append((now, event.samples_seen, event.step))
                while len(self._recent) > 2 and now - self._recent[0][0] > RATE_WINDOW_S:
                    self._recent.popleft()
            elif isinstance(event, EpochEnd):
                self._epochs.append(event)
            self._version += 1

    def restart_rate(self) -> None:
        """Forget recent timings (after a pause, so the pause does not count as slow training)."""
        with self._lock:
            self._recent.clear()

    def set_status(self, status: str, message: str | None = None, queue_position: int | None = None) -> None:
        with self._lock:
            self._status = status
            if message is not None:
                self._message = message
            if queue_position is not None:
                self._queue_position = queue_position
            self._version += 1

    def set_preview(self, preview: Any) -> None:
        with self._lock:
            self._preview = preview
            self._version += 1

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    def snapshot(self) -> MetricsSnapshot:
        """A consistent copy of everything recorded so far."""
        with self._lock:
            rate, eta = 0.0, None
            if len(self._recent) >= 2:
                (t0, s0, k0), (t1, s1, k1) = self._recent[0], self._recent[-1]
                if t1 > t0:
                    rate = (s1 - s0) / (t1 - t0)
                    b = self._last_batch
                    if b is not None and k1 > k0:
                        eta = (b.total_steps - b.step) * (t1 - t0) / (k1 - k0)
            elif self._last_batch is not None:
                rate = self._last_batch.samples_per_s
            return MetricsSnapshot(
                self._status, self._message, self._queue_position, tuple(self._steps), tuple(self._losses),
                tuple(self._smoothed), tuple(self._samples), tuple(self._epochs), self._last_batch, rate, eta,
                self._preview, self._version, time.monotonic() - self._created)
