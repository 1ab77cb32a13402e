"""Run a training job in a background thread and watch it live: the app's training worker.

The worker knows nothing of Streamlit and nothing of digits. A *job* is any callable
``job(on_event, should_stop)`` that trains something, calls ``on_event`` with every
:class:`~nnviz.training.BatchEnd` and :class:`~nnviz.training.EpochEnd`, hands ``should_stop``
to the training loop (:func:`nnviz.training.run_fit`, which asks it after every batch), and
returns what it made (e.g. ``(model, card)``).

The thread records every event in a :class:`LiveMetrics` object (thread-safe; a page reads a
consistent :class:`MetricsSnapshot` of it as often as it likes) and obeys three controls:
:meth:`TrainingWorker.stop` (ends the run after the current batch, within a second; what was
trained so far is kept), :meth:`~TrainingWorker.pause` and :meth:`~TrainingWorker.resume`.
A loss that becomes NaN or infinite ends the run with the job's plain-words explanation.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from nnviz.jobs.metrics import (DIVERGED, FAILED, FINISHED, PAUSED, QUEUED, RUNNING, SMOOTHING, STOPPED, Event,
                                LiveMetrics, MetricsSnapshot)
from nnviz.jobs.queue import RunQueue
from nnviz.data import DatasetUnavailable
from nnviz.divergence import Diverged

log = logging.getLogger(__name__)

Job = Callable[[Callable[[Event], None], Callable[[], bool]], Any]

# The training thread gives up the GIL inside every torch operation and must win it back after
# each one: see TrainingWorker.start.
GIL_SWITCH_INTERVAL_S = 0.0005


class TrainingWorker:
    """Runs ``job`` in a daemon thread; start it with :meth:`start`.

    Args:
        job: ``job(on_event, should_stop) -> result``; see the module docstring.
        queue: a :class:`~nnviz.jobs.queue.RunQueue` to wait in before training (None: start at once).
        preview: optional callable run *in the worker thread* between batches, at most every
            ``preview_every_s`` seconds and once at the end; its return value is published as
            ``snapshot().preview`` (e.g. the predictions on a few test images).
        client_alive: optional callable; when it has returned False for ``client_grace_s``
            seconds (e.g. the browser tab that started the run was closed), the run stops itself.
        name: the thread's name.
        smoothing: the factor of the loss's moving average (:func:`nnviz.jobs.metrics.smoothing_for`).

    After the run: ``result`` holds what the job returned (None if it failed or diverged),
    ``error`` the exception that ended it, ``metrics`` everything it recorded.
    """

    def __init__(self, job: Job, *, queue: RunQueue | None = None, preview: Callable[[], Any] | None = None,
                 preview_every_s: float = 0.5, client_alive: Callable[[], bool] | None = None,
                 client_grace_s: float = 30.0, name: str = "nnviz-training", smoothing: float = SMOOTHING):
        self.job = job
        self.queue = queue
        self.preview = preview
        self.preview_every_s = preview_every_s
        self.client_alive = client_alive
        self.client_grace_s = client_grace_s
        self.metrics = LiveMetrics(smoothing)
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
        except DatasetUnavailable as exc:  # one plain sentence on the page; where the files go, in the log
            self.error = exc
            log.warning("run failed: %s", exc)
            self.metrics.set_status(FAILED, f"The run could not start. {exc.plain}")
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
