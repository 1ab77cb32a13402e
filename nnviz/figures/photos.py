"""Figures of the Photos page: what EfficientNet-Lite0 answers for a photo, where it looks, what
its first layer and inner blocks hold, and how well a head of your own does."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.photos.groups import GROUP_TITLES, GROUPS
from nnviz.figures.layers import tile_grid

ACCENT = "#4C6EF5"
MUTED = "#ADB5BD"
# Grad-CAM's colour ramp (transparent → yellow → orange → red), the Inspect page's heat colours.
HEAT_RGB = np.array([[255, 230, 0], [255, 215, 0], [255, 110, 0], [230, 0, 0]], dtype=float)
HEAT_AT = np.array([0.0, 0.2, 0.6, 1.0])
HEAT_ALPHA = np.array([0.0, 0.55, 0.8, 0.9])


def _bars(names: list[str], values: list[float], title: str, highlight: int | None, height: int) -> go.Figure:
    colours = [ACCENT if i == highlight else MUTED for i in range(len(names))]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colours,
                           text=[f"{v:.1%}" for v in values], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    fig.update_layout(title=dict(text=title, x=0, xanchor="left"), height=height, margin=dict(l=10, r=40, t=40, b=30),
                      xaxis=dict(range=[0, 1.12], tickformat=".0%", title="probability"),
                      yaxis=dict(autorange="reversed", automargin=True))
    return fig


def group_bars(probabilities: dict[str, float], title: str = "Animal group") -> go.Figure:
    """Horizontal bars of the group probabilities (``{group: p}``, summing to 1) in ``GROUPS``
    order, the most probable group highlighted."""
    values = [probabilities[g] for g in GROUPS]
    return _bars([GROUP_TITLES[g] for g in GROUPS], values, title, int(np.argmax(values)), 340)


def top5_bars(top5, title: str = "Top 5 ImageNet classes") -> go.Figure:
    """Horizontal bars of the five most probable ImageNet classes (:class:`nnviz.photos.backbone.TopClass`)."""
    return _bars([t.name for t in top5], [t.probability for t in top5], title, 0, 240)


def heat_overlay(rgb: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Blend a heat map onto a photo: ``rgb`` ``(H, W, 3)`` uint8 and ``heat`` ``(H, W)`` in [0, 1]
    → ``(H, W, 3)`` uint8. Below 0.1 the photo shows through untouched; the strongest regions are
    opaque red. The photo is dimmed slightly so the colours read."""
    h = np.clip(np.asarray(heat, dtype=float), 0, 1)
    colour = np.stack([np.interp(h, HEAT_AT, HEAT_RGB[:, c]) for c in range(3)], -1)
    alpha = np.interp(h, HEAT_AT, HEAT_ALPHA)[..., None] * (h[..., None] > 0.1)
    base = np.asarray(rgb, dtype=float) * 0.85
    return (base * (1 - alpha) + colour * alpha).round().clip(0, 255).astype(np.uint8)


def image_figure(rgb: np.ndarray, title: str, height: int = 340) -> go.Figure:
    """An RGB image ``(H, W, 3)`` uint8 as a plotly figure, square pixels, no axes."""
    fig = go.Figure(go.Image(z=rgb, hovertemplate="row %{y}, col %{x}<extra></extra>"))
    fig.update_layout(title=dict(text=title, x=0, xanchor="left"), height=height, margin=dict(l=0, r=0, t=40, b=0),
                      xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def grad_cam_figure(rgb: np.ndarray, cam: np.ndarray, class_name: str) -> go.Figure:
    """The photo the network saw (224 × 224) with Grad-CAM for ``class_name`` over it."""
    return image_figure(heat_overlay(rgb, cam), f"Where it looks for “{class_name}”")


def kernel_tiles(kernels: np.ndarray, cols: int = 8, scale: int = 12, gap: int = 3) -> np.ndarray:
    """First-layer kernels ``(K, k, k, 3)`` in [0, 1] (:func:`nnviz.photos.backbone.stem_kernels`) laid out
    as one RGB image, each kernel pixel enlarged to ``scale`` × ``scale`` screen pixels, white gaps.
    Returns ``(H, W, 3)`` uint8."""
    n, k = kernels.shape[0], kernels.shape[1]
    rows = -(-n // cols)
    side = k * scale
    out = np.full((rows * (side + gap) - gap, cols * (side + gap) - gap, 3), 255, np.uint8)
    for i in range(n):
        tile = np.kron((kernels[i] * 255).round().astype(np.uint8), np.ones((scale, scale, 1), np.uint8))
        r, c = divmod(i, cols)
        out[r * (side + gap): r * (side + gap) + side, c * (side + gap): c * (side + gap) + side] = tile
    return out


def kernels_figure(kernels: np.ndarray) -> go.Figure:
    """The 32 first-layer kernels (3 × 3 × RGB each) as colour tiles."""
    return image_figure(kernel_tiles(kernels), "First convolution: 32 kernels, 3 × 3 pixels × RGB", height=260)


def feature_maps_figure(maps: np.ndarray, stage: str, count: int = 24) -> go.Figure:
    """The ``count`` most active feature maps (largest mean activation) of a stage's output
    ``(C, H, W)``, one tile each, labelled with their channel number."""
    maps = np.asarray(maps, dtype=float)
    order = np.argsort(-maps.mean(axis=(1, 2)))[:count]
    return tile_grid(maps[order], [f"channel {c}" for c in order],
                     f"{stage}: the {len(order)} most active of {maps.shape[0]} feature maps",
                     diverging=bool(maps.min() < 0), cols=8, hover_ids=order[:, None],
                     hover_name="channel %{customdata[0]}")


def confusion_figure(confusion: np.ndarray, classes: list[str]) -> go.Figure:
    """Heatmap of a confusion matrix ``(K, K)`` int counts (rows: true class, columns: prediction),
    each cell labelled with its count."""
    cm = np.asarray(confusion)
    fig = go.Figure(go.Heatmap(z=cm, x=list(classes), y=list(classes), colorscale="Blues", showscale=False,
                               text=cm.astype(str), texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z} photos<extra></extra>"))
    fig.update_layout(title=dict(text="Confusion matrix on the held-out photos", x=0, xanchor="left"),
                      height=140 + 40 * len(classes), margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(title="predicted", type="category"),
                      yaxis=dict(title="true", type="category", autorange="reversed", automargin=True))
    return fig
