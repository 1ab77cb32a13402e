"""Learning curves of a training run, the live prediction grid (HTML), and the comparison of runs.

Every chart's x axis is the *epoch* (passes over the training set, fractional between epoch
ends), with a fixed range from 0 to the planned number of epochs: the curves grow into an empty
chart as the run goes, and runs with different batch sizes line up.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nnviz.figures.style import ACCENT, GREY
from nnviz.figures.tiles import png_data_url

TEST_COLOR = "#F76707"
GOOD, BAD = "#2B8A3E", "#C92A2A"
RUN_COLORS = (ACCENT, TEST_COLOR, "#2B8A3E", "#AE3EC9", "#1098AD", "#E8590C")
LOG_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 2, 3, 5, 10, 20, 50, 100)
MAX_LOG_TICKS = 6
MAX_POINTS = 500  # per line; more is hardly visible at chart width and slows the browser's redraws


def _thin(*columns: Sequence, limit: int = MAX_POINTS) -> list[np.ndarray]:
    """Every k-th element of each column so at most ``limit`` remain; the last is always kept."""
    arrays = [np.asarray(c) for c in columns]
    n = len(arrays[0]) if arrays else 0
    if n <= limit:
        return arrays
    idx = np.unique(np.r_[np.arange(0, n, math.ceil(n / limit)), n - 1])
    return [a[idx] for a in arrays]


def log_axis(*series: Sequence[float], low: float = 0.01, high: float = 3.0) -> dict:
    """A logarithmic loss axis that covers every finite positive value of ``series`` and at least
    ``low``–``high`` nats (a fresh 10-class network starts at ln 10 ≈ 2.3): ``range`` in log10
    units and ``tickvals``. A run whose loss blows up to 10⁴ keeps its whole curve in view instead
    of running off the top of a fixed axis; with more than 5 decades at most :data:`MAX_LOG_TICKS`
    powers of ten are ticked.
    """
    values = np.concatenate([np.asarray(v, dtype=float).ravel() for v in series]) if series else np.zeros(0)
    values = values[np.isfinite(values) & (values > 0)]
    lo = min(low, float(values.min())) if len(values) else low
    hi = max(high, float(values.max())) if len(values) else high
    lo, hi = math.log10(lo / 1.3), math.log10(hi * 1.3)
    if hi - lo <= 5:
        return {"type": "log", "range": [lo, hi], "tickvals": LOG_TICKS}
    # An exploding run spans many decades: at most MAX_LOG_TICKS powers of ten, written 10⁸, so
    # that the labels never pile up into a column.
    every = math.ceil((math.ceil(hi) - math.floor(lo)) / MAX_LOG_TICKS)
    ticks = tuple(10.0 ** k for k in range(math.floor(lo), math.ceil(hi) + 1, every))
    return {"type": "log", "range": [lo, hi], "tickvals": ticks, "exponentformat": "power"}


def batch_loss_figure(steps: Sequence[int], losses: Sequence[float], smoothed: Sequence[float],
                      steps_per_epoch: int, epochs: int, height: int = 300, zoom_to_data: bool = False) -> go.Figure:
    """The loss of every batch (grey) and its moving average (blue) against the epoch.

    Args:
        steps: 1-based optimisation steps; ``losses`` and ``smoothed`` are the batch's mean
            cross-entropy (nats) and its exponential moving average, same length.
        steps_per_epoch: batches per epoch (to turn steps into epochs).
        epochs: planned epochs, the x axis's extent.
        zoom_to_data: the x axis ends just after the last batch instead (for a run that stopped or
            blew up early: its few batches would otherwise be a line at 0).

    The y axis is logarithmic: a loss falling from 2.3 (a guess among 10 classes, ln 10) to 0.02
    would be a flat line after the first few batches on a linear axis. Its range grows with the
    data (:func:`log_axis`), so an exploding run stays readable.
    """
    x, raw, smooth = _thin(np.asarray(steps, dtype=float) / max(steps_per_epoch, 1), losses, smoothed)
    fig = go.Figure([
        go.Scatter(x=x, y=raw, mode="lines", name="batch loss", line=dict(color=GREY, width=1),
                   hovertemplate="epoch %{x:.2f}: %{y:.4f}<extra>batch loss</extra>"),
        go.Scatter(x=x, y=smooth, mode="lines", name="smoothed", line=dict(color=ACCENT, width=2.5),
                   hovertemplate="epoch %{x:.2f}: %{y:.4f}<extra>smoothed</extra>"),
    ])
    fig.update_layout(
        title=dict(text="Training loss per batch", x=0, xanchor="left"), height=height,
        margin=dict(l=55, r=10, t=40, b=40), legend=dict(orientation="h", x=1, xanchor="right", y=1.12),
        xaxis=dict(title="epoch", range=[0, float(x[-1]) * 1.05 if zoom_to_data and len(x) else max(epochs, 1)]),
        yaxis=dict(title="cross-entropy loss (log scale)", **log_axis(raw, smooth)), uirevision="batch-loss")
    if len(x) == 0:
        # On three short lines, so that it fits the chart on a phone and clears the axis title.
        fig.add_annotation(text="the loss of every batch<br>appears here while<br>the network trains", x=0.5, y=0.5,
                           xref="paper", yref="paper", showarrow=False, font=dict(color="#868E96"))
    return fig


def epoch_figure(epochs: Sequence, total_epochs: int, height: int = 340) -> go.Figure:
    """Per-epoch train and test loss (left) and accuracy (right), from :class:`EpochEnd` records.

    Train figures are averaged over the epoch's batches while the weights were still changing;
    test figures are measured after the epoch on images the network never trained on. A test loss
    that rises while the training loss falls is overfitting.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss per epoch", "Accuracy per epoch"),
                        horizontal_spacing=0.17)
    x = [e.epoch for e in epochs]
    series = [
        ("train", [e.train_loss for e in epochs], [e.train_accuracy for e in epochs], ACCENT, "dash"),
        ("test", [e.test_loss for e in epochs], [e.test_accuracy for e in epochs], TEST_COLOR, "solid"),
    ]
    for name, loss, acc, color, dash in series:
        line = dict(color=color, dash=dash, width=2.5)
        fig.add_trace(go.Scatter(x=x, y=loss, mode="lines+markers", name=name, line=line, legendgroup=name,
                                 hovertemplate=f"epoch %{{x}}: %{{y:.4f}}<extra>{name} loss</extra>"), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=acc, mode="lines+markers", name=name, line=line, legendgroup=name,
                                 showlegend=False, customdata=[[e.elapsed_s] for e in epochs],
                                 hovertemplate=f"epoch %{{x}}: %{{y:.2%}} after %{{customdata[0]:.1f}} s"
                                               f"<extra>{name} accuracy</extra>"), 1, 2)
    top = max(total_epochs, 1) + 0.2
    fig.update_xaxes(title_text="epoch", range=[0, top], dtick=1 if total_epochs <= 12 else None)
    fig.update_yaxes(title_text="loss", rangemode="tozero", row=1, col=1)
    low = min([a for _, _, accs, _, _ in series for a in accs] + [0.9])
    # A little room above 100 %, so that its tick label stays clear of the subplot's title.
    fig.update_yaxes(title_text="accuracy", tickformat=".1%", range=[max(0.0, low - 0.02), 1.004], row=1, col=2)
    # The subplot titles clear of the top tick labels, and each starting at its plot's left edge
    # (centred, the right one ran past the figure's edge on a phone).
    fig.update_annotations(yshift=8, xanchor="left", font_size=14)
    for title, axis in zip(fig.layout.annotations, (fig.layout.xaxis, fig.layout.xaxis2)):
        title.x = axis.domain[0]
    fig.update_layout(height=height, margin=dict(l=55, r=10, t=50, b=20), uirevision="epochs",
                      legend=dict(orientation="h", x=0.5, xanchor="center", y=-0.25))
    if not x:  # inside the loss panel, on two lines, so that it never runs into the other panel
        fig.add_annotation(text="the first points appear<br>when epoch 1 ends", x=0.5, y=0.5, xref="x domain",
                           yref="y domain", showarrow=False, font=dict(color="#868E96"))
    return fig


