"""Backbone features: each photo run once through the frozen EfficientNet-Lite0, its 1280 pooled
activations kept (and cached on disk per image, so a second run is instant). A head trained on
them (:mod:`nnviz.photos.transfer`) never needs the backbone again.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnviz.files import atomic_write_bytes
from nnviz.images import NOT_READABLE, ImageReadError, open_image
from nnviz.photos import backbone

BACKBONE = "efficientnet-lite0"  # the cache folder's name and the head card's backbone name


class FeatureCache:
    """Backbone features per image on disk: ``<folder>/<sha256 of the file's bytes>.npy``, so the
    same photo uploaded again (under any name) is not run through the backbone twice.

    Default folder: ``$NNVIZ_DATA_DIR/features/efficientnet-lite0`` (``./data/…``).
    """

    def __init__(self, folder: str | Path | None = None):
        from nnviz.data import data_root

        self.folder = Path(folder) if folder is not None else data_root() / "features" / BACKBONE

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        try:
            v = np.load(self.path(key), allow_pickle=False)
        except (OSError, ValueError):
            return None
        return v if v.shape == (backbone.FEATURE_DIM,) and v.dtype == np.float32 else None

    def put(self, key: str, features: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(features, dtype=np.float32), allow_pickle=False)
        # Atomic, so a concurrent reader never sees half a file; not durable: a lost cache entry
        # is just recomputed.
        atomic_write_bytes(self.path(key), buffer.getvalue(), durable=False)


@torch.no_grad()
def backbone_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pooled penultimate features: ``(N, 3, 224, 224)`` float32 in [-1, 1] → ``(N, 1280)``
    float32, ≥ 0 (ReLU6 activations averaged over the 7 × 7 grid) — the classifier's input."""
    device = next(model.parameters()).device
    return model.forward_head(model.forward_features(x.to(device)), pre_logits=True).cpu()


@dataclass
class Features:
    """Features of a list of files: ``values`` ``(N, 1280)`` float32 (rows of unreadable files are
    zero), ``ok`` ``(N,)`` bool, ``errors`` ``{index: message}``, ``from_cache`` count, ``seconds``."""

    values: np.ndarray
    ok: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)
    from_cache: int = 0
    seconds: float = 0.0


def extract_features(paths: list[str | Path], model: nn.Module | None = None, cache: FeatureCache | None = None,
                     batch_size: int = 8, on_progress: Callable[[int, int], None] | None = None,
                     names: list[str] | None = None) -> Features:
    """Run each image once through the frozen backbone (:func:`backbone_features`).

    Args:
        paths: image files.
        model: the network from :func:`nnviz.photos.backbone.load_efficientnet_lite0` (default: loaded).
        cache: where to look up and store features (None: no cache).
        batch_size: images per forward pass; 8 was fastest on a 2-core CPU (larger batches
            spill the caches: 32 ran at about 0.7× the speed).
        on_progress: called as ``on_progress(done, total)`` after each batch.
        names: how to call each file in error messages (default: the path).

    Returns:
        :class:`Features`. A file that is not a usable image (see :func:`nnviz.images.open_image`
        and :func:`nnviz.photos.backbone.preprocess`) gets a message in ``errors`` and the others go on.
    """
    model = model if model is not None else backbone.load_efficientnet_lite0()
    n = len(paths)
    out = Features(np.zeros((n, backbone.FEATURE_DIM), np.float32), np.zeros(n, bool))
    start = time.perf_counter()
    pending: list[tuple[int, str | None, torch.Tensor]] = []

    def flush():
        if pending:
            feats = backbone_features(model, torch.stack([t for _, _, t in pending])).numpy()
            for (i, key, _), f in zip(pending, feats):
                out.values[i], out.ok[i] = f, True
                if cache is not None and key is not None:
                    cache.put(key, f)
            pending.clear()

    for i, path in enumerate(paths):
        label = names[i] if names else str(path)
        try:
            data = Path(path).read_bytes()
        except OSError:
            out.errors[i] = f"{label}: {NOT_READABLE}"
            continue
        key = hashlib.sha256(data).hexdigest() if cache is not None else None
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            out.values[i], out.ok[i] = cached, True
            out.from_cache += 1
        else:
            try:
                pending.append((i, key, backbone.preprocess(open_image(data, label), label)))
            except ImageReadError as exc:
                out.errors[i] = str(exc)
        if len(pending) >= batch_size:
            flush()
            if on_progress:
                on_progress(i + 1, n)
        elif on_progress and (i + 1) % batch_size == 0:
            on_progress(i + 1, n)
    flush()
    if on_progress:
        on_progress(n, n)
    out.seconds = time.perf_counter() - start
    return out
