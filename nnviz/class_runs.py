"""The class's board of training runs: students share runs under anonymous names, the teacher
shows them side by side, so that the class compares learning rates (or networks) together.

The board is a folder of small JSON files, one per shared run (``<share id>-<run number>.json``),
written atomically (:func:`nnviz.files.atomic_write_bytes`): several app processes behind a
proxy share it as they share the user models folder, and a reader never sees half a file. Its
place is ``$NNVIZ_CLASS_DIR``, else ``class_runs`` beside the user models folder
(:func:`class_dir`).

Nothing a student typed is written: a run is shared under a random animal name picked for the
session (:func:`anonymous_name`, "Otter 3"), with its settings, its smoothed loss curve and its
per-epoch test figures. A file that does not look exactly like one this module writes (a name
that is not an animal name, an unknown dataset, a number that is not a number) is left off the
board (:func:`read_run`), so a hand-made file cannot put text of its own on the teacher's screen.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from nnviz import data
from nnviz.events import EpochEnd
from nnviz.files import atomic_write_bytes
from nnviz.jobs.live_run import describe_run, overlay_labels
from nnviz.jobs.metrics import ACTIVE, ENDED
from nnviz.names import ACTIVATIONS, MODEL_KINDS, OPTIMIZERS, SCHEDULES

ANIMALS = ("Otter", "Badger", "Beaver", "Bison", "Camel", "Cheetah", "Crane", "Dolphin", "Eagle", "Falcon",
           "Ferret", "Flamingo", "Fox", "Gazelle", "Gecko", "Giraffe", "Hedgehog", "Heron", "Ibex", "Jaguar",
           "Koala", "Lemur", "Lynx", "Marten", "Meerkat", "Moose", "Narwhal", "Ocelot", "Orca", "Owl", "Panda",
           "Pelican", "Penguin", "Puffin", "Quokka", "Raccoon", "Salamander", "Seal", "Tapir", "Walrus", "Wombat",
           "Yak", "Zebra")
NAME = re.compile(r"^[A-Z][a-z]{1,15} [1-9][0-9]?$")  # "Otter 3": an animal and a number from 1 to 99
SHARE_ID = re.compile(r"^[0-9a-f]{16}$")
PUBLISH_EVERY_S = 2.0  # a training run's file is rewritten at most this often
MAX_AGE_S = 12 * 3600.0  # runs not updated for this long (an earlier lesson) are left off the board
MAX_FILES = 300  # the most recently updated files read for the board
MAX_POINTS = 400  # points of a run's loss curve kept in its file (ample for a chart's width)


def class_dir() -> Path:
    """The board's folder: ``$NNVIZ_CLASS_DIR``, else ``class_runs`` beside the user models folder
    (``$NNVIZ_USER_MODELS``, default ``./user_models``), so that app processes sharing one
    share the other. Not created until a run is shared."""
    from nnviz.checkpoints import user_models_dir

    return Path(os.environ.get("NNVIZ_CLASS_DIR") or user_models_dir().parent / "class_runs").expanduser().resolve()


def anonymous_name(rng: random.Random | None = None) -> str:
    """A random animal and a number from 1 to 99 (``"Otter 3"``): 4,257 names, picked once per
    session; the name says nothing about the student."""
    rng = rng or random.SystemRandom()
    return f"{rng.choice(ANIMALS)} {rng.randint(1, 99)}"


def new_share_id() -> str:
    """A random 16-hex-digit id for one session's shared runs (their file names)."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class SharedRun:
    """One run on the board; it has what :func:`nnviz.figures.training_curves.comparison_figure`
    and :func:`nnviz.jobs.live_run.overlay_labels` read from a run.

    Attributes:
        name: the session's anonymous name (``"Otter 3"``); ``share_id`` its file-name id.
        number: the run's number in its session (1, 2, …).
        dataset, architecture, config: the run's settings (``config`` is ``TrainConfig.to_dict()``).
        status: ``queued``, ``running``, ``paused``, ``finished``, ``stopped``, ``diverged`` or ``failed``.
        steps, smoothed: batch steps and the smoothed training loss (nats), thinned to at most
            :data:`MAX_POINTS`; ``steps_per_epoch`` turns steps into epochs.
        epochs: the :class:`EpochEnd` of each finished epoch.
        updated: when the file was written (seconds since the epoch).
    """

    name: str
    share_id: str
    number: int
    dataset: str
    architecture: dict
    config: dict
    status: str
    steps: tuple[int, ...]
    smoothed: tuple[float, ...]
    steps_per_epoch: int
    epochs: tuple[EpochEnd, ...]
    updated: float

    @property
    def label(self) -> str:
        return describe_run(self.architecture, self.dataset, self.config)

    @property
    def test_accuracy(self) -> float | None:
        return self.epochs[-1].test_accuracy if self.epochs else None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def _thin(steps, smoothed, limit: int = MAX_POINTS) -> tuple[list[int], list[float]]:
    n = len(steps)
    keep = range(n) if n <= limit else sorted(set(range(0, n, math.ceil(n / limit))) | {n - 1})
    return [int(steps[i]) for i in keep], [float(smoothed[i]) for i in keep]


