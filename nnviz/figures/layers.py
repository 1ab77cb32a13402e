"""Figures of one layer: feature maps, kernels, unit activations, weight images, histograms,
and the output layer's logits next to their softmax probabilities.

Grids of many small images (64 feature maps, 2,048 kernels, 512 weight images) are drawn with
:func:`nnviz.figures.tiles.tile_grid`: one heatmap, the tiles' positions in ``fig.layout.meta``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.style import ACCENT, GREY, NEGATIVE
from nnviz.figures.tiles import tile_grid


def strongest(tiles: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` tiles ``(T, …)`` with the largest L2 norm, strongest first (ties by index)."""
    norms = np.sqrt((np.asarray(tiles, dtype=float).reshape(len(tiles), -1) ** 2).sum(1))
    return np.argsort(-norms, kind="stable")[:k]


def feature_map_grid(maps: np.ndarray, layer: str, diverging: bool | None = None, top: int | None = None) -> go.Figure:
    """The feature maps of a layer's output ``(C, H, W)`` float32, one tile per channel.

    ``top``: only the ``top`` maps that respond most to this input (largest L2 norm), strongest
    first, drawn larger — 64 maps of 7×7 are a grey speckle on a projector. ``diverging``
    defaults to True when the maps hold negative values (a convolution's output before its
    ReLU), so zero is white and signs are visible.
    """
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"feature maps must be (C, H, W), got {maps.shape}")
    diverging = bool(maps.min() < 0) if diverging is None else diverging
    c, h, w = maps.shape
    if top is not None and top < c:
        keep = strongest(maps, top)
        return tile_grid(maps[keep], [f"map {i}" for i in keep],
                         f"{layer}: the {top} most active of {c} feature maps<br><sup>{h}×{w} each, strongest first</sup>",
                         diverging=diverging, colorbar_title="activation", cols=min(8, top), tile_px=90,
                         hover_ids=keep[:, None], hover_name="map %{customdata[0]}")
    return tile_grid(maps, [f"map {i}" for i in range(c)],
                     f"{layer}: {c} feature maps of {h}×{w} (one per channel)", diverging=diverging,
                     colorbar_title="activation", hover_name="map %{customdata[0]}")


