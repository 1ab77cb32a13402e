"""How good is the network: the confusion matrix, per-class accuracy, and galleries of digits."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.style import ACCENT, COUNTS
from nnviz.figures.tiles import mosaic


def confusion_matrix_figure(confusion: np.ndarray, classes: list[str],
                            title: str = "Confusion matrix on the test set<br><sup>rows: true digit, columns: prediction</sup>",
                            unit: str = "images", clickable: bool = True) -> go.Figure:
    """Heatmap of ``confusion`` ``(K, K)`` int counts (rows: true class, columns: prediction), the
    Inspect page's (10 digits, 10,000 test images) and the Photos page's (a head's held-out photos).

    Colour is ``log10(1 + count)`` so the few mistakes are visible next to ~1,000 correct answers;
    each cell is labelled with its count, and the heatmap's ``customdata`` holds the counts
    (hover: "true a, predicted b: n ``unit``"). Square cells; the height grows with ``K`` up to
    520 px.

    With ``clickable``, an invisible marker sits on every cell so a click selects it (Streamlit's
    plotly selection reports scatter points, not heatmap cells): the selected point's ``x``, ``y``
    are the predicted and true class.
    """
    cm = np.asarray(confusion)
    k = len(classes)
    colour = np.log10(1 + cm)
    fig = go.Figure(go.Heatmap(
        z=colour, x=list(classes), y=list(classes), customdata=cm, colorscale=COUNTS, showscale=False,
        text=cm.astype(str), texttemplate="%{text}", textfont=dict(size=12),
        hovertemplate=f"true %{{y}}, predicted %{{x}}: %{{customdata}} {unit}<extra></extra>"))
    if clickable:
        tx, ty = np.meshgrid(np.arange(k), np.arange(k))
        fig.add_trace(go.Scatter(
            x=[classes[i] for i in tx.ravel()], y=[classes[i] for i in ty.ravel()], mode="markers",
            marker=dict(size=34, symbol="square", color="rgba(0,0,0,0)", line=dict(width=0)),
            customdata=cm.ravel(),
            hovertemplate=f"true %{{y}}, predicted %{{x}}: %{{customdata}} {unit} — click to list them"
                          "<extra></extra>",
            showlegend=False, selected=dict(marker=dict(color="rgba(255,0,0,0.15)")),
            unselected=dict(marker=dict(opacity=0))))
        fig.update_layout(clickmode="event+select", dragmode=False)
    fig.update_layout(title=title,
                      height=min(520, 140 + 40 * k), margin=dict(l=60, r=10, t=60 if "<br>" in title else 50, b=50),
                      xaxis=dict(title="predicted", type="category", side="bottom", constrain="domain"),
                      yaxis=dict(title="true", type="category", autorange="reversed", scaleanchor="x",
                                 automargin=True))
    return fig


def per_class_accuracy_figure(accuracy: np.ndarray, classes: list[str]) -> go.Figure:
    """Bars of per-class accuracy ``(K,)`` in [0, 1]; the axis starts near the worst class so
    differences of a fraction of a percent are visible (the axis range says so)."""
    a = np.asarray(accuracy, dtype=float)
    low = max(0.0, float(np.nanmin(a)) - 0.02)
    fig = go.Figure(go.Bar(x=list(classes), y=a, marker_color=ACCENT, text=[f"{v:.1%}" for v in a],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="digit %{x}: %{y:.2%} correct<extra></extra>"))
    fig.update_layout(title="Accuracy per true digit", height=300, margin=dict(l=50, r=10, t=40, b=40),
                      xaxis=dict(type="category", title="true digit"),
                      yaxis=dict(title="accuracy", tickformat=".0%", range=[low, 1.005]))
    return fig


def digit_gallery(images: np.ndarray, captions: list[str], title: str, cols: int = 8) -> go.Figure:
    """Small digits ``(T, 28, 28)`` in [0, 1] in a grid, each captioned below (``"7 → 1 (98%)"``)."""
    imgs = np.asarray(images, dtype=float)
    t, h, w = imgs.shape
    cols = min(cols, t)
    z, positions, _ = mosaic(imgs, cols=cols, gap=6)
    fig = go.Figure(go.Heatmap(z=z, colorscale="gray", zmin=0, zmax=1, showscale=False, hoverongaps=False,
                               hovertemplate="%{z:.2f}<extra></extra>"))
    for (top, left), text in zip(positions, captions):
        fig.add_annotation(x=left + w / 2 - 0.5, y=top + h + 1.6, text=text, showarrow=False, font=dict(size=11),
                           yanchor="middle")
    rows = int(np.ceil(t / cols))
    fig.update_layout(title=title, height=int(rows * 120 + 60), margin=dict(l=10, r=10, t=60 if "<br>" in title else 40, b=20),
                      plot_bgcolor="white",
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x",
                                 range=[z.shape[0] + 4, -1]),
                      meta={"tiles": positions, "tile_shape": [h, w], "labels": list(captions)})
    return fig
