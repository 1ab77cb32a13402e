"""Data augmentation: random changes to training images, so that a network learns what stays the
same (a 7 slightly turned, shifted or scaled is still a 7) instead of the exact pixels."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_batch(images: torch.Tensor, generator: torch.Generator, background: float) -> torch.Tensor:
    """Random affine jitter per image: rotation ±10°, scale 0.9–1.1, shift ±2 px (of 28).

    ``images`` ``(N, C, H, W)`` float32 (normalised); ``background`` is the normalised value of a
    blank pixel, used to fill the borders. Per-image parameters in one ``affine_grid`` call: a
    per-image torchvision transform would cost a Python call per digit.
    """
    n = images.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(10)
    scale = 1 + (torch.rand(n, generator=generator) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 / (images.shape[-1] / 2))
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(images.device, images.dtype), list(images.shape), align_corners=False)
    out = F.grid_sample(images - background, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out + background


# --- Handwriting: the ways people write digits on a canvas that MNIST's writers rarely used ------
#
# MNIST was written with pens on paper forms by US Census employees and students (LeCun et al.).
# On a canvas, strokes have one width set by the brush and the drawing's size; people slant and
# stretch their digits; and two common ways of writing are nearly absent from MNIST: the slashed
# zero "Ø" (programmers, engineers, Scandinavian schools) and the "continental" one, with a flag at
# its top and often a foot. A CNN trained on MNIST alone reads most slashed zeros as 8 or 9 and
# many flagged ones as 7. The functions below draw these variations onto MNIST digits during
# training. The shipped CNN learns slashed zeros but not flagged ones: a flag also makes a one look
# like many writers' seven, and every variant that learnt them read held-out MNIST digits worse
# (benchmarks/select_handwriting_recipe.py).

def _segment_ink(start: torch.Tensor, end: torch.Tensor, width: torch.Tensor, side: int) -> torch.Tensor:
    """Anti-aliased straight strokes, one per image: ``start``/``end`` ``(N, 2)`` as (x, y) in pixels,
    ``width`` ``(N,)`` pixels. Returns ``(N, 1, side, side)`` ink coverage in [0, 1]: 1 within
    half the width of the segment, falling to 0 over the next pixel."""
    coords = torch.arange(side, dtype=torch.float32)
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    pixel = torch.stack([xs, ys], -1).view(1, side, side, 2)
    a, ab = start.view(-1, 1, 1, 2), (end - start).view(-1, 1, 1, 2)
    t = (((pixel - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-6)).clamp(0, 1)
    distance = (pixel - (a + t.unsqueeze(-1) * ab)).norm(dim=-1)
    return (width.view(-1, 1, 1) / 2 + 0.5 - distance).clamp(0, 1).unsqueeze(1)


def _centre_of_mass(ink: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` ink-weighted centres ``(N,)`` of ``(N, 1, H, W)`` ink, in pixel indices."""
    r = torch.arange(ink.shape[-1], dtype=torch.float32)
    total = ink.sum((1, 2, 3)).clamp_min(1e-6)
    return (ink.sum(2)[:, 0] * r).sum(1) / total, (ink.sum(3)[:, 0] * r).sum(1) / total


