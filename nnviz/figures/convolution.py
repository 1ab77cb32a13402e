"""Figures of one convolution worked through (:mod:`nnviz.convolution`) and of a unit's receptive
field (:mod:`nnviz.receptive_field`): the input with the kernel's window on it, the feature map
with the chosen cell (clickable), the patch, kernel and products as annotated number grids, each
input channel's share of the sum, the max-pooling window, and the receptive field on the input.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.attribution import attribution_overlay
from nnviz.figures.style import ACCENT, DIVERGING, GREY, NEGATIVE, left_title

WINDOW = "#F59F00"  # the kernel's window and the chosen cell: amber, readable on grey and on red–blue
MARGIN = dict(l=10, r=10, t=48, b=10)


def number(v: float, digits: int = 2) -> str:
    """``v`` with ``digits`` decimals, never "-0.00" (a value that rounds to zero reads 0.00)."""
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _square_axes(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, margin=MARGIN, plot_bgcolor="white",
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))
    return fig


def _rectangle(fig: go.Figure, top: float, left: float, bottom: float, right: float, colour: str = WINDOW,
               dash: str | None = None, width: float = 3) -> None:
    """A rectangle around cells ``top…bottom`` × ``left…right`` (inclusive, in cell indices)."""
    fig.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                  line=dict(color=colour, width=width, dash=dash), fillcolor="rgba(0,0,0,0)")


def window_figure(plane: np.ndarray, top: int, left: int, size: int, title: str, grey: bool = True) -> go.Figure:
    """The kernel's window drawn on the plane it slides over.

    Args:
        plane: ``(H, W)`` float: the input image in [0, 1] (``grey``, ink white) or one channel of a
            layer's input (``grey=False``: red positive, blue negative).
        top, left: the input cell under the kernel's top-left cell (negative past the edge).
        size: kernel side in cells.

    The window is a solid amber square, clipped to the image; where the kernel overhangs the
    edge (onto the zero padding) its full outline is dashed.
    """
    z = np.asarray(plane, dtype=float)
    h, w = z.shape
    if grey:
        trace = go.Heatmap(z=z, colorscale="gray", zmin=0, zmax=1, showscale=False,
                           hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
    else:
        m = max(float(np.abs(z).max()), 1e-12)
        trace = go.Heatmap(z=z, colorscale=DIVERGING, zmin=-m, zmax=m, showscale=False,
                           hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>")
    fig = go.Figure(trace)
    bottom, right = top + size - 1, left + size - 1
    if top < 0 or left < 0 or bottom >= h or right >= w:
        _rectangle(fig, top, left, bottom, right, dash="dot", width=2)
    _rectangle(fig, max(top, 0), max(left, 0), min(bottom, h - 1), min(right, w - 1))
    fig.update_layout(title=left_title(title))
    _square_axes(fig, 300)
    # room for the dashed overhang of a kernel at the border
    fig.update_xaxes(range=[-0.5 - size // 2 - 0.3, w - 0.5 + size // 2 + 0.3])
    fig.update_yaxes(range=[h - 0.5 + size // 2 + 0.3, -0.5 - size // 2 - 0.3], autorange=False)
    return fig


def feature_map_figure(fmap: np.ndarray, row: int, col: int, title: str, revealed: int | None = None,
                       clickable: bool = True) -> go.Figure:
    """One channel's feature map ``(H, W)`` (signed: red positive, blue negative) with cell
    ``(row, col)`` outlined.

    Args:
        revealed: show only the first ``revealed`` cells in the kernel's sliding order (row by
            row), the others blank: the map filling up as the kernel slides. None shows all.
        clickable: add an invisible marker on every cell (trace ``"cells"``, customdata
            ``[row, col]``) so that a click selects that cell (Streamlit's ``on_select``; plotly
            cannot select heatmap cells themselves).
    """
    z = np.asarray(fmap, dtype=float)
    h, w = z.shape
    m = max(float(np.abs(z).max()), 1e-12)
    shown = z.copy()
    if revealed is not None:
        shown.reshape(-1)[max(revealed, 0):] = np.nan
    fig = go.Figure(go.Heatmap(z=shown, colorscale=DIVERGING, zmin=-m, zmax=m, hoverongaps=False,
                               colorbar=dict(thickness=10, len=0.8),
                               hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>"))
    if clickable:
        # Small markers: plotly picks the nearest one to a click, but ties all markers the click
        # falls inside; 5 px stays inside a cell down to a tablet's 150-px-wide map of 28×28.
        rr, cc = np.divmod(np.arange(h * w), w)
        fig.add_trace(go.Scatter(x=cc, y=rr, mode="markers", name="cells", customdata=np.stack([rr, cc], 1),
                                 marker=dict(size=5, symbol="square",
                                             color="rgba(0,0,0,0)", line=dict(width=0)),
                                 selected=dict(marker=dict(color="rgba(0,0,0,0)")),
                                 unselected=dict(marker=dict(opacity=0)),
                                 hovertemplate="row %{y}, col %{x}<extra>click to work it through</extra>",
                                 showlegend=False))
        fig.update_layout(clickmode="event+select", dragmode=False)
    _rectangle(fig, row, col, row, col)
    fig.update_layout(title=left_title(title), showlegend=False)
    return _square_axes(fig, 300)


def number_grid(values: np.ndarray, title: str, digits: int = 2, height: int = 270,
                zrange: float | None = None) -> go.Figure:
    """A small ``(k, k)`` grid of numbers, each written in its cell, coloured red positive / blue
    negative on a scale symmetric about zero (``zrange``: its half-width; default the largest |value|)."""
    z = np.asarray(values, dtype=float)
    m = zrange or max(float(np.abs(z).max()), 1e-12)
    text = [[number(v, digits) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, text=text, texttemplate="%{text}", textfont=dict(size=11), colorscale=DIVERGING,
                               zmin=-m, zmax=m, showscale=False, xgap=1, ygap=1,
                               hovertemplate="row %{y}, col %{x}: %{z:.6f}<extra></extra>"))
    fig.update_layout(title=left_title(title))
    _square_axes(fig, height)
    fig.update_layout(margin=dict(l=2, r=2, t=40, b=4))
    return fig


def channel_sums_figure(sums: np.ndarray, chosen: int | None = None, title: str = "") -> go.Figure:
    """Bars of each input channel's sum of products ``(C,)``: the share each channel of the
    layer's input adds to the output; ``chosen`` in the accent colour."""
    s = np.asarray(sums, dtype=float)
    colours = [WINDOW if i == chosen else (ACCENT if v >= 0 else NEGATIVE) for i, v in enumerate(s)]
    fig = go.Figure(go.Bar(x=np.arange(len(s)), y=s, marker_color=colours,
                           hovertemplate="input channel %{x}: %{y:.4f}<extra></extra>"))
    fig.update_layout(title=left_title(title), height=260, margin=dict(l=50, r=10, t=48, b=40),
                      xaxis=dict(title="input channel", dtick=4 if len(s) > 16 else 1),
                      yaxis=dict(title="Σ patch × kernel", zeroline=True, zerolinecolor=GREY), showlegend=False)
    return fig


