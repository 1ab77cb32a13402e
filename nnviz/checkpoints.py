"""Checkpoints: weights as safetensors plus a JSON model card, saved atomically, checked on load.

A checkpoint named ``digits-cnn`` is two files, ``digits-cnn.safetensors`` and
``digits-cnn.json``. The card says how to rebuild the network (``architecture``), what it was
trained on and how well it does; loading rebuilds the network from the card and refuses weights
whose names or shapes disagree with it. Safetensors holds only tensors, so loading never
unpickles arbitrary objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import torch
from safetensors.torch import load, save
from torch import nn

from nnviz.files import atomic_write_bytes
from nnviz.models import build_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TRAINED_DIR = PROJECT_ROOT / "trained"
CARD_VERSION = 1
# A saved model's name becomes its file name: letters, digits, "-", "_" and ".", at most 64.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or disagrees with its model card."""


def user_models_dir() -> Path:
    """Where models trained in the app are saved: ``$NNVIZ_USER_MODELS``, else ``./user_models``.
    Never ``trained/``: the shipped checkpoints are not overwritten."""
    return Path(os.environ.get("NNVIZ_USER_MODELS") or "user_models").expanduser().resolve()


def tensor_shapes(model: nn.Module) -> dict[str, list[int]]:
    """``{parameter or buffer name: shape}`` of ``model``'s state dict."""
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def save_checkpoint(model: nn.Module, card: dict, path: str | Path) -> Path:
    """Save ``model``'s weights and ``card`` as ``<path>.safetensors`` and ``<path>.json``.

    The card is completed with ``tensors`` (name → shape), ``weights_sha256`` and
    ``card_version``; it must already hold ``architecture`` (see :func:`nnviz.models.build_model`).
    Both files are written atomically; the weights first, so a card never points at weights
    that are not there yet.

    Returns the path of the card. Raises ValueError if the card has no ``architecture``.
    """
    if "architecture" not in card:
        raise ValueError("a model card needs an 'architecture' entry to rebuild the model")
    stem = Path(path).with_suffix("") if Path(path).suffix in (".json", ".safetensors") else Path(path)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights = save(state, metadata={"format": "pt"})
    card = {**card, "card_version": CARD_VERSION, "tensors": {k: list(v.shape) for k, v in state.items()},
            "weights_sha256": hashlib.sha256(weights).hexdigest(), "name": stem.name}
    atomic_write_bytes(stem.with_suffix(".safetensors"), weights)
    atomic_write_bytes(stem.with_suffix(".json"), (json.dumps(card, indent=2) + "\n").encode())
    return stem.with_suffix(".json")


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """The card path for a shipped name (``digits-cnn``), a user model's name, or a path.

    Raises:
        CheckpointError: nothing of that name exists; the message lists what does.
    """
    p = Path(name_or_path)
    candidates = [p, p.with_suffix(".json")] if p.suffix in ("", ".json", ".safetensors") else [p]
    candidates = [c.with_suffix(".json") for c in candidates]
    if p.parent == Path("."):
        candidates += [TRAINED_DIR / f"{p.stem}.json", user_models_dir() / f"{p.stem}.json"]
    for c in candidates:
        if c.is_file():
            return c
    known = ", ".join(sorted(card["name"] for card in list_cards())) or "none"
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


def load_checkpoint(name_or_path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild a model from its card and load its weights, in eval mode on ``device``.

    Returns ``(model, card)``.

    Raises:
        CheckpointError: missing files, a weights file that is not safetensors, a checksum that
            disagrees with the card, or tensor names/shapes that disagree with the architecture.
    """
    card_path = resolve_checkpoint(name_or_path)
    card = read_card(card_path)
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


def list_cards(include_user: bool = True) -> list[dict]:
    """Cards of the shipped checkpoints (``trained/``) and, if asked, the user's saved models.
    Each card gets ``source``: ``"shipped"`` or ``"user"``. Unreadable cards are skipped."""
    cards = []
    folders = [(TRAINED_DIR, "shipped")] + ([(user_models_dir(), "user")] if include_user else [])
    for folder, source in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                cards.append({**read_card(path), "source": source})
            except CheckpointError:
                continue
    return cards


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


def save_user_model(model: nn.Module, card: dict, name: str) -> Path:
    """Save a model the user trained under ``name`` in :func:`user_models_dir` (never over a
    shipped checkpoint or another saved model); returns the card's path.

    Raises:
        ValueError: the name is not a valid file name or is taken (the message says which).
    """
    problem = check_model_name(name, taken_model_names())
    if problem:
        raise ValueError(problem)
    return save_checkpoint(model, card, user_models_dir() / name)
