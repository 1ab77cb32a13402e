"""The embedding map: 2-D projection of the penultimate features, one colour per true class."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.express as px

PALETTE = px.colors.qualitative.T10  # ten distinguishable colours, one per digit


def embedding_scatter(points: np.ndarray, labels: np.ndarray, predictions: np.ndarray, indices: np.ndarray,
                      classes: list[str], method: str, star: np.ndarray | None = None,
                      star_label: str = "your drawing") -> go.Figure:
    """Scatter of ``points`` ``(N, 2)`` coloured by true class ``labels`` ``(N,)``.

    Hover names the test image (``indices``), its true class and the prediction; misclassified
    images are drawn as crosses. ``star`` ``(2,)`` places one extra point (the student's drawing)
    as a large black star, the last trace, with ``star_label`` written beside it. Each point's
    ``customdata`` is its test-set index, so a selection can show the digits.

    The star is a WebGL trace like the dots: plotly draws all WebGL traces on a canvas above its
    SVG traces, so an SVG star would lie under 2,000 dots; as the last WebGL trace it is drawn
    last, on top. Its label is an annotation, which plotly draws above every trace.
    """
    p = np.asarray(points, dtype=float)
    fig = go.Figure()
    for c, name in enumerate(classes):
        sel = np.flatnonzero(np.asarray(labels) == c)
        wrong = np.asarray(predictions)[sel] != c
        fig.add_trace(go.Scattergl(
            x=p[sel, 0], y=p[sel, 1], mode="markers", name=name,
            marker=dict(size=np.where(wrong, 9, 5), color=PALETTE[c % len(PALETTE)],
                        symbol=np.where(wrong, "x", "circle"), opacity=0.75, line=dict(width=0)),
            customdata=np.stack([np.asarray(indices)[sel], np.asarray(predictions)[sel]], -1),
            hovertemplate=f"test image #%{{customdata[0]}}: true {name}, predicted %{{customdata[1]}}<extra></extra>"))
    if star is not None:
        s = np.asarray(star, dtype=float).reshape(2)
        fig.add_trace(go.Scattergl(x=[s[0]], y=[s[1]], mode="markers", name=star_label,
                                   marker=dict(symbol="star", size=26, color="black", line=dict(width=2, color="white")),
                                   hovertemplate=f"{star_label}<extra></extra>"))
        fig.add_annotation(x=s[0], y=s[1], text=f"<b>{star_label}</b>", showarrow=True, arrowhead=0, arrowwidth=1.5,
                           ax=40, ay=-36, bgcolor="rgba(255,255,255,0.9)", bordercolor="black", borderwidth=1,
                           font=dict(size=13, color="black"))
    axis = "principal component" if method == "pca" else "t-SNE dimension"
    fig.update_layout(title=f"Penultimate-layer features<br><sup>{len(p):,} test images, {method.upper()}</sup>",
                      height=560, margin=dict(l=50, r=10, t=64, b=40), legend=dict(title="true digit"),
                      xaxis=dict(title=f"{axis} 1"), yaxis=dict(title=f"{axis} 2"), dragmode="lasso")
    return fig