_TILE_CACHE: dict[bytes, list[str]] = {}


def _tile_uris(pixels: np.ndarray, scale: int) -> list[str]:
    """PNG data URIs of ``(K, H, W, 3)`` uint8 images enlarged ``scale``× with square pixels
    (nearest neighbour: each image pixel stays a visible block). Cached: the images never change."""

    key = pixels.tobytes() + bytes(f"{pixels.shape}{scale}", "ascii")
    if key not in _TILE_CACHE:
        uris = [png_data_url(tile, scale) for tile in pixels]
        if len(_TILE_CACHE) > 32:
            _TILE_CACHE.clear()
        _TILE_CACHE[key] = uris
    return _TILE_CACHE[key]


def prediction_grid_html(pixels: np.ndarray, labels: Sequence[int], predicted: Sequence[int] | None,
                         confidence: Sequence[float] | None, classes: Sequence[str], tile_px: int = 56) -> str:
    """HTML grid of test images, each with the network's current answer below it: green if right,
    red if wrong (with the true class), and the softmax probability of the answer.

    Args:
        pixels: ``(K, H, W, 3)`` uint8 RGB, enlarged by a whole factor to about ``tile_px``
            screen pixels (56 for 28×28 digits, 64 for 32×32 photos).
        labels: ``(K,)`` true class indices; ``predicted``/``confidence``: ``(K,)`` argmax class and
            its probability in [0, 1], or None before the first answer. A confidence that is NaN
            (a diverged network's outputs) reads "no answer", in red, never a "✓" or "nan%".
        classes: class names.

    HTML rather than a plotly figure: the tiles wrap to the column's width and the text never
    overlaps the images.
    """

    cells = []
    pixels = np.asarray(pixels, dtype=np.uint8)
    scale = max(1, round(tile_px / pixels.shape[1]))
    tile_px = pixels.shape[1] * scale
    for i, uri in enumerate(_tile_uris(pixels, scale)):
        true = html.escape(str(classes[int(labels[i])]))
        if predicted is None:
            answer = "<span style='color:#868E96'>?</span>"
            note = "&nbsp;"
        elif not math.isfinite(float(confidence[i])):  # outputs that are not numbers: no answer at all
            answer = "<span style='color:#C92A2A;font-weight:700'>✗ no answer</span>"
            note = "outputs not numbers"
        else:
            ok = int(predicted[i]) == int(labels[i])
            guess = html.escape(str(classes[int(predicted[i])]))
            color = GOOD if ok else BAD
            answer = (f"<span style='color:{color};font-weight:700'>{'✓' if ok else '✗'} {guess}</span> "
                      f"<span style='color:#495057'>{float(confidence[i]):.0%}</span>")
            note = "&nbsp;" if ok else f"is {true}"
        cells.append(
            f"<div style='width:{tile_px + 16}px;text-align:center;font-size:13px;line-height:1.25'>"
            f"<img src='{uri}' alt='test image of {true}' width='{tile_px}' height='{tile_px}' "
            f"style='image-rendering:pixelated;border-radius:3px;display:block;margin:0 auto 3px'/>"
            f"<div style='white-space:nowrap;overflow:hidden;text-overflow:ellipsis'>{answer}</div>"
            f"<div style='color:#868E96;font-size:11px'>{note}</div></div>")
    return ("<div style='display:flex;flex-wrap:wrap;gap:10px 6px;justify-content:flex-start'>"
            + "".join(cells) + "</div>")


