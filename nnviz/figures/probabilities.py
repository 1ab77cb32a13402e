"""Bar chart of class probabilities, and the 28×28 input image as the network sees it."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.style import ACCENT, GREY


def probability_bars(probabilities: np.ndarray, classes: list[str], highlight: int | None = None,
                     title: str = "Softmax probabilities") -> go.Figure:
    """Vertical bars of ``probabilities`` ``(K,)`` (values in [0, 1], summing to 1) for ``classes``.

    The ``highlight`` class (the prediction) is drawn in the accent colour; the others in grey.
    The y axis is fixed to 0–100 % so bars can be compared between drawings.
    """
    p = np.asarray(probabilities, dtype=float)
    colors = [ACCENT if i == highlight else GREY for i in range(len(p))]
    fig = go.Figure(go.Bar(
        x=list(classes), y=p, marker_color=colors, text=[f"{v:.0%}" if v >= 0.01 else "" for v in p],
        textposition="outside", hovertemplate="%{x}: %{y:.2%}<extra></extra>", cliponaxis=False))
    fig.update_layout(title=title, yaxis=dict(range=[0, 1.12], tickformat=".0%", title="probability"),
                      xaxis=dict(type="category", title="class"), height=320,
                      margin=dict(l=50, r=10, t=40, b=40), showlegend=False)
    return fig


def input_image(image: np.ndarray, title: str = "Network input, 28×28") -> go.Figure:
    """Heatmap of a ``(H, W)`` image with values in [0, 1] (ink high), drawn white-on-black with
    square pixels; hovering shows each pixel's row, column and value."""
    img = np.asarray(image, dtype=float)
    fig = go.Figure(go.Heatmap(z=img, colorscale="gray", zmin=0, zmax=1, showscale=False,
                               hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>"))
    fig.update_layout(title=title, height=320, margin=dict(l=10, r=10, t=60 if "<br>" in title else 40, b=10),
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))
    return fig