def kernel_grid(weight: np.ndarray, layer: str, in_channel: int | None = None, top: int | None = None) -> go.Figure:
    """The kernels of a convolution, weight ``(O, I, k, k)``, on a diverging scale centred on zero.

    With one input channel (or ``in_channel`` chosen) one tile per output channel. With ``top``
    (and several input channels), the ``top`` kernels of largest L2 norm among all ``O × I``,
    strongest first, large enough to read on a projector. Otherwise all ``O × I`` kernels, one
    row per input channel and one column per output channel (tile ``r·O + c`` is kernel
    ``weight[c, r]``). The colour range is the whole layer's, so any selection is comparable
    with the rest.
    """
    w = np.asarray(weight, dtype=float)
    o, i, kh, kw = w.shape
    m = float(np.abs(w).max()) or 1e-12
    if top is not None and i > 1 and in_channel is None and top < o * i:
        flat = w.reshape(o * i, kh, kw)  # kernel c·I + r is weight[c, r]
        keep = strongest(flat, top)
        ids = np.stack([keep // i, keep % i], 1)
        return tile_grid(flat[keep], [f"map {c} ← input channel {r}" for c, r in ids],
                         f"{layer}: the {top} strongest of {o * i:,} kernels<br><sup>{kh}×{kw} each, largest L2 norm first</sup>",
                         diverging=True, cols=min(8, top), zrange=(-m, m), colorbar_title="weight", tile_px=80,
                         hover_ids=ids, hover_name="kernel of map %{customdata[0]} on input channel %{customdata[1]}")
    if i == 1 or in_channel is not None:
        ch = 0 if i == 1 else int(in_channel)
        tiles = w[:, ch]
        labels = [f"kernel of map {j}" + ("" if i == 1 else f" on input channel {ch}") for j in range(o)]
        title = (f"{layer}: {o} kernels of {kh}×{kw}" + ("" if i == 1 else f", input channel {ch} of {i}"))
        return tile_grid(tiles, labels, title, diverging=True, zrange=(-m, m), colorbar_title="weight",
                         hover_name="kernel of map %{customdata[0]}")
    tiles = w.transpose(1, 0, 2, 3).reshape(i * o, kh, kw)
    labels = [f"map {c} ← input channel {r}" for r in range(i) for c in range(o)]
    ids = np.array([[c, r] for r in range(i) for c in range(o)])
    return tile_grid(tiles, labels, f"{layer}: {o}×{i} kernels of {kh}×{kw} (columns: output map, rows: input channel)",
                     diverging=True, cols=o, zrange=(-m, m), colorbar_title="weight", tile_px=14, hover_ids=ids,
                     hover_name="kernel of map %{customdata[0]} on input channel %{customdata[1]}")


def unit_activations(values: np.ndarray, layer: str, ylabel: str = "activation", title: str | None = None,
                     xlabel: str = "unit") -> go.Figure:
    """Bars of a fully connected layer's output ``(D,)``, one bar per unit (neuron).

    ``title`` and ``xlabel`` name what the numbers are when they are not neurons (the pixels a
    flatten layer lays in a row); the default title is "<layer>: D units, n above zero".
    """
    v = np.asarray(values, dtype=float).reshape(-1)
    # Colour by sign through a two-colour scale: a numeric array is sent as compact binary data,
    # a list of 3,136 colour strings would be validated one by one (~80 ms).
    fig = go.Figure(go.Bar(x=np.arange(len(v)), y=v, marker_line_width=0,
                           marker=dict(color=(v >= 0).astype(np.int8), colorscale=[[0, NEGATIVE], [1, ACCENT]],
                                       cmin=0, cmax=1),
                           hovertemplate=xlabel + " %{x}: %{y:.3f}<extra></extra>"))
    active = int((v > 0).sum())
    fig.update_layout(title=title or f"{layer}: {len(v)} units, {active} above zero", height=280, bargap=0.1,
                      margin=dict(l=50, r=10, t=40, b=40), xaxis=dict(title=xlabel), yaxis=dict(title=ylabel))
    return fig


def weight_images(weight: np.ndarray, units: list[int] | np.ndarray, layer: str,
                  image_shape: tuple[int, int] = (28, 28)) -> go.Figure:
    """Each chosen unit's incoming weights ``weight[u]`` (784 of them) as a 28×28 image: the
    pattern of ink that excites the unit (red) or inhibits it (blue)."""
    w = np.asarray(weight, dtype=float)
    units = [int(u) for u in units]
    tiles = w[units].reshape(len(units), *image_shape)
    m = float(np.abs(w).max()) or 1e-12
    return tile_grid(tiles, [f"unit {u}" for u in units],
                     f"{layer}: what {len(units)} units look for (weights as {image_shape[0]}×{image_shape[1]} images)",
                     diverging=True, zrange=(-m, m), colorbar_title="weight", hover_ids=np.array(units)[:, None],
                     hover_name="unit %{customdata[0]}")


def histogram_counts(values: np.ndarray, bins: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """``(counts (bins,) int64, edges (bins + 1,) float64)`` — numpy's histogram of all values."""
    return np.histogram(np.asarray(values, dtype=float).reshape(-1), bins=bins)


def side_by_side(fig: go.Figure, titles: list[str], gap: float = 0.1) -> go.Figure:
    """Give ``fig`` one x/y axis pair per title, laid out left to right, with the titles above.

    A hand-made equivalent of ``make_subplots(rows=1, cols=n)``, which costs ~20 ms per figure;
    trace *i* must use axes ``x{i+1}``/``y{i+1}`` (``x``/``y`` for the first).
    """
    n = len(titles)
    width = (1 - gap * (n - 1)) / n
    for i, text in enumerate(titles):
        lo = i * (width + gap)
        suffix = "" if i == 0 else str(i + 1)
        fig.layout[f"xaxis{suffix}"] = dict(domain=[lo, lo + width], anchor=f"y{suffix}")
        fig.layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}")
        fig.add_annotation(text=text, x=lo + width / 2, y=1.0, xref="paper", yref="paper", xanchor="center",
                           yanchor="bottom", showarrow=False, font=dict(size=12))
    return fig


def parameter_histograms(weight: np.ndarray, bias: np.ndarray | None, layer: str, bins: int = 60) -> go.Figure:
    """Histograms of a layer's weights and biases, side by side.

    Binned here with :func:`histogram_counts` and drawn as bars, so the browser gets 60 numbers
    instead of e.g. 401,408 weights; each bar's height equals numpy's count for that bin.
    """
    panels = [("weights", weight)] + ([("biases", bias)] if bias is not None else [])
    fig = go.Figure()
    # Each title on two lines, so that side by side they do not run into each other on a phone.
    side_by_side(fig, [f"{n}: {np.asarray(v).size:,} values<br>mean {np.mean(v):+.3f}, std {np.std(v):.3f}"
                       for n, v in panels])
    for col, (name, values) in enumerate(panels, start=1):
        size = np.asarray(values).size
        counts, edges = histogram_counts(values, bins if size > bins else max(5, size))
        axes = "" if col == 1 else str(col)
        fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), name=name,
                             xaxis=f"x{axes}", yaxis=f"y{axes}",
                             marker_color=ACCENT if col == 1 else NEGATIVE, marker_line_width=0,
                             customdata=np.stack([edges[:-1], edges[1:]], -1),
                             hovertemplate="%{customdata[0]:.3f} to %{customdata[1]:.3f}: %{y} values<extra></extra>"))
        fig.layout[f"xaxis{axes}"].title = "value"
        fig.layout[f"yaxis{axes}"].title = "count" if col == 1 else None
    fig.update_layout(title=f"{layer}: distribution of its parameters", height=300, showlegend=False,
                      bargap=0, margin=dict(l=50, r=10, t=90, b=40))  # room for two-line panel titles
    return fig