def answers_html(preview) -> str:
    """The live prediction grid of a :class:`nnviz.jobs.live_run.Preview` with its heading and
    legend, as one HTML fragment (a page updates one element per poll instead of three)."""
    heading = (f"<p style='margin:0 0 0.6rem'><b>The network's answers now</b> — {preview.correct} of "
               f"{len(preview.labels)} right</p>")
    legend = ("<p style='margin:0.6rem 0 0;font-size:14px;color:rgba(49,51,63,0.6)'>"
              + html.escape("Test images the network never trains on, one or two per class. Green: right; "
                            "red: wrong, with the true class. The percentage is the softmax probability it "
                            "gives its answer.") + "</p>")
    return heading + prediction_grid_html(preview.pixels, preview.labels, preview.predicted, preview.confidence,
                                          preview.classes) + legend


def comparison_figure(runs: Sequence, height: int = 340, labels: Sequence[str] | None = None) -> go.Figure:
    """Overlay runs: smoothed training loss (left) and test accuracy per epoch (right).

    ``runs`` are :class:`nnviz.jobs.live_run.RunRecord` objects (``label``, ``steps``, ``smoothed``,
    ``steps_per_epoch``, ``epochs``); ``labels`` name them in the legend (default: their
    ``label``; :func:`nnviz.jobs.live_run.overlay_labels` names each by number and the settings
    that differ). Both axes cover the data of every run and stay sensible when a run failed before
    its first batch or epoch: the loss axis grows with the data (:func:`log_axis`), the accuracy
    axis spans the accuracies shown (0–100 % when there are none).
    """
    labels = list(labels) if labels is not None else [run.label for run in runs]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("Training loss (smoothed, log scale)", "Test accuracy after each epoch"))
    for i, (run, label) in enumerate(zip(runs, labels)):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        x, y = _thin(np.asarray(run.steps, dtype=float) / max(run.steps_per_epoch, 1), run.smoothed)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=label, legendgroup=str(i),
                                 line=dict(color=color, width=2.5),
                                 hovertemplate="epoch %{x:.2f}: %{y:.4f}<extra></extra>"), 1, 1)
        fig.add_trace(go.Scatter(x=[e.epoch for e in run.epochs], y=[e.test_accuracy for e in run.epochs],
                                 mode="lines+markers", name=label, legendgroup=str(i), showlegend=False,
                                 line=dict(color=color, width=2.5),
                                 hovertemplate="epoch %{x}: %{y:.2%}<extra></extra>"), 1, 2)
    accuracies = [e.test_accuracy for run in runs for e in run.epochs]
    longest = max([len(run.epochs) for run in runs] + [run.steps[-1] / max(run.steps_per_epoch, 1)
                                                       for run in runs if run.steps] + [1])
    fig.update_xaxes(title_text="epoch", range=[0, longest + 0.2])
    fig.update_yaxes(title_text="loss", **log_axis(*[run.smoothed for run in runs]), row=1, col=1)
    fig.update_yaxes(tickformat=".1%", title_text="accuracy", row=1, col=2,
                     range=[max(0.0, min(accuracies) - 0.02), 1.0] if accuracies else [0.0, 1.0])
    fig.update_annotations(yshift=8)  # the subplot titles, clear of the top tick labels
    fig.update_layout(height=height, margin=dict(l=55, r=10, t=50, b=40),
                      legend=dict(orientation="h", y=-0.22, x=0))
    return fig
