"""Checkpoints: weights as safetensors plus a JSON model card, saved atomically, checked on load.

A checkpoint named ``digits-cnn`` is two files, ``digits-cnn.safetensors`` and
``digits-cnn.json``. The card says how to rebuild the network (``architecture``), what it was
trained on and how well it does; loading rebuilds the network from the card and refuses weights
whose names or shapes disagree with it. Safetensors holds only tensors, so loading never
unpickles arbitrary objects.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from collections.abc import Collection
from pathlib import Path

import torch
from safetensors.torch import load, save
from torch import nn

from nnviz.files import atomic_write_files
from nnviz.models import build_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TRAINED_DIR = PROJECT_ROOT / "trained"
CARD_VERSION = 1
# A saved model's name becomes its file name: letters, digits, "-", "_" and ".", at most 64.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Datasets of 1×28×28 grey images, the input the digit commands and pages preprocess a drawing to.
DIGIT_DATASETS = ("mnist", "fashion-mnist")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or disagrees with its model card."""


def user_models_dir() -> Path:
    """Where models trained in the app are saved: ``$NNVIZ_USER_MODELS``, else ``./user_models``.
    Never ``trained/``: the shipped checkpoints are not overwritten."""
    return Path(os.environ.get("NNVIZ_USER_MODELS") or "user_models").expanduser().resolve()


def tensor_shapes(model: nn.Module) -> dict[str, list[int]]:
    """``{parameter or buffer name: shape}`` of ``model``'s state dict."""
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def save_checkpoint(model: nn.Module, card: dict, path: str | Path, exclusive: bool = False) -> Path:
    """Save ``model``'s weights and ``card`` as ``<path>.safetensors`` and ``<path>.json``.

    The card is completed with ``tensors`` (name → shape), ``weights_sha256`` and
    ``card_version``; it must already hold ``architecture`` (see :func:`nnviz.models.build_model`).
    Both files are written in full first, then put in place, the weights first, so a card never
    points at weights that are not there yet (:func:`nnviz.files.atomic_write_files`): a failed
    write changes nothing. ``exclusive=True`` never replaces an existing checkpoint of that name.

    Returns the path of the card.

    Raises:
        ValueError: the card has no ``architecture``.
        FileExistsError: ``exclusive`` and a checkpoint of that name exists (left untouched).
        OSError: a file could not be written (e.g. a full disk); an existing checkpoint is left as it was.
    """
    if "architecture" not in card:
        raise ValueError("a model card needs an 'architecture' entry to rebuild the model")
    stem = Path(path).with_suffix("") if Path(path).suffix in (".json", ".safetensors") else Path(path)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights = save(state, metadata={"format": "pt"})
    card = {**card, "card_version": CARD_VERSION, "tensors": {k: list(v.shape) for k, v in state.items()},
            "weights_sha256": hashlib.sha256(weights).hexdigest(), "name": stem.name}
    weights_path, card_path = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    if exclusive and card_path.exists():
        raise FileExistsError(errno.EEXIST, "a checkpoint of this name exists", str(card_path))
    # Both written in full before either is put in place: a full disk never leaves new weights
    # beside an old card (which would fail its checksum).
    atomic_write_files({weights_path: weights, card_path: (json.dumps(card, indent=2) + "\n").encode()},
                       exclusive=exclusive)
    return card_path


def resolve_checkpoint(name_or_path: str | Path, datasets: Collection[str] | None = None) -> Path:
    """The card path for a shipped name (``digits-cnn``), a user model's name, or a path.

    Raises:
        CheckpointError: nothing of that name exists; the message lists what does (only the
            checkpoints trained on ``datasets`` when given).
    """
    p = Path(name_or_path)
    candidates = [p, p.with_suffix(".json")] if p.suffix in ("", ".json", ".safetensors") else [p]
    candidates = [c.with_suffix(".json") for c in candidates]
    if p.parent == Path("."):
        candidates += [TRAINED_DIR / f"{p.stem}.json", user_models_dir() / f"{p.stem}.json"]
    for c in candidates:
        if c.is_file():
            return c
    known = ", ".join(sorted(card["name"] for card in list_cards()
                             if datasets is None or card.get("dataset") in datasets)) or "none"
    raise CheckpointError(f"no checkpoint called {str(name_or_path)!r}; available: {known}")