def logits_and_probabilities(logits: np.ndarray, probabilities: np.ndarray, classes: list[str],
                             predicted: int | None = None) -> go.Figure:
    """The output layer: raw scores (logits, any real number) and their softmax probabilities
    (in [0, 1], summing to 1) side by side; the predicted class in the accent colour."""
    z = np.asarray(logits, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    colors = [ACCENT if k == predicted else GREY for k in range(len(z))]
    fig = go.Figure()
    side_by_side(fig, ["logits (the last layer's raw output)", "softmax probabilities = exp(logit) / Σ exp(logits)"])
    fig.add_trace(go.Bar(x=list(classes), y=z, marker_color=colors, name="logits",
                         hovertemplate="class %{x}: logit %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Bar(x=list(classes), y=p, marker_color=colors, name="probabilities", xaxis="x2", yaxis="y2",
                         text=[f"{v:.0%}" if v >= 0.01 else "" for v in p], textposition="outside", cliponaxis=False,
                         hovertemplate="class %{x}: %{y:.2%}<extra></extra>"))
    fig.update_layout(height=320, showlegend=False, margin=dict(l=50, r=10, t=40, b=40))
    for axis in ("xaxis", "xaxis2"):
        fig.layout[axis].update(type="category", title="class")
    fig.layout.yaxis.title = "logit"
    fig.layout.yaxis2.update(title="probability", range=[0, 1.15], tickformat=".0%")
    return fig


# What each figure shows, in one sentence for a student; pages print these as captions.
EXPLAIN = {
    "feature_maps": "Each square is one feature map: where in the image this channel's pattern was found. "
                    "Where the maps hold negative values (before a ReLU) red is a strong response, blue a negative "
                    "one and white none; after a ReLU (no negatives) yellow is strong and dark purple none.",
    "kernels": "Each square is one kernel, the small grid of weights slid over the input to make one feature map: "
               "red weights add the pixel's value, blue ones subtract it.",
    "units": "Each bar is one unit (neuron) of this layer: how strongly it responds to this input "
             "(a following ReLU turns every negative value into zero).",
    "relu": "ReLU has no weights and adds no neurons: it keeps each unit's positive value and turns every "
            "negative one into zero. Each bar is one unit of the layer before, after this cut.",
    "pixels": "Flatten has no weights and no neurons: it lays the 28×28 input image out as one row of 784 pixel "
              "values (row after row), because a fully connected layer reads a list of numbers. "
              "Each bar is one pixel: 0 is background, higher is ink.",
    "flatten": "Flatten has no weights and no neurons: it lays the previous layer's feature maps out as one long "
               "row of numbers (map after map, row after row), because a fully connected layer reads a list.",
    "dropout": "Dropout has no weights and no neurons. While the network trains it sets a random share of these "
               "values to zero at every step, so no unit can rely on one other unit; when the network answers, "
               "as here, it passes every value through unchanged. The bars are the layer before's units.",
    "weight_images": "Each square is one unit's 784 incoming weights laid out as the 28×28 image: red where ink "
                     "excites the unit, blue where ink inhibits it — the pattern the unit looks for.",
    "parameters": "How the layer's learned numbers are spread: most weights are small, near zero.",
    "output": "The last layer's raw scores (logits) and the softmax that turns them into probabilities.",
}


def _source_unit_layer(names: list[str], modules: dict, layer: str) -> str:
    """The nearest layer before ``layer`` that makes neurons (a fully connected one), or ``layer``."""
    from torch import nn

    for name in reversed(names[:names.index(layer)]):
        if isinstance(modules[name], nn.Linear):
            return name
    return layer


def values_figure(model, inspection, layer: str) -> tuple[str, go.Figure]:
    """``(kind, figure)`` of a layer whose output is a flat vector, saying what its numbers are:
    ``"pixels"`` (a flatten of the input image), ``"flatten"`` (of feature maps), ``"dropout"``,
    ``"relu"`` (the units of the layer before, cut at zero) or ``"units"`` (a fully connected
    layer's neurons, before their ReLU)."""
    from torch import nn

    modules = dict(model.named_children())
    names = list(modules)
    module = modules[layer]
    v = inspection.activations[layer].detach().cpu().numpy().reshape(-1)
    before = names[names.index(layer) - 1] if names.index(layer) > 0 else None
    if isinstance(module, nn.Flatten):
        if before is None:  # reads the input image
            return "pixels", unit_activations(
                inspection.image.reshape(-1), layer, ylabel="pixel value (0 = background, 1 = ink)",
                xlabel="pixel (row × 28 + column)",
                title=f"{layer}: the input's {v.size} pixels in one row, {int((inspection.image > 0.05).sum())} "
                      "with ink (pixels, not neurons)")
        shape = tuple(inspection.activations[before].shape)
        return "flatten", unit_activations(
            v, layer, xlabel="value (map × height × width + position)",
            title=f"{layer}: {before}'s {shape[0]} maps of {shape[1]}×{shape[2]} in one row of {v.size:,} values")
    source = _source_unit_layer(names, modules, layer)
    if isinstance(module, nn.Dropout):
        return "dropout", unit_activations(
            v, layer, title=f"{layer}: {source}'s {v.size} units passed through unchanged "
                            f"(dropout zeroes {module.p:.0%} of them only while training)")
    if isinstance(module, nn.ReLU):
        return "relu", unit_activations(
            v, layer, ylabel="activation after ReLU",
            title=f"{layer}: {source}'s {v.size} units after ReLU, {int((v > 0).sum())} above zero")
    return "units", unit_activations(v, layer, ylabel="activation (before ReLU)",
                                     title=f"{layer}: {v.size} units (neurons), {int((v > 0).sum())} above zero")


def layer_figures(model, inspection, layer: str, classes: list[str], in_channel: int | None = None,
                  units: list[int] | None = None, kernels_top: int | None = None,
                  maps_top: int | None = None) -> dict[str, go.Figure]:
    """The figures that open ``layer`` for one inspected input, keyed as in :data:`EXPLAIN`.

    Args:
        model: the ``nn.Sequential`` that was inspected (its weights are read).
        inspection: a :class:`nnviz.inspection.Inspection` of that model.
        in_channel: for a convolution with several input channels, draw only this channel's kernels
            (None: all of them).
        units: for a fully connected layer that reads the 28×28 image (the MLP's first layer),
            the units whose weight images to draw (None: the 32 most active for this input).
        kernels_top: for a convolution with several input channels and no ``in_channel``, only
            the strongest ``kernels_top`` kernels (None: all).
        maps_top: only the ``maps_top`` most active feature maps (None: all).

    Returns ``{"feature_maps" | "units" | "relu" | "dropout" | "pixels" | "flatten" | "output": ...,
    "kernels": ..., "weight_images": ..., "parameters": ...}`` with only the entries that apply to
    this layer: a flat output is named for what its numbers are (see :func:`values_figure`).

    Raises:
        KeyError: no layer called ``layer``.
    """
    from torch import nn

    module = dict(model.named_children())[layer]
    act = inspection.activations[layer].detach().cpu().numpy()
    names = [n for n, _ in model.named_children()]
    figs: dict[str, go.Figure] = {}
    if layer == names[-1]:
        figs["output"] = logits_and_probabilities(inspection.logits, inspection.probabilities, classes,
                                                  inspection.predicted)
    elif act.ndim == 3:
        figs["feature_maps"] = feature_map_grid(act, layer, top=maps_top)
    else:
        kind, fig = values_figure(model, inspection, layer)
        figs[kind] = fig
    if isinstance(module, nn.Conv2d):
        figs["kernels"] = kernel_grid(module.weight.detach().cpu().numpy(), layer, in_channel, top=kernels_top)
    if isinstance(module, nn.Linear) and module.in_features == inspection.image.size:
        w = module.weight.detach().cpu().numpy()
        chosen = units if units is not None else list(np.argsort(-act, kind="stable")[:32])
        figs["weight_images"] = weight_images(w, chosen, layer, inspection.image.shape)
        if units is None or list(units) == list(np.argsort(-act, kind="stable")[:len(units)]):
            figs["weight_images"].layout.title.text = (
                f"{layer}: what its {len(chosen)} most active units for this input look for (weights as 28×28 images)")
    weight = getattr(module, "weight", None)
    if weight is not None:
        bias = getattr(module, "bias", None)
        figs["parameters"] = parameter_histograms(weight.detach().cpu().numpy(),
                                                  None if bias is None else bias.detach().cpu().numpy(), layer)
    return figs
