"""Run a training job in a background thread and watch it live: the app's training worker.

The worker knows nothing of Streamlit and nothing of digits. A *job* is any callable
``job(on_event, should_stop)`` that trains something, calls ``on_event`` with every
:class:`~nnviz.training.BatchEnd` and :class:`~nnviz.training.EpochEnd`, asks ``should_stop()``
after each of them, and returns what it made (e.g. ``(model, card)``). Jobs written as generators
of events can be wrapped with :func:`job_from_events`.

The thread records every event in a :class:`LiveMetrics` object (thread-safe; a page reads a
consistent :class:`MetricsSnapshot` of it as often as it likes) and obeys three controls:
:meth:`TrainingWorker.stop` (ends the run after the current batch, within a second; what was
trained so far is kept), :meth:`~TrainingWorker.pause` and :meth:`~TrainingWorker.resume`.
A loss that becomes NaN or infinite ends the run with the job's plain-words explanation.
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import sys
import threading
import weakref
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from nnviz.run_queue import RunQueue
from nnviz.training import BatchEnd, Diverged, EpochEnd

Event = BatchEnd | EpochEnd
Job = Callable[[Callable[[Event], None], Callable[[], bool]], Any]

# Statuses, in the order a run goes through them. A run ends in exactly one of the last four.
QUEUED, RUNNING, PAUSED, FINISHED, STOPPED, DIVERGED, FAILED = (
    "queued", "running", "paused", "finished", "stopped", "diverged", "failed")
ACTIVE = (QUEUED, RUNNING, PAUSED)
ENDED = (FINISHED, STOPPED, DIVERGED, FAILED)

# Exponential moving average of the batch loss, debiased as in Adam / TensorBoard: with 0.95
# the smoothed curve averages roughly the last 20 batches.
SMOOTHING = 0.95
RATE_WINDOW_S = 3.0
GIL_SWITCH_INTERVAL_S = 0.0005  # samples/s is measured over the last few seconds of training, not since start


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
    """The metrics of one run, written by the worker thread and read by any other. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
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
                self._ema = SMOOTHING * self._ema + (1 - SMOOTHING) * event.loss
                self._ema_n += 1
                self._steps.append(event.step)
                self._losses.append(event.loss)
                self._smoothed.append(self._ema / (1 - SMOOTHING ** self._ema_n))
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


