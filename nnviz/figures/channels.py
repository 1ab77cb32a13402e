"""What each channel looks for (:mod:`nnviz.feature_visualization`) and occlusion
(:mod:`nnviz.occlusion`), as plotly figures."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.style import DIVERGING
from nnviz.figures.tiles import mosaic, tile_grid


def optimised_inputs(images: np.ndarray, labels: list[str], title: str, cols: int = 8) -> go.Figure:
    """The optimised inputs ``(C, 28, 28)`` uint8 (0–255 = pixel 0–1), one grey tile per channel,
    white ink on black as the network sees a digit; hover names the channel."""
    tiles = np.asarray(images, dtype=float) / 255.0
    fig = tile_grid(tiles, labels, title, cols=min(cols, len(tiles)), zrange=(0.0, 1.0), colorbar_title="pixel",
                    hover_ids=np.arange(len(tiles))[:, None], hover_name="channel %{customdata[0]}")
    fig.update_traces(colorscale="gray", showscale=False)
    return fig


def dataset_examples(pixels: np.ndarray, boxes: np.ndarray, indices: np.ndarray, activations: np.ndarray,
                     title: str, cols: int = 3) -> go.Figure:
    """The test images that excite a channel most, ``pixels`` ``(9, 28, 28)`` uint8, highest first,
    each with its receptive-field ``boxes`` ``(9, 4)`` (top, left, bottom, right, inclusive) drawn as
    a red rectangle where the feature map peaks; hover gives the test index and activation."""
    z, positions, tile_index = mosaic(np.asarray(pixels, dtype=float) / 255.0, cols=cols, gap=2)
    index_of = np.where(tile_index >= 0, np.asarray(indices)[np.maximum(tile_index, 0)], -1)
    value_of = np.where(tile_index >= 0, np.asarray(activations)[np.maximum(tile_index, 0)], np.nan)
    fig = go.Figure(go.Heatmap(z=z, colorscale="gray", zmin=0, zmax=1, showscale=False,
                               customdata=np.dstack([index_of, value_of]),
                               hovertemplate="test image #%{customdata[0]}: activation %{customdata[1]:.3g}<extra></extra>"))
    full = all(tuple(b) == (0, 0, 27, 27) for b in np.asarray(boxes))
    for (top, left), (r0, c0, r1, c1) in zip(positions, np.asarray(boxes)):
        if not full:
            fig.add_shape(type="rect", x0=left + c0 - 0.5, x1=left + c1 + 0.5, y0=top + r0 - 0.5, y1=top + r1 + 0.5,
                          line=dict(color="#ff3b30", width=2))
    fig.update_layout(title=title, height=max(160, 130 * ((len(pixels) + cols - 1) // cols) + 50),
                      margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))
    return fig


def occlusion_overlay(image: np.ndarray, drop: np.ndarray, title: str) -> go.Figure:
    """``drop`` ``(H, W)`` (probability drop, −1…1) on a diverging scale centred on 0 (red: covering
    here lowers the answer's probability; blue: raises it), with the outline of the input's ink
    (``image`` ``(H, W)`` in [0, 1], contour at 0.5) drawn on top."""
    d = np.asarray(drop, dtype=float) * 100  # percentage points: a sure network's drops are tiny
    top = float(np.abs(d).max()) or 1e-6
    fig = go.Figure([
        go.Heatmap(z=d, colorscale=DIVERGING, zmid=0, zmin=-top, zmax=top,
                   colorbar=dict(title=dict(text="drop (percentage points)", side="right"), thickness=12,
                                 tickformat=".2~g"),
                   customdata=np.asarray(image, dtype=float),
                   hovertemplate="row %{y}, col %{x}: covering it lowers the probability by "
                                 "%{z:.3g} percentage points (ink %{customdata:.2f})<extra></extra>"),
        go.Contour(z=np.asarray(image, dtype=float), contours=dict(start=0.5, end=0.5, size=1, coloring="none"),
                   line=dict(color="black", width=1.5), showscale=False, hoverinfo="skip"),
    ])
    fig.update_layout(title=title, height=340, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))
    return fig


def sanity_check_figure(layers: list[str], correlations: list[float], title: str) -> go.Figure:
    """Spearman rank correlation with the original map after randomising each layer (cascading, the
    last layer first): a line from 1 (unchanged) towards 0 (nothing left of the original)."""
    x = ["original", *[f"+ {name}" for name in layers]]
    y = [1.0, *correlations]
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers+text", text=[f"{v:.2f}" for v in y],
                               textposition="top center", hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(title=title, height=300, margin=dict(l=50, r=10, t=40, b=40),
                      yaxis=dict(range=[-1.05, 1.2], title="rank correlation"),
                      xaxis=dict(title="layers randomised so far (last layer first)", type="category"))
    return fig


def shift_curves(shifts: list[int], probabilities: dict[str, list[float]], class_name: str,
                 accuracies: dict[str, list[float]] | None = None, sample: int = 0) -> go.Figure:
    """Each network's probability of ``class_name`` as the digit is moved ``shifts`` pixels sideways
    (solid lines) and, dashed, its accuracy on ``sample`` test images moved the same way."""
    traces = [go.Scatter(x=shifts, y=p, mode="lines+markers", name=f"{name}: this digit",
                         hovertemplate=f"{name}: shift %{{x}} px → %{{y:.1%}}<extra></extra>")
              for name, p in probabilities.items()]
    for name, acc in (accuracies or {}).items():
        traces.append(go.Scatter(x=shifts, y=acc, mode="lines+markers", line=dict(dash="dash"),
                                 name=f"{name}: accuracy on {sample:,} test images",
                                 hovertemplate=f"{name}: shift %{{x}} px → %{{y:.1%}} right<extra></extra>"))
    fig = go.Figure(traces)
    fig.update_layout(title=f"Moving the digit sideways (“{class_name}”)", height=360,
                      margin=dict(l=50, r=10, t=40, b=40), yaxis=dict(range=[0, 1.05], tickformat=".0%",
                                                                       title="probability"),
                      xaxis=dict(title="shift (pixels; negative = left)", dtick=2),
                      legend=dict(orientation="h", y=-0.3))
    return fig


def photo_occlusion(rgb: np.ndarray, drop: np.ndarray, class_name: str) -> go.Figure:
    """A photo ``(H, W, 3)`` uint8 with its occlusion map ``drop`` ``(H, W)`` (probability drop) over
    it in the Grad-CAM heat colours, scaled to the largest drop (rises are left out)."""
    from nnviz.figures.photos import heat_overlay, image_figure

    d = np.clip(np.asarray(drop, dtype=float), 0, None)
    top = float(d.max())
    return image_figure(heat_overlay(rgb, d / top if top > 0 else d),
                        f"Covering what lowers<br>“{class_name}” (at most {top:.1%})")
