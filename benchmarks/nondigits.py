"""Drawings that are not digits, on the Draw page's 280×280 canvas with its 18 px white brush:
dashes, dots, scribbles, shapes, letters that look like no digit, and Fashion-MNIST items. Used
to choose and to measure the "not a digit" threshold of :mod:`nnviz.unsure`.

Pen drawings (dashes, dots, scribbles, shapes) are their strokes, which the page redraws for the
network (:func:`nnviz.preprocess.digit_from_strokes`); letters and Fashion-MNIST items are images
(RGBA canvases), as an uploaded or injected picture would be. :func:`network_input` gives either
to the network the page's way."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nnviz.preprocess import DigitInput, digit_from_strokes, mnist_style

SIZE, WIDTH = 280, 18
# Letters whose shape is not also a digit's (no O, I, l, S, Z, B, G, b, g, q, …).
LETTERS = "AEFHKMNRWXYaefhkmnrwxy"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def blank() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 255))
    return img, ImageDraw.Draw(img)


def dash(rng) -> list:
    """A near-horizontal line (±25°), 30–200 px long, anywhere on the canvas (near-vertical is a 1)."""
    length, angle = rng.uniform(30, 200), math.radians(rng.uniform(-25, 25))
    dx, dy = length * math.cos(angle) / 2, length * math.sin(angle) / 2
    cx, cy = rng.uniform(20 + abs(dx), SIZE - 20 - abs(dx)), rng.uniform(20 + abs(dy), SIZE - 20 - abs(dy))
    return [[(cx - dx, cy - dy), (cx + dx, cy + dy)]]


def dot(rng) -> list:
    """A dab: a stroke 0–25 px long."""
    x, y = rng.uniform(20, SIZE - 20, 2)
    return [[(x, y), (x + rng.uniform(0, 25), y + rng.uniform(-10, 10))]]


def scribble(rng) -> list:
    """A random walk of 8–20 points across a region 100–240 px wide."""
    span = rng.uniform(100, 240)
    lo = rng.uniform(20, SIZE - 20 - span, 2) if span < SIZE - 40 else np.array([20.0, 20.0])
    return [[tuple(lo + rng.uniform(0, span, 2)) for _ in range(rng.integers(8, 21))]]


def shape(rng) -> list:
    """A triangle, a square, a star, a cross, a plus or a heart-less zigzag, 80–220 px."""
    strokes = []
    s = rng.uniform(80, 220)
    cx, cy = rng.uniform(20 + s / 2, SIZE - 20 - s / 2, 2)
    kind = rng.integers(6)
    r = s / 2
    if kind == 0:
        pts = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in np.radians([-90, 30, 150, 270])]
    elif kind == 1:
        pts = [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r), (cx - r, cy - r)]
    elif kind == 2:
        pts = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in np.radians(-90 + 144 * np.arange(6))]
    elif kind == 3:
        strokes.append([(cx - r, cy - r), (cx + r, cy + r)])
        pts = [(cx + r, cy - r), (cx - r, cy + r)]
    elif kind == 4:
        strokes.append([(cx - r, cy), (cx + r, cy)])
        pts = [(cx, cy - r), (cx, cy + r)]
    else:
        n = rng.integers(4, 8)
        pts = [(cx - r + 2 * r * i / n, cy + (r / 2 if i % 2 else -r / 2)) for i in range(n + 1)]
    return strokes + [pts]


def letter(rng) -> np.ndarray:
    """A letter from :data:`LETTERS`, 120–220 px tall, drawn with an 18 px outline-free pen."""
    img, draw = blank()
    font = ImageFont.truetype(FONT, int(rng.uniform(120, 220)))
    ch = LETTERS[rng.integers(len(LETTERS))]
    # A thin font face drawn with a stroke gives roughly the brush's 18 px line width.
    left, top, right, bottom = draw.textbbox((0, 0), ch, font=font, stroke_width=4)
    x = rng.uniform(10, max(11, SIZE - 10 - (right - left))) - left
    y = rng.uniform(10, max(11, SIZE - 10 - (bottom - top))) - top
    draw.text((x, y), ch, font=font, fill="white", stroke_width=4, stroke_fill="white")
    return np.asarray(img)


def fashion(pixels28: np.ndarray) -> np.ndarray:
    """A Fashion-MNIST item (uint8 28×28) drawn 200 px large in the canvas's centre."""
    big = np.asarray(Image.fromarray(pixels28).resize((200, 200), Image.Resampling.BILINEAR))
    canvas = np.zeros((SIZE, SIZE, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[40:240, 40:240, :3] = big[..., None]
    return canvas


KINDS = {"dash": dash, "dot": dot, "scribble": scribble, "shape": shape, "letter": letter}


def network_input(item) -> DigitInput:
    """A non-digit as the page gives it to the network: strokes redrawn by
    :func:`~nnviz.preprocess.digit_from_strokes`, an image by :func:`~nnviz.preprocess.mnist_style`.

    Raises:
        nnviz.preprocess.BlankDrawing: the page would say the canvas is (almost) empty.
    """
    return mnist_style(item) if isinstance(item, np.ndarray) else digit_from_strokes(item, SIZE, WIDTH)


def non_digits(n_per_kind: int, seed: int, fashion_pixels: np.ndarray | None = None) -> dict[str, list]:
    """``{kind: [strokes or canvas (280, 280, 4) uint8, …]}``, ``n_per_kind`` of each kind (see
    :func:`network_input`); Fashion-MNIST items are taken from ``fashion_pixels`` (uint8 (N, 28, 28))
    at random."""
    rng = np.random.default_rng(seed)
    out = {k: [f(rng) for _ in range(n_per_kind)] for k, f in KINDS.items()}
    if fashion_pixels is not None:
        idx = rng.choice(len(fashion_pixels), n_per_kind, replace=False)
        out["fashion"] = [fashion(fashion_pixels[i]) for i in idx]
    return out