def _warp(ink: torch.Tensor, theta: torch.Tensor, displacement: torch.Tensor | None = None) -> torch.Tensor:
    """Resample ``ink`` through the affine map ``theta`` ``(N, 2, 3)`` (output → input, in
    ``affine_grid``'s [-1, 1] units) plus an optional ``(N, H, W, 2)`` displacement field."""
    grid = F.affine_grid(theta, list(ink.shape), align_corners=False)
    if displacement is not None:
        grid = grid + displacement
    return F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def slashed_zeros(ink: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Draw a slash through each zero: the oval shrunk to 75–90 % so that the slash, 30–90° from
    the horizontal ("/" to "|") and 1.0–1.3× the oval's radius either side of its centre, stays in
    the 20-px box; the stroke 1.5–2.5 px wide. ``ink`` ``(N, 1, 28, 28)`` float32, blank 0."""
    n, side = ink.shape[0], ink.shape[-1]
    scale = _uniform(n, 0.75, 0.9, generator)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale
    oval = _warp(ink, theta)
    angle = torch.deg2rad(_uniform(n, 30, 90, generator))
    half = (10 * scale * _uniform(n, 1.0, 1.3, generator))[:, None]
    cx, cy = _centre_of_mass(oval)
    centre = torch.stack([cx, cy], 1) + (torch.rand(n, 2, generator=generator) - 0.5) * 2
    along = torch.stack([torch.cos(angle), -torch.sin(angle)], 1) * half
    peak = ink.amax((1, 2, 3), keepdim=True)
    slash = _segment_ink(centre - along, centre + along, _uniform(n, 1.5, 2.5, generator), side)
    return torch.maximum(oval, peak * slash)


def continental_ones(ink: torch.Tensor, generator: torch.Generator, p_flag: float = 0.8,
                     p_foot: float = 0.4) -> torch.Tensor:
    """Give ones a flag (probability ``p_flag``): a stroke from the top of the stem, down and to its
    left, 20–55° from the stem and 15–45 % of the digit's height long (a seven's bar leaves its stem at
    about 60–90° and is longer); and a foot (``p_foot``): a horizontal stroke across the stem's
    bottom, 30–60 % of the height wide. Then re-centre the centre of mass, as the MNIST recipe does.
    ``ink`` ``(N, 1, 28, 28)`` float32, blank 0."""
    n, side = ink.shape[0], ink.shape[-1]
    rows = torch.arange(side, dtype=torch.float32)
    inked = (ink[:, 0] > 0.3 * ink.amax((1, 2, 3))[:, None, None]).any(2)
    top = torch.where(inked, rows, torch.full_like(rows, float(side))).min(1).values.clamp(max=side - 1)
    bottom = torch.where(inked, rows, torch.full_like(rows, -1.0)).max(1).values.clamp(min=0)
    everyone = torch.arange(n)
    top_row, bottom_row = ink[everyone, 0, top.long()], ink[everyone, 0, bottom.long()]
    top_x = (top_row * rows).sum(1) / top_row.sum(1).clamp_min(1e-6)
    bottom_x = (bottom_row * rows).sum(1) / bottom_row.sum(1).clamp_min(1e-6)
    height = (bottom - top).clamp_min(5)
    stem = torch.stack([bottom_x - top_x, bottom - top], 1)
    stem = stem / stem.norm(dim=1, keepdim=True).clamp_min(1e-6)
    turn = torch.deg2rad(_uniform(n, 20, 55, generator))  # the stem's direction turned to its left
    cos, sin = torch.cos(turn), torch.sin(turn)
    flag_dir = torch.stack([stem[:, 0] * cos - stem[:, 1] * sin, stem[:, 0] * sin + stem[:, 1] * cos], 1)
    start = torch.stack([top_x, top + 0.5], 1)
    flag_end = start + flag_dir * (height * _uniform(n, 0.15, 0.45, generator))[:, None]
    width = _uniform(n, 1.5, 2.5, generator)
    peak = ink.amax((1, 2, 3), keepdim=True)
    has_flag = (torch.rand(n, generator=generator) < p_flag).view(-1, 1, 1, 1)
    has_foot = (torch.rand(n, generator=generator) < p_foot).view(-1, 1, 1, 1)
    foot_mid = torch.stack([bottom_x, bottom - 0.5], 1)
    foot_half = torch.stack([height * _uniform(n, 0.15, 0.3, generator), torch.zeros(n)], 1)
    out = torch.maximum(ink, peak * has_flag * _segment_ink(start, flag_end, width, side))
    foot = _segment_ink(foot_mid - foot_half, foot_mid + foot_half, width, side)
    out = torch.maximum(out, peak * has_foot * foot)
    cx, cy = _centre_of_mass(out)
    centre = (side - 1) / 2
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2], theta[:, 1, 2] = (cx - centre) * 2 / side, (cy - centre) * 2 / side
    return _warp(out, theta)


def pen_width(ink: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A thicker or thinner pen: a third of the images are blended (by a random 0–1) towards their
    3×3 grey dilation, a third towards (at most 0.6 of the way) their 3×3 erosion, a third kept;
    then each is rescaled to its former peak, since canvas strokes are always full strength."""
    n = ink.shape[0]
    kind = torch.randint(0, 3, (n, 1, 1, 1), generator=generator)
    amount = torch.rand(n, 1, 1, 1, generator=generator)
    thick = F.max_pool2d(ink, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-ink, 3, stride=1, padding=1)
    out = torch.where(kind == 1, ink + amount * (thick - ink),
                      torch.where(kind == 2, ink + 0.6 * amount * (thin - ink), ink))
    return out * (ink.amax((1, 2, 3), keepdim=True) / out.amax((1, 2, 3), keepdim=True).clamp_min(1e-6))


