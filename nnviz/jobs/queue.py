"""A server-wide limit on concurrent training runs, first come, first served.

A classroom shares one server: if every student's run trained at once, the CPU cores would be
split thirty ways and every run would crawl. :class:`RunQueue` lets at most ``max_runs`` runs
train at the same time; the others wait in order and can show their place in the queue.

The limit is a setting: ``$NNVIZ_MAX_RUNS``, else :func:`default_max_runs` (sized to the machine).
"""

from __future__ import annotations

import itertools
import os
import threading
import time

import torch

# A run of the quick CNN is fastest with two CPU threads; more threads per run give little
# (the matrices are small), so a CPU server runs one run per two cores.
CPU_THREADS_PER_RUN = 2
# Small models leave a GPU mostly idle; a few runs can share one.
RUNS_PER_GPU = 4


def default_max_runs() -> int:
    """How many runs may train at once: ``$NNVIZ_MAX_RUNS`` if set, else 4 per CUDA GPU, else one
    run per two CPU cores (at least 1).

    Raises:
        ValueError: ``$NNVIZ_MAX_RUNS`` is not a positive integer.
    """
    setting = os.environ.get("NNVIZ_MAX_RUNS")
    if setting:
        try:
            value = int(setting)
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(f"NNVIZ_MAX_RUNS must be a positive integer, got {setting!r}")
        return value
    if torch.cuda.is_available():
        return RUNS_PER_GPU * torch.cuda.device_count()
    return max(1, (os.cpu_count() or 1) // CPU_THREADS_PER_RUN)


def threads_per_run(max_runs: int | None = None) -> int:
    """CPU threads each run should use so that ``max_runs`` runs together fill the cores, not more."""
    max_runs = max_runs or default_max_runs()
    return max(1, (os.cpu_count() or 1) // max_runs)


class Ticket:
    """One run's place in a :class:`RunQueue`: waiting (``position`` ≥ 1) or admitted (0)."""

    def __init__(self, queue: RunQueue, number: int):
        self._queue = queue
        self.number = number

    @property
    def position(self) -> int:
        """0 once admitted to train; else the place in the waiting line (1 = next); -1 once released."""
        return self._queue.position(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until admitted or ``timeout`` seconds pass; True if admitted."""
        return self._queue.wait(self, timeout)

    def release(self) -> None:
        """Leave the queue (admitted or not); idempotent."""
        self._queue.release(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class RunQueue:
    """At most ``max_runs`` admitted tickets at a time; the rest wait in the order they came.

    Thread-safe. Usage::

        ticket = queue.enter()
        while not ticket.wait(timeout=0.2):
            show(ticket.position)        # 1, 2, … while waiting
        try:
            train()
        finally:
            ticket.release()

    Raises:
        ValueError: ``max_runs`` < 1.
    """

    def __init__(self, max_runs: int | None = None):
        max_runs = default_max_runs() if max_runs is None else int(max_runs)
        if max_runs < 1:
            raise ValueError(f"max_runs must be at least 1, got {max_runs}")
        self.max_runs = max_runs
        self._cond = threading.Condition()
        self._admitted: set[int] = set()
        self._waiting: list[int] = []
        self._numbers = itertools.count(1)

    def enter(self) -> Ticket:
        """Join the end of the line (and be admitted at once if a slot is free)."""
        with self._cond:
            ticket = Ticket(self, next(self._numbers))
            self._waiting.append(ticket.number)
            self._admit()
            return ticket

    def _admit(self) -> None:
        while self._waiting and len(self._admitted) < self.max_runs:
            self._admitted.add(self._waiting.pop(0))
        self._cond.notify_all()

    def position(self, ticket: Ticket) -> int:
        with self._cond:
            if ticket.number in self._admitted:
                return 0
            if ticket.number in self._waiting:
                return self._waiting.index(ticket.number) + 1
            return -1

    def wait(self, ticket: Ticket, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while ticket.number not in self._admitted:
                if ticket.number not in self._waiting:
                    return False  # released while waiting
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def release(self, ticket: Ticket) -> None:
        with self._cond:
            self._admitted.discard(ticket.number)
            if ticket.number in self._waiting:
                self._waiting.remove(ticket.number)
            self._admit()

    @property
    def running(self) -> int:
        """Number of admitted (training) runs."""
        with self._cond:
            return len(self._admitted)

    @property
    def waiting(self) -> int:
        """Number of runs waiting for a slot."""
        with self._cond:
            return len(self._waiting)


_SHARED: RunQueue | None = None
_SHARED_LOCK = threading.Lock()


def shared_queue() -> RunQueue:
    """The one queue of this server process, shared by every session (created on first use)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = RunQueue()
        return _SHARED
