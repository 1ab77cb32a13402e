"""Where the network looks: an attribution map (Grad-CAM, saliency) drawn over the input digit."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.style import HEAT
# The digit is drawn in mid grey rather than white so the colours on top of it stay readable.
INK_BRIGHTNESS = 0.55


def attribution_overlay(image: np.ndarray, heat: np.ndarray, title: str, colorbar_title: str = "importance") -> go.Figure:
    """The input ``(H, W)`` in [0, 1] (grey ink on black) with ``heat`` ``(H, W)`` ≥ 0 on top.

    The heat trace's z is ``heat`` itself (not rescaled); its colour scale runs from 0 to the
    map's maximum. Hover shows the pixel's ink and importance.
    """
    img = np.asarray(image, dtype=float)
    h = np.asarray(heat, dtype=float)
    if img.shape != h.shape:
        raise ValueError(f"image {img.shape} and attribution map {h.shape} differ in size")
    top = float(h.max()) if h.max() > 0 else 1.0
    fig = go.Figure([
        go.Heatmap(z=img, colorscale="gray", zmin=0, zmax=1 / INK_BRIGHTNESS, showscale=False, hoverinfo="skip"),
        go.Heatmap(z=h, colorscale=HEAT, zmin=0, zmax=top, customdata=img,
                   colorbar=dict(title=dict(text=colorbar_title, side="right"), thickness=12),
                   hovertemplate="row %{y}, col %{x}: ink %{customdata:.2f}, importance %{z:.3g}<extra></extra>"),
    ])
    fig.update_layout(title=title, height=340, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))
    return fig
