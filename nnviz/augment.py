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