def publish(folder: str | Path, share_id: str, name: str, number: int, dataset: str, architecture: dict,
            config: dict, status: str, steps, smoothed, steps_per_epoch: int, epochs, now: float | None = None) -> Path:
    """Write (or rewrite) one run's file on the board; returns its path.

    ``steps``/``smoothed`` are the run's batch steps and smoothed loss (any length; thinned to
    :data:`MAX_POINTS`), ``epochs`` its :class:`EpochEnd` records. Non-finite losses (a run that
    blew up) are written as null, which JSON can hold.

    Raises:
        ValueError: ``share_id`` or ``name`` is not one this module makes (they become a file name
            and text on the teacher's screen).
        OSError: the folder cannot be written (e.g. a full disk); the previous file stays whole.
    """
    if not SHARE_ID.match(share_id) or not NAME.match(name):
        raise ValueError("A shared run needs an id from new_share_id() and a name from anonymous_name().")
    steps, smoothed = _thin(steps, smoothed)
    record = {"version": 1, "name": name, "share_id": share_id, "number": int(number), "dataset": dataset,
              "architecture": architecture, "config": config, "status": status, "steps": steps,
              "smoothed": [v if math.isfinite(v) else None for v in smoothed],
              "steps_per_epoch": int(steps_per_epoch),
              "epochs": [{"epoch": e.epoch, "train_loss": e.train_loss, "train_accuracy": e.train_accuracy,
                          "test_loss": e.test_loss, "test_accuracy": e.test_accuracy, "elapsed_s": e.elapsed_s}
                         for e in epochs],
              "updated": time.time() if now is None else now}
    path = Path(folder) / f"{share_id}-{int(number)}.json"
    atomic_write_bytes(path, json.dumps(record, allow_nan=False).encode(), durable=False)
    return path