def read_card(card_path: Path) -> dict:
    """Parse a model card. Raises CheckpointError if it is not a JSON object with an architecture."""
    try:
        card = json.loads(Path(card_path).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read model card {card_path}: {exc}") from exc
    if not isinstance(card, dict) or "architecture" not in card:
        raise CheckpointError(f"{card_path} is not a model card: it has no 'architecture'")
    card.setdefault("name", Path(card_path).stem)
    return card


def load_checkpoint(name_or_path: str | Path, device: str | torch.device = "cpu",
                    datasets: Collection[str] | None = None) -> tuple[nn.Module, dict]:
    """Rebuild a model from its card and load its weights, in eval mode on ``device``.

    ``datasets``: the training datasets the caller can use (e.g. :data:`DIGIT_DATASETS`); a
    checkpoint trained on another (a photo head given to a digit command) is refused.

    Returns ``(model, card)``.

    Raises:
        CheckpointError: missing files, a weights file that is not safetensors, a checksum that
            disagrees with the card, tensor names/shapes that disagree with the architecture, or
            a dataset not among ``datasets``.
    """
    card_path = resolve_checkpoint(name_or_path, datasets)
    card = read_card(card_path)
    if datasets is not None and card.get("dataset") not in datasets:
        usable = ", ".join(sorted(c["name"] for c in list_cards() if c.get("dataset") in datasets)) or "none"
        raise CheckpointError(f"{card['name']!r} was trained on {card.get('dataset') or 'unknown data'!r}, so it "
                              f"cannot answer this (it needs a network trained on {' or '.join(datasets)}); "
                              f"these can: {usable}")
    weights_path = card_path.with_suffix(".safetensors")
    if not weights_path.is_file():
        raise CheckpointError(f"model card {card_path.name} has no weights file {weights_path.name}")
    blob = weights_path.read_bytes()
    expected_sha = card.get("weights_sha256")
    if expected_sha and hashlib.sha256(blob).hexdigest() != expected_sha:
        raise CheckpointError(f"{weights_path.name} does not match its model card (checksum differs): "
                              "the weights were replaced or damaged")
    try:
        state = load(blob)
    except Exception as exc:  # safetensors raises its own error types for a corrupt header
        raise CheckpointError(f"{weights_path.name} is not a readable safetensors file: {exc}") from exc
    try:
        model = build_model(card["architecture"])
    except ValueError as exc:
        raise CheckpointError(f"model card {card_path.name}: {exc}") from exc
    check_state(model, state, card, card_path.name)
    model.load_state_dict(state)
    return model.to(device).eval(), card


def check_state(model: nn.Module, state: dict[str, torch.Tensor], card: dict, label: str) -> None:
    """Raise CheckpointError unless ``state`` has exactly ``model``'s tensor names and shapes,
    and those equal the card's ``tensors`` table when it has one."""
    expected = tensor_shapes(model)
    got = {k: list(v.shape) for k, v in state.items()}
    missing, unexpected = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{label}: weights do not fit the architecture in the card "
                              f"(missing {missing or 'none'}, unexpected {unexpected or 'none'})")
    wrong = [f"{k}: weights {got[k]} vs architecture {expected[k]}" for k in expected if got[k] != expected[k]]
    if wrong:
        raise CheckpointError(f"{label}: tensor shapes disagree with the card's architecture: " + "; ".join(wrong))
    listed = card.get("tensors")
    if listed is not None and {k: list(v) for k, v in listed.items()} != got:
        raise CheckpointError(f"{label}: the card's tensor table does not match the weights file")


def list_cards(include_user: bool = True, problems: list[str] | None = None) -> list[dict]:
    """Cards of the shipped checkpoints (``trained/``) and, if asked, the user's saved models.
    Each card gets ``source``: ``"shipped"`` or ``"user"`` and ``path`` (the card's path).
    Unreadable cards are skipped; with ``problems``, why each was skipped (naming its file) is
    appended there. The weights are not read here: see :func:`checkpoint_problem`."""
    cards = []
    folders = [(TRAINED_DIR, "shipped")] + ([(user_models_dir(), "user")] if include_user else [])
    for folder, source in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                cards.append({**read_card(path), "source": source, "path": str(path)})
            except CheckpointError as exc:
                if problems is not None:
                    problems.append(str(exc))
    return cards


