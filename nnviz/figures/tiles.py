"""Grids of small images (tiles), and small images as PNG data URLs.

A grid of many small images (64 feature maps, 2,048 kernels, 512 weight images) is drawn as
**one** heatmap: the tiles are laid side by side with a one-pixel gap of NaN (drawn empty).
One trace is far quicker to build and to render than one subplot per tile. Where each tile lies
is recorded in ``fig.layout.meta``::

    {"tiles": [[top_row, left_col], ...], "tile_shape": [h, w], "labels": [...]}

so the numbers under tile *i* are ``z[top:top + h, left:left + w]`` — exactly the tensor shown
(tests check this). Hovering a pixel names its tile, row, column and value.

Used by the Inspect page (feature maps, kernels, weight images), its digit galleries, the Photos
page (feature maps, the first layer's colour kernels) and the Train page's prediction grid.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from nnviz.figures.style import DIVERGING, SEQUENTIAL


def mosaic(tiles: np.ndarray, cols: int | None = None, gap: int = 1,
           fill: float = np.nan) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    """Lay ``(T, h, w)`` tiles (or ``(T, h, w, 3)`` colour tiles) in a grid.

    Returns:
        ``(z, positions, tile_index)``: ``z`` float ``(rows·(h+gap)−gap, cols·(w+gap)−gap[, 3])``
        with ``fill`` (default NaN, drawn empty) in the gaps; ``positions[i] = [top, left]`` of tile
        ``i``; ``tile_index`` int ``(rows·(h+gap)−gap, cols·(w+gap)−gap)``, the tile under each
        pixel (−1 in gaps).
    """
    tiles = np.asarray(tiles, dtype=float)
    t, h, w = tiles.shape[:3]
    cols = cols or max(1, math.ceil(math.sqrt(t * h / w * 2)))  # about twice as wide as tall
    cols = min(cols, t)
    rows = math.ceil(t / cols)
    z = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, *tiles.shape[3:]), fill)
    index = np.full(z.shape[:2], -1, dtype=int)
    positions = []
    for i in range(t):
        top, left = (i // cols) * (h + gap), (i % cols) * (w + gap)
        z[top:top + h, left:left + w] = tiles[i]
        index[top:top + h, left:left + w] = i
        positions.append([top, left])
    return z, positions, index


def tile_grid(tiles: np.ndarray, labels: list[str], title: str, diverging: bool = False, cols: int | None = None,
              zrange: tuple[float, float] | None = None, colorbar_title: str = "value",
              tile_px: int | None = None, hover_ids: np.ndarray | None = None,
              hover_name: str = "tile %{customdata[0]}") -> go.Figure:
    """A grid of same-sized heatmaps ``(T, h, w)`` on one shared colour scale.

    Args:
        labels: one per tile (``"map 3"``), kept in ``fig.layout.meta["labels"]``.
        diverging: centre a red–white–blue scale on zero (for signed values: kernels, weights,
            pre-activation outputs); otherwise Viridis from the minimum to the maximum.
        zrange: fixed colour range; default the data's (symmetric about zero if diverging).
        tile_px: screen pixels per tile side, to size the figure (default from the grid).
        hover_ids: ``(T, m)`` ints describing each tile on hover (default: the tile index), used
            by ``hover_name`` as ``%{customdata[0]}`` … ``%{customdata[m-1]}``. Numbers, not
            strings, so plotly sends them as compact binary arrays.
    """
    tiles = np.asarray(tiles, dtype=float)
    t, h, w = tiles.shape
    z, positions, index = mosaic(tiles, cols)
    ncols = (z.shape[1] + 1) // (w + 1)
    if zrange is None:
        lo, hi = float(np.nanmin(tiles)), float(np.nanmax(tiles))
        if diverging:
            m = max(abs(lo), abs(hi), 1e-12)
            lo, hi = -m, m
        elif hi <= lo:
            hi = lo + 1e-12
        zrange = (lo, hi)
    ids = np.arange(t)[:, None] if hover_ids is None else np.asarray(hover_ids).reshape(t, -1)
    m = ids.shape[1]
    rows_in_tile = np.arange(z.shape[0]) % (h + 1)
    cols_in_tile = np.arange(z.shape[1]) % (w + 1)
    custom = np.zeros(z.shape + (m + 2,), dtype=np.int32)
    custom[..., :m] = np.where(index[..., None] >= 0, ids[np.maximum(index, 0)], -1)
    custom[..., m] = rows_in_tile[:, None]
    custom[..., m + 1] = cols_in_tile[None, :]
    fig = go.Figure(go.Heatmap(
        z=z, customdata=custom, zmin=zrange[0], zmax=zrange[1], hoverongaps=False,
        colorscale=DIVERGING if diverging else SEQUENTIAL, zmid=0 if diverging else None,
        colorbar=dict(title=dict(text=colorbar_title, side="right"), thickness=12),
        hovertemplate=hover_name + f", row %{{customdata[{m}]}}, col %{{customdata[{m + 1}]}}: %{{z:.3f}}<extra></extra>"))
    rows = (z.shape[0] + 1) / (h + 1)
    tile_px = tile_px or int(min(90, max(22, 900 / max(ncols, 1))))
    height = int(min(1100, max(180, rows * tile_px * h / w + 70)))
    fig.update_layout(
        title=title, height=height, margin=dict(l=10, r=10, t=60 if "<br>" in title else 40, b=10), plot_bgcolor="white",
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"),
        meta={"tiles": positions, "tile_shape": [h, w], "labels": list(labels)})
    return fig


def colour_tiles(tiles: np.ndarray, cols: int = 8, scale: int = 12, gap: int = 3) -> np.ndarray:
    """Small colour images ``(T, h, w, 3)`` in [0, 1] laid out as one RGB image, each pixel
    enlarged to ``scale`` × ``scale`` screen pixels, white gaps. Returns ``(H, W, 3)`` uint8."""
    big = np.stack([np.kron((t * 255).round().astype(np.uint8), np.ones((scale, scale, 1), np.uint8)) for t in tiles])
    return mosaic(big, cols, gap, fill=255)[0].astype(np.uint8)


def png_data_url(image: np.ndarray, scale: int = 2) -> str:
    """A small image as a ``data:image/png;base64,…`` URL (table image columns, HTML grids),
    enlarged ``scale``× with square pixels (each image pixel stays a visible block).

    Args:
        image: ``(H, W)`` grey or ``(H, W, 3)`` RGB; uint8 as is, floats in [0, 1] (clipped, × 255).
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels.repeat(scale, 0).repeat(scale, 1))).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
