"""Figures of the Photos page: what EfficientNet-Lite0 answers for a photo, where it looks, what
its first layer and inner blocks hold, and how well a head of your own does."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.evaluation import confusion_matrix_figure
from nnviz.figures.style import ACCENT, GREY, heat_rgba, left_title
from nnviz.figures.tiles import colour_tiles, tile_grid
from nnviz.photos.groups import GROUP_TITLES, GROUPS


def _bars(names: list[str], values: list[float], title: str, highlight: int | None, height: int) -> go.Figure:
    colours = [ACCENT if i == highlight else GREY for i in range(len(names))]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colours,
                           text=[f"{v:.1%}" for v in values], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    fig.update_layout(title=left_title(title), height=height, margin=dict(l=10, r=40, t=40, b=30),
                      xaxis=dict(range=[0, 1.12], tickformat=".0%", title="probability"),
                      yaxis=dict(autorange="reversed", automargin=True))
    return fig


def group_bars(probabilities: dict[str, float], title: str = "Animal group") -> go.Figure:
    """Horizontal bars of the group probabilities (``{group: p}``, summing to 1) in ``GROUPS``
    order, the most probable group highlighted."""
    values = [probabilities[g] for g in GROUPS]
    return _bars([GROUP_TITLES[g] for g in GROUPS], values, title, int(np.argmax(values)), 340)


def class_bars(classes: list[str], probabilities, title: str = "Your classes") -> go.Figure:
    """Horizontal bars of a head's probabilities over your ``classes`` (in their order), the most
    probable highlighted."""
    values = [float(v) for v in probabilities]
    return _bars(list(classes), values, title, int(np.argmax(values)), 80 + 36 * len(values))


def top5_bars(top5, title: str = "Top 5 ImageNet classes") -> go.Figure:
    """Horizontal bars of the five most probable ImageNet classes (:class:`nnviz.photos.backbone.TopClass`)."""
    return _bars([t.name for t in top5], [t.probability for t in top5], title, 0, 240)


def heat_overlay(rgb: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Blend a heat map onto a photo: ``rgb`` ``(H, W, 3)`` uint8 and ``heat`` ``(H, W)`` in [0, 1]
    → ``(H, W, 3)`` uint8, in the colours and opacities of :data:`nnviz.figures.style.HEAT` (the
    Inspect page's): up to 0.1 the photo shows through untouched; the strongest regions are
    opaque red. The photo is dimmed slightly so the colours read."""
    colour, alpha = heat_rgba(heat)
    alpha = alpha[..., None]
    base = np.asarray(rgb, dtype=float) * 0.85
    return (base * (1 - alpha) + colour * alpha).round().clip(0, 255).astype(np.uint8)


def image_figure(rgb: np.ndarray, title: str, height: int = 340) -> go.Figure:
    """An RGB image ``(H, W, 3)`` uint8 as a plotly figure, square pixels, no axes."""
    fig = go.Figure(go.Image(z=rgb, hovertemplate="row %{y}, col %{x}<extra></extra>"))
    fig.update_layout(title=left_title(title), height=height, margin=dict(l=0, r=0, t=60 if "<br>" in title else 40, b=0),
                      xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def grad_cam_figure(rgb: np.ndarray, cam: np.ndarray, class_name: str) -> go.Figure:
    """The photo the network saw (224 × 224) with Grad-CAM for ``class_name`` over it."""
    return image_figure(heat_overlay(rgb, cam), f"Where it looks for “{class_name}”")


def kernels_figure(kernels: np.ndarray) -> go.Figure:
    """The 32 first-layer kernels (3 × 3 × RGB each) as colour tiles."""
    return image_figure(colour_tiles(kernels), "First convolution: 32 kernels<br><sup>3 × 3 pixels × RGB</sup>",
                        height=280)


def feature_maps_figure(maps: np.ndarray, stage: str, count: int = 24) -> go.Figure:
    """The ``count`` most active feature maps (largest mean activation) of a stage's output
    ``(C, H, W)``, one tile each, labelled with their channel number."""
    maps = np.asarray(maps, dtype=float)
    order = np.argsort(-maps.mean(axis=(1, 2)))[:count]
    return tile_grid(maps[order], [f"channel {c}" for c in order],
                     f"{stage}<br><sup>the {len(order)} most active of {maps.shape[0]} feature maps</sup>",
                     diverging=bool(maps.min() < 0), cols=8, hover_ids=order[:, None],
                     hover_name="channel %{customdata[0]}")


def confusion_figure(confusion: np.ndarray, classes: list[str]) -> go.Figure:
    """The head's confusion matrix on the held-out photos (:func:`nnviz.figures.evaluation.confusion_matrix_figure`)."""
    return confusion_matrix_figure(confusion, classes, "Confusion matrix on the held-out photos", unit="photos",
                                   clickable=False)