def pool_window_figure(window: np.ndarray, in_window: tuple[int, int], title: str) -> go.Figure:
    """The max-pooling window ``(2, 2)`` with its numbers; the followed cell outlined in amber,
    the maximum in bold."""
    z = np.asarray(window, dtype=float)
    best = z.max()
    text = [[f"<b>{number(v, 3)}</b>" if v == best else number(v, 3) for v in row] for row in z]
    m = max(float(np.abs(z).max()), 1e-12)
    fig = go.Figure(go.Heatmap(z=z, text=text, texttemplate="%{text}", textfont=dict(size=15), colorscale=DIVERGING,
                               zmin=-m, zmax=m, showscale=False, xgap=3, ygap=3,
                               hovertemplate="%{z:.6f}<extra></extra>"))
    _rectangle(fig, in_window[0], in_window[1], in_window[0], in_window[1], width=4)
    fig.update_layout(title=left_title(title))
    return _square_axes(fig, 220)


def receptive_field_figure(image: np.ndarray, box: tuple[int, int, int, int], gradient: np.ndarray,
                           title: str) -> go.Figure:
    """The input ``(H, W)`` in [0, 1] with the theoretical receptive field ``box`` (``top, left,
    bottom, right`` inclusive) as an amber square and the effective field, ``|gradient|``
    ``(H, W)``, as the heat ramp on top."""
    fig = attribution_overlay(image, np.abs(np.asarray(gradient, dtype=float)), title, colorbar_title="|gradient|")
    top, left, bottom, right = box
    _rectangle(fig, top, left, bottom, right)
    fig.update_layout(title=left_title(title), height=360, margin=MARGIN)
    return fig