_checked: dict[tuple, str | None] = {}


def checkpoint_problem(card_path: str | Path) -> str | None:
    """Why the checkpoint of this card cannot be loaded (a plain sentence naming its file), or None
    if it loads: a truncated or corrupt weights file, a missing one, or weights that disagree with
    the card. Remembered per file size and modification time, so a model list can ask at every
    rerun and read each file once.
    """
    card_path = Path(card_path)
    weights = card_path.with_suffix(".safetensors")
    try:
        key = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (card_path, weights)) + (str(card_path),)
    except OSError:
        key = (str(card_path), None)
    if key not in _checked:
        try:
            load_checkpoint(card_path)
            _checked[key] = None
        except CheckpointError as exc:
            _checked[key] = f"The saved model {card_path.stem!r} cannot be used and is left out: {exc}"
    return _checked[key]


def taken_model_names() -> set[str]:
    """Names that a newly saved model may not use: the shipped checkpoints' and the user models'."""
    names = {c["name"] for c in list_cards()}
    return names | ({p.stem for p in TRAINED_DIR.glob("*.json")} if TRAINED_DIR.is_dir() else set())


def check_model_name(name: str, taken: set[str]) -> str | None:
    """Why ``name`` cannot be used to save a model (None if it can): 1–64 letters, digits, ``-``,
    ``_`` and ``.``, starting with a letter or digit, and not a name already in ``taken``."""
    if not NAME_PATTERN.match(name or ""):
        return ("Use 1–64 letters, digits, '-', '_' or '.', starting with a letter or digit "
                "(the name becomes a file name).")
    if name in taken:
        return f"A model called {name!r} already exists; choose another name."
    return None


def output_problem(out: str | Path, overwrite: bool = False) -> str | None:
    """Why a command may not save a checkpoint at ``out`` (a path without suffix), or None if it
    may: the file name must be a valid model name (it becomes the card's ``name``, see
    :func:`check_model_name`), and an existing checkpoint there — a shipped one in ``trained/`` or
    a saved model — is replaced only when ``overwrite`` is asked for."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix in (".json", ".safetensors") else out
    if not NAME_PATTERN.match(stem.name):
        return (f"{stem.name!r} cannot name a checkpoint: use 1–64 letters, digits, '-', '_' or '.', starting with "
                "a letter or digit, as the last part of --out")
    if not overwrite and (stem.with_suffix(".json").exists() or stem.with_suffix(".safetensors").exists()):
        shipped = " (a shipped checkpoint)" if stem.resolve().parent == TRAINED_DIR else ""
        return (f"{stem.with_suffix('.json')} already exists{shipped}: choose another --out, or add --overwrite "
                "to replace it")
    return None


def save_user_model(model: nn.Module, card: dict, name: str) -> Path:
    """Save a model the user trained under ``name`` in :func:`user_models_dir` (never over a
    shipped checkpoint or another saved model); returns the card's path.

    Raises:
        ValueError: the name is not a valid file name or is taken, or the files could not be
            written (a full disk, a folder that cannot be written): the message says which in plain
            words, and no existing file was changed.
    """
    problem = check_model_name(name, taken_model_names())
    if problem:
        raise ValueError(problem)
    try:
        # Exclusive: another session (or server process) saving the same name at the same moment
        # gets "taken" instead of replacing that session's model.
        return save_checkpoint(model, card, user_models_dir() / name, exclusive=True)
    except FileExistsError:
        raise ValueError(f"A model called {name!r} already exists; choose another name.") from None
    except OSError as exc:
        raise ValueError(save_failure(exc)) from exc


def save_failure(exc: OSError) -> str:
    """A plain sentence for a save that failed with ``exc``: a full disk or quota, no permission, or
    another system error (its own words)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "The model could not be saved: the disk is full. Nothing was overwritten; ask your teacher to free space."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "The model could not be saved: the models folder cannot be written. Nothing was overwritten."
    return f"The model could not be saved ({exc.strerror or exc}). Nothing was overwritten."
