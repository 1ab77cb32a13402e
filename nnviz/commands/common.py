"""What the training commands share: refusing bad settings before any work, and printing progress."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from nnviz.checkpoints import output_problem
from nnviz.events import BatchEnd, EpochEnd


def refused(out: str | Path, overwrite: bool, *checks: Callable[[], None]) -> bool:
    """Whether a training command must stop before any work: ``out`` cannot take the new
    checkpoint (:func:`nnviz.checkpoints.output_problem`) or one of ``checks`` (e.g. a config's
    ``validate``) raises ValueError. The first problem is printed as an error, to stderr."""
    problem = output_problem(out, overwrite)
    for check in checks:
        if problem:
            break
        try:
            check()
        except ValueError as exc:
            problem = str(exc)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
    return problem is not None


def progress_printer(every: int = 100):
    """A training event handler that prints each epoch's figures and every ``every``-th batch's loss."""
    def report(event) -> None:
        if isinstance(event, EpochEnd):
            print(f"epoch {event.epoch}: train loss {event.train_loss:.4f} acc {event.train_accuracy:.4f} | "
                  f"test loss {event.test_loss:.4f} acc {event.test_accuracy:.4f} | {event.elapsed_s:.1f} s", flush=True)
        elif isinstance(event, BatchEnd) and event.step % every == 0:
            print(f"  step {event.step}/{event.total_steps} loss {event.loss:.4f} "
                  f"{event.samples_per_s:.0f} samples/s", flush=True)
    return report
