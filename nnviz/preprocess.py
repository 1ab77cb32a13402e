"""Turning a drawing or photo of a digit into what an MNIST network was trained on.

The recipe is the MNIST database's own (LeCun, Cortes & Burges, "The MNIST database of
handwritten digits"): grey-scale with ink as high values; the digit's bounding box scaled so its
longer side is 20 px, keeping the aspect ratio, with anti-aliasing; then placed in a 28×28 field
so that its centre of mass is at the field's centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from nnviz.data import dataset_info

FIELD = 28  # MNIST image side, pixels
BOX = 20  # the digit's longer side after scaling, pixels
# Ink above this fraction of full strength counts for the bounding box and blank test.
INK_THRESHOLD = 0.2
# A drawing with less ink than this fraction of the canvas is "almost blank": a stray dot or
# a click, not a digit (a thin "1" on a 280×280 canvas with 18 px strokes covers ~4 %).
MIN_INK_FRACTION = 0.004
# Width (px of the 28×28 field) that drawn strokes are given for the network: a pen stroke of
# MNIST's typical width. Measured on MNIST training digits as ink / skeleton length, median 2.8 px
# (p10 2.0, p90 4.2); the fixed 18 px brush gave 2.2 px for a large drawing and 4.3 px for a small
# one. Between 2.3 and 2.8, 2.8 read held-out canvas renderings of MNIST-train digits best
# (benchmarks/canvas_renderings.py).
MNIST_STROKE = 2.8


class BlankDrawing(ValueError):
    """The image holds no digit (blank or almost blank)."""

    def __init__(self, message: str = "Draw a digit: the canvas is empty or almost empty."):
        super().__init__(message)


@dataclass
class DigitInput:
    """A preprocessed digit: ``image`` ``(28, 28)`` float32 in [0, 1], ink high, centred."""

    image: np.ndarray

    def tensor(self, mean: float | None = None, std: float | None = None) -> torch.Tensor:
        """Normalised network input ``(1, 1, 28, 28)`` float32: ``(pixel - mean) / std``; by
        default MNIST's training-set mean and std (:data:`nnviz.data.DATASETS`)."""
        mnist = dataset_info("mnist")
        mean = mnist.mean[0] if mean is None else mean
        std = mnist.std[0] if std is None else std
        return torch.from_numpy((self.image - mean) / std).to(torch.float32).view(1, 1, FIELD, FIELD)


