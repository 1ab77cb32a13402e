"""MNIST digits drawn again on the Draw page's canvas: the held-out stand-in for students'
drawings, used to choose the shipped CNN's recipe (real handwriting, UNIPEN, is evaluation only).

A digit's skeleton (scikit-image's ``skeletonize`` of the 28×28 image upsampled 4×, ink above 0.4)
is replayed as pen positions on a 280×280 canvas, large and centred (180 px) or small (90 px) in a
random corner, then preprocessed as the Draw page does (:func:`nnviz.preprocess.digit_from_strokes`,
or with ``brush`` the page's former fixed 18 px brush and :func:`nnviz.preprocess.mnist_style`).
So the strokes have a pen's even width, while the shapes are MNIST writers'. Two ways of writing
that MNIST lacks are drawn the same way: a zero with a slash stroke through it (Ø), and a one with
a flag stroke from the top of its stem (the "continental" one).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage.morphology import skeletonize

from nnviz.preprocess import digit_from_strokes, mnist_style, render_strokes
from unipen import to_canvas, to_small_canvas

UPSAMPLE = 4
BRUSH = 18  # the Draw page's brush, px of a 280 px canvas


def skeleton(pixels: np.ndarray) -> np.ndarray:
    """Centre-line points ``(K, 2)`` float64 as (x, y) in pixels of the 28×28 ``pixels`` (float in [0, 1])."""
    side = pixels.shape[0] * UPSAMPLE
    up = np.asarray(Image.fromarray(pixels.astype(np.float32), mode="F").resize((side, side), Image.Resampling.BILINEAR))
    ys, xs = np.nonzero(skeletonize(up > 0.4))
    return np.stack([xs, ys], 1).astype(np.float64) / UPSAMPLE


def on_canvas(points: np.ndarray, rng: np.random.Generator | None = None, small: bool = False) -> np.ndarray:
    """``points`` placed on the 280 px canvas as :mod:`unipen` places real strokes: longer side 180 px,
    centred, or (``small``) 90 px, 15 px from a random corner (``rng``). ``(K, 2)`` canvas px."""
    placed = to_small_canvas([points], rng) if small else to_canvas([points])
    return np.asarray(placed[0], np.float64)


def draw(points: np.ndarray, extra_strokes=(), size: int = 280, brush: bool = False) -> np.ndarray:
    """The page's network input ``(28, 28)`` float32 for a digit drawn as pen dots at ``points``
    (canvas px) plus ``extra_strokes`` (each a list of (x, y))."""
    strokes = [[tuple(p)] for p in points.tolist()] + [list(s) for s in extra_strokes]
    if brush:
        return mnist_style(render_strokes(strokes, size, BRUSH)).image
    return digit_from_strokes(strokes, size).image


def slash(points: np.ndarray, rng: np.random.Generator) -> list:
    """A stroke through the middle of a zero's ``points``, 40–85° from the horizontal, reaching
    1.0–1.25× the half-size of its bounding box either side."""
    lo, hi = points.min(0), points.max(0)
    centre, reach = (lo + hi) / 2, (hi - lo).max() / 2 * rng.uniform(1.0, 1.25)
    angle = np.radians(rng.uniform(40, 85))
    along = np.array([np.cos(angle), -np.sin(angle)]) * reach
    return [tuple(centre - along), tuple(centre + along)]


def flag(points: np.ndarray, rng: np.random.Generator) -> list:
    """A stroke from the top of a one's stem, 30–55° to the stem's left, 20–40 % of its height long."""
    top, bottom = points[points[:, 1].argmin()], points[points[:, 1].argmax()]
    stem = (bottom - top) / max(np.linalg.norm(bottom - top), 1e-6)
    turn = np.radians(rng.uniform(30, 55))
    direction = np.array([stem[0] * np.cos(turn) - stem[1] * np.sin(turn), stem[0] * np.sin(turn) + stem[1] * np.cos(turn)])
    return [tuple(top), tuple(top + direction * np.ptp(points[:, 1]) * rng.uniform(0.2, 0.4))]


def held_out_renderings(pixels: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each digit of ``pixels`` ``(N, 28, 28)`` float in [0, 1] drawn large and small, and each zero
    slashed and each one flagged (large): ``{set name: (images (M, 28, 28) float32, labels (M,))}``."""
    rng = np.random.default_rng(seed)
    large, small, slashed, flagged = [], [], [], []
    for pix, label in zip(pixels, labels):
        points = skeleton(pix)
        big = on_canvas(points)
        large.append(draw(big))
        small.append(draw(on_canvas(points, rng, small=True)))
        if label == 0:
            slashed.append(draw(big, [slash(big, rng)]))
        elif label == 1:
            flagged.append(draw(big, [flag(big, rng)]))
    return {"canvas, large": (np.stack(large), labels), "canvas, small": (np.stack(small), labels),
            "slashed zeros": (np.stack(slashed), np.zeros(len(slashed), np.int64)),
            "continental ones": (np.stack(flagged), np.ones(len(flagged), np.int64))}