def _number(value, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(value)
    return float(value)


def _integer(value, low: int = 0, high: int = 10**9) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(value)
    return value


def _architecture(arch) -> dict:
    kind = arch["kind"]
    if kind not in MODEL_KINDS:
        raise ValueError(kind)
    clean = {**arch}
    if kind == "cnn":
        clean["channels"] = [_integer(c, 1, 4096) for c in arch["channels"]][:2]
        if len(clean["channels"]) != 2:
            raise ValueError(arch["channels"])
    else:
        clean["hidden"] = [_integer(w, 1, 1 << 16) for w in arch.get("hidden", [])]
        if arch.get("activation", "relu") not in ACTIVATIONS:
            raise ValueError(arch.get("activation"))
    return clean


def _config(config) -> dict:
    clean = {**config}
    if config["optimizer"] not in OPTIMIZERS or config.get("schedule", "constant") not in SCHEDULES:
        raise ValueError(config["optimizer"])
    clean["learning_rate"] = _number(config["learning_rate"], 0, 100)
    for key in ("batch_size", "epochs", "seed"):
        clean[key] = _integer(config[key], 0, 2**31)
    if config.get("train_size") is not None:
        clean["train_size"] = _integer(config["train_size"], 1, 10**8)
    return clean


def read_run(path: str | Path) -> SharedRun | None:
    """The run in ``path``, or None when it is unreadable or not exactly what :func:`publish`
    writes (wrong types, a name that is not an animal name, an unknown dataset or setting)."""
    try:
        raw = json.loads(Path(path).read_text())
        if not NAME.match(raw["name"]) or not SHARE_ID.match(raw["share_id"]):
            return None
        if raw["dataset"] not in data.DATASETS or raw["status"] not in ACTIVE + ENDED:
            return None
        steps = [_integer(s) for s in raw["steps"]]
        smoothed = [math.nan if v is None else _number(v) for v in raw["smoothed"]]
        if len(steps) != len(smoothed):
            return None
        epochs = tuple(EpochEnd(_integer(e["epoch"], 1), *(_number(e[k]) for k in (
            "train_loss", "train_accuracy", "test_loss")), _number(e["test_accuracy"], 0, 1),
            _number(e["elapsed_s"], 0)) for e in raw["epochs"])
        return SharedRun(raw["name"], raw["share_id"], _integer(raw["number"], 1), raw["dataset"],
                         _architecture(raw["architecture"]), _config(raw["config"]), raw["status"], tuple(steps),
                         tuple(smoothed), _integer(raw["steps_per_epoch"], 1), epochs, _number(raw["updated"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def board(folder: str | Path, now: float | None = None, max_age_s: float = MAX_AGE_S) -> list[SharedRun]:
    """The runs on the board, by name then run number: the :data:`MAX_FILES` most recently
    written files, without those not updated for ``max_age_s`` seconds and those
    :func:`read_run` refuses. An absent folder is an empty board."""
    folder = Path(folder)
    now = time.time() if now is None else now
    try:
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:MAX_FILES]
    except OSError:  # the folder, or a file being replaced, vanished while listing
        return []
    runs = [run for run in map(read_run, files) if run is not None and now - run.updated <= max_age_s]
    return sorted(runs, key=lambda r: (r.name, r.number))


def withdraw(folder: str | Path, share_id: str) -> int:
    """Take one session's runs off the board (it stopped sharing); returns how many files went."""
    if not SHARE_ID.match(share_id):
        return 0
    removed = 0
    for path in Path(folder).glob(f"{share_id}-*.json"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def clear(folder: str | Path) -> int:
    """Empty the board (the teacher starts a new comparison); returns how many runs went."""
    removed = 0
    for path in Path(folder).glob("*.json"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def board_labels(runs: list[SharedRun]) -> list[str]:
    """A legend label per run: its anonymous name, its number and the settings that differ between
    the runs shown (``"Otter 3 #2 · lr 0.1"``; :func:`nnviz.jobs.live_run.overlay_labels`)."""
    return [f"{run.name} {label}" for run, label in zip(runs, overlay_labels(runs))]


def board_rows(runs: list[SharedRun]) -> list[dict]:
    """One table row per run: who (anonymous), what differs, its last test accuracy, how far it
    got, and its whole network and recipe (last: the longest, and the least needed on a narrow screen)."""
    rows = []
    for run, label in zip(runs, overlay_labels(runs)):
        acc = run.test_accuracy
        rows.append({"run by": run.name, "run": f"#{run.number}", "what differs": label.split(" · ", 1)[1],
                     "test accuracy": f"{acc:.2%}" if acc is not None else "—",
                     "epochs": f"{len(run.epochs)} / {run.config['epochs']}", "status": run.status,
                     "network and recipe": run.label})
    return rows