def to_ink(image: np.ndarray | Image.Image) -> np.ndarray:
    """Grey-scale ink map ``(H, W)`` float32 in [0, 1], ink high and background 0.

    Accepts ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` arrays (uint8 0–255 or float 0–1) or a PIL
    image. With a transparent background (RGBA whose alpha varies) the ink is the alpha channel.
    Otherwise the background is the border's median grey level, so white-on-black and
    black-on-white both work: ink is the distance from the background, rescaled to [0, 1].

    Raises:
        ValueError: not a 2-D or 3-D image array, or an empty one.
    """
    a = np.asarray(image)
    if a.ndim not in (2, 3) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {a.shape}")
    a = a.astype(np.float32) / (255.0 if a.dtype == np.uint8 or a.max() > 1.0 else 1.0)
    if a.ndim == 3 and a.shape[2] == 4:
        alpha = a[..., 3]
        if alpha.min() < 0.99:  # drawn on a transparent background: alpha is the ink
            grey = a[..., :3].mean(axis=2)
            # Strokes of any colour on transparency count as ink by their opacity; fully
            # transparent pixels have undefined colour, so colour is ignored here.
            return np.clip(alpha * np.where(alpha > 0, 1.0, grey), 0.0, 1.0)
        a = a[..., :3]
    grey = a if a.ndim == 2 else a[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if background > 0.5:  # dark ink on light paper
        ink = (background - grey) / max(background, 1e-6)
    else:
        ink = (grey - background) / max(1.0 - background, 1e-6)
    return np.clip(ink, 0.0, 1.0).astype(np.float32)


def is_blank(ink: np.ndarray) -> bool:
    """True when ``ink`` (from :func:`to_ink`) has less than ``MIN_INK_FRACTION`` of its pixels inked."""
    return float((ink > INK_THRESHOLD).mean()) < MIN_INK_FRACTION


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted centre ``(row, col)`` of a 2-D array, in pixel-index coordinates."""
    total = float(image.sum())
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def mnist_style(image: np.ndarray | Image.Image) -> DigitInput:
    """Preprocess a drawing or photo of one digit the way MNIST digits were made.

    Any size and polarity (see :func:`to_ink`). Steps: ink map → crop to the ink's bounding box →
    resize so the longer side is 20 px, aspect kept (Lanczos, anti-aliased) → translate into
    28×28 with sub-pixel accuracy (:func:`place_at`) so the centre of mass is at (13.5, 13.5),
    the field's centre.

    Returns:
        :class:`DigitInput` with a ``(28, 28)`` float32 image in [0, 1].

    Raises:
        BlankDrawing: no digit (see :func:`is_blank`).
        ValueError: not an image array.
    """
    ink = to_ink(image)
    if is_blank(ink):
        raise BlankDrawing()
    return DigitInput(mnist_field(ink))


def mnist_field(ink: np.ndarray) -> np.ndarray:
    """The MNIST recipe on an ink map ``(H, W)`` float32 in [0, 1] with some ink above
    ``INK_THRESHOLD``: crop, longer side to 20 px, centre of mass to the centre. ``(28, 28)`` float32."""
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL sizes are (width, height)
    box = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.LANCZOS), np.float32)
    box = np.clip(box, 0.0, 1.0)  # Lanczos overshoots a little at edges
    cy, cx = center_of_mass(box)
    centre = (FIELD - 1) / 2
    return place_at(box, centre - cy, centre - cx)


def place_at(box: np.ndarray, top: float, left: float) -> np.ndarray:
    """Paste ``box`` ``(h, w)`` into a zero ``(28, 28)`` field with its top-left corner at the
    fractional position ``(top, left)``, spreading each pixel bilinearly over its four
    neighbours. This moves the centre of mass by exactly ``(top, left)`` and keeps the total ink
    (PIL's affine transform rounds a pure translation to whole pixels). Ink falling outside the
    field is cut off, as in MNIST.
    """
    h, w = box.shape
    iy, ix = int(np.floor(top)), int(np.floor(left))
    fy, fx = top - iy, left - ix
    spread = np.zeros((h + 1, w + 1), np.float32)
    spread[:h, :w] += (1 - fy) * (1 - fx) * box
    spread[1:, :w] += fy * (1 - fx) * box
    spread[:h, 1:] += (1 - fy) * fx * box
    spread[1:, 1:] += fy * fx * box
    field = np.zeros((FIELD, FIELD), np.float32)
    y0, x0 = max(iy, 0), max(ix, 0)
    y1, x1 = min(iy + h + 1, FIELD), min(ix + w + 1, FIELD)
    if y1 > y0 and x1 > x0:
        field[y0:y1, x0:x1] = spread[y0 - iy:y1 - iy, x0 - ix:x1 - ix]
    return np.clip(field, 0.0, 1.0)


def render_strokes(strokes, size: int = 280, width: float = 18) -> np.ndarray:
    """Draw pen strokes white on black, as the Draw page's canvas shows them.

    Args:
        strokes: each stroke a flat ``[x0, y0, x1, y1, …]`` list or a list of ``(x, y)`` points,
            in pixels of a ``size``×``size`` canvas (y down).
        size: canvas side, pixels.
        width: brush diameter, pixels; strokes have round ends and joints, one point is a dot.

    Returns:
        ``(size, size, 4)`` uint8 RGBA, opaque.
    """
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    r = width / 2
    for stroke in strokes:
        pts = np.asarray(stroke, np.float64).reshape(-1, 2)
        xy = [tuple(p) for p in pts.tolist()]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=round(width), joint="curve")
        for x, y in (xy[0], xy[-1]):  # round caps
            draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    grey = np.asarray(img)
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def matched_pen(strokes, stroke: float = MNIST_STROKE) -> float:
    """Pen diameter (canvas px) that makes ``strokes`` ``stroke`` px wide once the drawing's longer
    side is scaled to 20 px: ``stroke × S / (20 − stroke)`` for centre lines spanning ``S`` px (the pen
    adds its own width to the box), at least 2 px. A small drawing gets a thin pen, a large one a
    broad pen, so every drawing reaches the network with MNIST's stroke width."""
    points = np.concatenate([np.asarray(s, np.float64).reshape(-1, 2) for s in strokes])
    span = float((points.max(0) - points.min(0)).max())
    return max(2.0, stroke * span / (BOX - stroke))


def digit_from_strokes(strokes, size: int = 280, brush: float = 18,
                       drawn: np.ndarray | None = None) -> DigitInput:
    """The network's input for pen strokes drawn on the Draw page's canvas.

    Blankness is judged on the strokes as the student sees them (``brush`` px wide, as
    :func:`mnist_style` judges an image); the network then gets them redrawn with
    :func:`matched_pen` and the MNIST recipe (:func:`mnist_field`). Without this, the canvas's fixed
    brush made a small drawing's strokes twice as thick as MNIST's.

    Args:
        strokes: as :func:`render_strokes`, in pixels of a ``size``×``size`` canvas.
        drawn: ``render_strokes(strokes, size, brush)`` when the caller already holds it (the Draw
            page keeps it for the session), so that it is not drawn a second time; else drawn here.

    Returns:
        :class:`DigitInput` with a ``(28, 28)`` float32 image in [0, 1].

    Raises:
        BlankDrawing: no strokes, or almost no ink as drawn.
    """
    if not strokes:
        raise BlankDrawing()
    if is_blank(to_ink(render_strokes(strokes, size, brush) if drawn is None else drawn)):
        raise BlankDrawing()
    return DigitInput(mnist_field(to_ink(render_strokes(strokes, size, matched_pen(strokes)))))
