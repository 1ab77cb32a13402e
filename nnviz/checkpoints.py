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
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load, save
from torch import nn

from nnviz.models import build_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TRAINED_DIR = PROJECT_ROOT / "trained"
CARD_VERSION = 1
# The process's umask, read once here: reading it means setting it, and setting it while other
# threads create files (sessions, training workers) would give their files the wrong mode.
_UMASK = os.umask(0)
os.umask(_UMASK)


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or disagrees with its model card."""


def user_models_dir() -> Path:
    """Where models trained in the app are saved: ``$NNVIZ_USER_MODELS``, else ``./user_models``.
    Never ``trained/``: the shipped checkpoints are not overwritten."""
    return Path(os.environ.get("NNVIZ_USER_MODELS") or "user_models").expanduser().resolve()


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part:
    write a temporary file in the same folder, flush it to disk, then rename it over ``path``.
    ``durable=False`` skips the flush to disk, for caches whose lost entries are just recomputed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it owner-only; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
