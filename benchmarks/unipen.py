"""Real pen-stroke digits (UNIPEN train_r01_v07, category 1a) replayed onto a Draw-page canvas.

Evaluation only: the data's licence is research use, so it is read from the local data folder
($NNVIZ_LOCAL_DATA, default ../shared/data) and never copied into the project, and no network is
trained or tuned on it. Reference: I. Guyon et al., "UNIPEN project of on-line data exchange and
recognizer benchmarks", ICPR 1994.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np

from nnviz.preprocess import DigitInput, digit_from_strokes

ROOT = Path(__file__).resolve().parent.parent
UNIPEN = Path(os.environ.get("NNVIZ_LOCAL_DATA", ROOT.parent / "shared" / "data")) / "unipen" / "unipen_1a_digits.jsonl.gz"


def load_unipen(limit: int | None = None, seed: int = 0) -> list[dict]:
    """Records ``{"label": int, "strokes": [[[x, y], ...], ...], ...}``, shuffled with ``seed``."""
    if not UNIPEN.is_file():
        raise FileNotFoundError(f"UNIPEN digits not found at {UNIPEN} (set NNVIZ_LOCAL_DATA)")
    with gzip.open(UNIPEN, "rt") as f:
        records = [json.loads(line) for line in f]
    order = np.random.default_rng(seed).permutation(len(records))
    records = [records[i] for i in order]
    return records[:limit] if limit else records


def to_canvas(strokes, size: int = 280, margin: int = 50) -> list[list[tuple[float, float]]]:
    """Scale a digit's strokes (tablet units, y down) into a ``size``-px canvas, keeping the aspect
    ratio and leaving ``margin`` px around the longer side, centred like a student would draw."""
    pts = np.concatenate([np.asarray(s, float) for s in strokes])
    lo, hi = pts.min(0), pts.max(0)
    scale = (size - 2 * margin) / max(float((hi - lo).max()), 1.0)
    offset = (size - (hi - lo) * scale) / 2
    return [[tuple(((np.asarray(p, float) - lo) * scale + offset).tolist()) for p in s] for s in strokes]


def to_small_canvas(strokes, rng: np.random.Generator, size: int = 280, side: float = 90,
                    margin: float = 15) -> list[list[tuple[float, float]]]:
    """Like :func:`to_canvas` but small and off-centre, as students also draw: the longer side
    ``side`` px (a third of the canvas), pushed into a random corner ``margin`` px from its edges."""
    pts = np.concatenate([np.asarray(s, float) for s in strokes])
    lo, hi = pts.min(0), pts.max(0)
    scale = side / max(float((hi - lo).max()), 1.0)
    extent = (hi - lo) * scale
    corner = rng.integers(0, 2, 2)  # (x, y): 0 = left/top, 1 = right/bottom
    offset = np.where(corner == 0, margin, size - margin - extent)
    return [[tuple(((np.asarray(p, float) - lo) * scale + offset).tolist()) for p in s] for s in strokes]


def network_input(canvas_strokes, size: int = 280) -> DigitInput:
    """What the Draw page gives the network for these strokes (:func:`nnviz.preprocess.digit_from_strokes`).

    Raises:
        nnviz.preprocess.BlankDrawing: as the page would say.
    """
    return digit_from_strokes(canvas_strokes, size)