def writing_geometry(ink: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per image: rotation ±15°, slant (shear) ±0.3, width 0.75–1.2× the height's scale, size
    0.85–1.1×, shift ±2 px, and an elastic wobble of up to 1.5 px (a random 4×4 displacement grid,
    bicubically smoothed; after Simard, Steinkraus & Platt, "Best practices for convolutional neural
    networks applied to visual document analysis", ICDAR 2003)."""
    n, side = ink.shape[0], ink.shape[-1]
    angle = torch.deg2rad(_uniform(n, -15, 15, generator))
    shear, stretch = _uniform(n, -0.3, 0.3, generator), _uniform(n, 0.75, 1.2, generator)
    size = _uniform(n, 0.85, 1.1, generator)
    cos, sin, ones, zeros = torch.cos(angle), torch.sin(angle), torch.ones(n), torch.zeros(n)
    rotate = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    slant = torch.stack([torch.stack([ones, shear], 1), torch.stack([zeros, ones], 1)], 1)
    forward = rotate @ slant @ torch.diag_embed(torch.stack([size * stretch, size], 1))
    shift = (torch.rand(n, 2, 1, generator=generator) * 2 - 1) * (2 * 2 / side)
    theta = torch.cat([torch.linalg.inv(forward), shift], 2)  # affine_grid maps output to input
    coarse = (torch.rand(n, 2, 4, 4, generator=generator) * 2 - 1) * (1.5 * 2 / side)
    wobble = F.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False).permute(0, 2, 3, 1)
    return _warp(ink, theta, wobble)


def handwriting_batch(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                      background: float, share: float = 0.5, p_slashed: float = 1 / 3,
                      p_continental: float = 0.0) -> torch.Tensor:
    """Canvas-like handwriting for a ``share`` of the images, the plain jitter of
    :func:`augment_batch` for the rest: slashed zeros (a share ``p_slashed`` of the zeros),
    continental ones (``p_continental`` of the ones), then :func:`pen_width` and :func:`writing_geometry`.

    ``images`` ``(N, 1, 28, 28)`` float32 normalised MNIST digits; ``labels`` ``(N,)`` int64, the
    digit each shows (0 and 1 get their conventions); ``background`` the normalised blank value.
    Returns a new tensor of the same shape; the labels do not change.
    """
    n = images.shape[0]
    ink = images - background
    zeros = (labels == 0) & (torch.rand(n, generator=generator) < p_slashed)
    ones = (labels == 1) & (torch.rand(n, generator=generator) < p_continental)
    if zeros.any():
        ink[zeros] = slashed_zeros(ink[zeros], generator)
    if ones.any():
        ink[ones] = continental_ones(ink[ones], generator)
    written = writing_geometry(pen_width(ink, generator), generator) + background
    if share >= 1.0:
        return written
    plain = augment_batch(images, generator, background)
    pick = (torch.rand(n, generator=generator) < share).view(-1, 1, 1, 1)
    return torch.where(pick, written, plain)