class TrainingWorker:
    """Runs ``job`` in a daemon thread; start it with :meth:`start`.

    Args:
        job: ``job(on_event, should_stop) -> result``; see the module docstring.
        queue: a :class:`~nnviz.run_queue.RunQueue` to wait in before training (None: start at once).
        preview: optional callable run *in the worker thread* between batches, at most every
            ``preview_every_s`` seconds and once at the end; its return value is published as
            ``snapshot().preview`` (e.g. the predictions on a few test images).
        client_alive: optional callable; when it has returned False for ``client_grace_s``
            seconds (e.g. the browser tab that started the run was closed), the run stops itself.
        name: the thread's name.

    After the run: ``result`` holds what the job returned (None if it failed or diverged),
    ``error`` the exception that ended it, ``metrics`` everything it recorded.
    """

    def __init__(self, job: Job, *, queue: RunQueue | None = None, preview: Callable[[], Any] | None = None,
                 preview_every_s: float = 0.5, client_alive: Callable[[], bool] | None = None,
                 client_grace_s: float = 30.0, name: str = "nnviz-training"):
        self.job = job
        self.queue = queue
        self.preview = preview
        self.preview_every_s = preview_every_s
        self.client_alive = client_alive
        self.client_grace_s = client_grace_s
        self.metrics = LiveMetrics()
        self.result: Any = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._stop_reason = ""
        self._last_preview = 0.0
        self._client_checked, self._client_lost_since = 0.0, None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        _WORKERS.add(self)

    # --- controls (any thread) -------------------------------------------------------------

    def start(self) -> TrainingWorker:
        # The training thread gives up the GIL inside every torch operation and must win it back
        # after each one; while another thread runs Python (a page redrawing the live charts), it
        # waits up to one switch interval each time: 5 ms by default, tens of operations per batch.
        # A shorter interval makes that wait short (a process-wide setting; it only ever lowers it).
        if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        keep_freed_memory()
        self._thread.start()
        return self

    def stop(self, wait_s: float | None = 1.0, reason: str = "") -> bool:
        """Ask the run to end after the current batch; wait up to ``wait_s`` seconds for the thread.

        The model keeps the weights it has. Returns True if the thread has ended.
        """
        self._stop_reason = self._stop_reason or reason
        self._stop.set()
        self._resume.set()  # a paused run must wake up to stop
        if wait_s and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(wait_s)
        return not self._thread.is_alive()

    def pause(self) -> None:
        """Hold the run after the current batch (it keeps its place and its model)."""
        if self.metrics.status in (RUNNING, QUEUED):
            self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True if it has."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def snapshot(self) -> MetricsSnapshot:
        return self.metrics.snapshot()

    # --- the thread ------------------------------------------------------------------------

    def _should_stop(self) -> bool:
        self._check_client()
        return self._stop.is_set()

    def _check_client(self) -> None:
        """Stop the run once the client has been gone for ``client_grace_s`` (checked ≤ 1/s)."""
        if self.client_alive is None:
            return
        now = time.monotonic()
        if now - self._client_checked < 1.0:
            return
        self._client_checked = now
        try:
            alive = bool(self.client_alive())
        except Exception:  # a failing check must not kill a run
            alive = True
        if alive:
            self._client_lost_since = None
        elif self._client_lost_since is None:
            self._client_lost_since = now
        elif now - self._client_lost_since >= self.client_grace_s:
            self.stop(wait_s=None, reason="The browser tab that started this run was closed, so the run was stopped.")

    def _on_event(self, event: Event) -> None:
        self.metrics.record(event)
        self._maybe_preview()
        if not self._resume.is_set() and not self._stop.is_set():
            self.metrics.set_status(PAUSED)
            self._maybe_preview(force=True)
            while not self._resume.wait(0.2):
                self._check_client()
            self.metrics.restart_rate()
            if not self._stop.is_set():
                self.metrics.set_status(RUNNING)

    def _maybe_preview(self, force: bool = False) -> None:
        if self.preview is None:
            return
        now = time.monotonic()
        if force or now - self._last_preview >= self.preview_every_s:
            self._last_preview = now
            try:
                self.metrics.set_preview(self.preview())
            except Exception:  # a preview is a nicety; never let it end a run
                pass

    def _wait_in_queue(self):
        ticket = self.queue.enter()
        while not ticket.wait(0.2):
            self.metrics.set_status(QUEUED, queue_position=ticket.position)
            if self._should_stop():
                ticket.release()
                return None
        return ticket

    def _run(self) -> None:
        ticket = None
        try:
            if self.queue is not None:
                ticket = self._wait_in_queue()
                if ticket is None:
                    self.metrics.set_status(STOPPED, self._stop_reason or "Cancelled while waiting for a free slot.", 0)
                    return
            if not self._resume.is_set():
                self.metrics.set_status(PAUSED, queue_position=0)
                while not self._resume.wait(0.2):
                    self._check_client()
            self.metrics.set_status(RUNNING, queue_position=0)
            self.result = self.job(self._on_event, self._should_stop)
            self._maybe_preview(force=True)
            if self._stop.is_set():
                self.metrics.set_status(STOPPED, self._stop_reason or "Stopped; the network keeps what it learned so far.")
            else:
                self.metrics.set_status(FINISHED, "Finished.")
        except Diverged as exc:
            self.error = exc
            self._maybe_preview(force=True)
            self.metrics.set_status(DIVERGED, str(exc))
        except Exception as exc:  # report it on the page instead of dying silently
            self.error = exc
            traceback.print_exc()
            self.metrics.set_status(FAILED, f"The run failed: {exc}")
        finally:
            if ticket is not None:
                ticket.release()


# glibc's malloc: sizes above which memory comes straight from the OS (mmap), and free memory
# above which a heap is given back to it.
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's largest (its default grows from 128 KiB up to this)
TRIM_THRESHOLD_BYTES = 128 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def keep_freed_memory() -> bool:
    """Let malloc keep freed memory for reuse instead of returning it to the OS (glibc only).

    Each batch allocates and frees the same few megabytes of activations. In the main thread,
    glibc learns to keep them; in any other thread (a worker's) malloc uses a separate heap that
    it shrinks after every batch, and the next batch faults the pages back in: 2.9 million page
    faults instead of 0.3 million for the quick recipe, and 10–40 % more training time than the
    same run in a main thread (measured on the 2-core CPU). Fixed thresholds stop that. Process-wide
    and idempotent; returns False where there is no glibc (macOS, Windows, musl), which changes
    nothing there.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                    and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


_WORKERS: weakref.WeakSet[TrainingWorker] = weakref.WeakSet()


@atexit.register
def _stop_all_workers() -> None:
    """Stop running workers before the interpreter exits: a daemon thread killed inside a torch
    operation aborts the process ("terminate called without an active exception")."""
    for worker in list(_WORKERS):
        worker.stop(wait_s=2.0)


def job_from_events(make_events: Callable[[], Iterator[Event]], result: Callable[[], Any] | None = None) -> Job:
    """A job from a generator of events (e.g. ``lambda: fit(model, config, train, test)``).

    The generator is closed when ``should_stop()`` says so, which ends ``fit`` after its current
    batch. The job returns ``result()`` (or None).
    """

    def job(on_event, should_stop):
        events = make_events()
        try:
            for event in events:
                on_event(event)
                if should_stop():
                    break
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
        return result() if result is not None else None

    return job

