"""The whole network in one picture, for one input: 3Blue1Brown's 784 → 16 → 16 → 10 drawing
("But what is a neural network?", 2017) made live.

The input layer is the 28×28 image itself; every other neuron is a circle coloured by its
activation ``a = σ(z)`` for this input (output neurons by their softmax probability, labelled with
the class and the probability); edges are weights, blue for positive and red for negative, wider
for larger ``|w|``, only the few strongest into each neuron. Hovering a neuron shows its weighted
sum ``z``, bias ``b``, activation and what it passes on. Traces are named so that tests and pages
can find them: ``"layer 1"`` … ``"output"`` for neurons, ``"input"`` for the image, ``"edges …"``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.numpy_mlp import NumpyMLP, forward, softmax

POSITIVE, NEGATIVE = "#1c7ed6", "#e03131"  # weight sign colours (blue +, red −)
NEURON_SCALE = "Viridis"  # activation colours: dark = low, yellow = high
EDGE_WIDTHS = (0.6, 1.4, 2.6)  # px, for the weakest, middle and strongest third of the edges shown
MAX_DRAWN = 64  # neurons per layer drawn as circles; wider layers are too dense to read
IMAGE_SIZE, IMAGE_BOTTOM = 0.56, 0.22  # the input image's side and lower edge, in column heights
COLUMN_GAP = 0.5  # between neuron columns, in column heights


def layer_positions(n: int, height: float = 1.0) -> np.ndarray:
    """Vertical positions ``(n,)`` in [0, height] for ``n`` neurons of a column, top to bottom."""
    if n == 1:
        return np.array([height / 2])
    margin = height * 0.04
    return np.linspace(height - margin, margin, n)


def network_diagram(mlp: NumpyMLP, x: np.ndarray, image: np.ndarray, classes: list[str] | None = None,
                    edges_per_neuron: int = 3, highlight: tuple[int, int] | None = None,
                    height: int = 560) -> go.Figure:
    """The figure of ``mlp`` for one input.

    Args:
        mlp: the network; every layer at most ``MAX_DRAWN`` neurons wide (the input excepted).
        x: the input ``(n_0,)`` as the network receives it (normalised pixels).
        image: the same input as a picture, ``(28, 28)`` float in [0, 1], ink high.
        classes: the output labels (default ``"0"`` … ``"9"``).
        edges_per_neuron: how many incoming edges to draw per neuron, the largest ``|w|`` for the
            first layer (whose inputs are pixels) and the largest ``|w·a|`` for the others.
        highlight: ``(layer, j)`` of a neuron to ring in black (the one chosen on the page).
        height: figure height in px.

    The neuron traces' ``marker.color`` hold exactly the activations (probabilities for the output
    layer) computed by :func:`nnviz.numpy_mlp.forward` for ``x``.

    Raises:
        ValueError: a layer wider than ``MAX_DRAWN`` or an input that is not ``(28·28,)``.
    """
    widths = mlp.widths
    if max(widths[1:]) > MAX_DRAWN:
        raise ValueError(f"layers of {widths[1:]} neurons are too many to draw; at most {MAX_DRAWN} per layer")
    side = int(round(np.sqrt(widths[0])))
    if side * side != widths[0] or np.shape(image) != (side, side):
        raise ValueError(f"the input layer must be a square image; got {widths[0]} inputs and image {np.shape(image)}")
    classes = classes or [str(c) for c in range(widths[-1])]
    fp = forward(mlp, np.asarray(x, dtype=mlp.weights[0].dtype).reshape(1, -1))
    probabilities = softmax(fp.logits[0])
    L = len(mlp.weights)
    # Coordinates in units of a neuron column's height; about square on a desktop-wide page.
    xs = IMAGE_SIZE + 0.4 + COLUMN_GAP * np.arange(L)  # column of layer l = 1 … L
    px = IMAGE_SIZE / side  # one pixel of the input image
    ys = [layer_positions(w) for w in widths[1:]]
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=np.asarray(image, float)[::-1], x0=px / 2, dx=px, y0=IMAGE_BOTTOM + px / 2, dy=px,
                             colorscale="gray", zmin=0, zmax=1, showscale=False, name="input",
                             hovertemplate="pixel %{customdata}: %{z:.2f}<extra>input</extra>",
                             customdata=np.arange(side * side).reshape(side, side)[::-1]))

    # Edges: collect every segment, then one trace per (sign, width class) since a trace has one width.
    segments = {}
    all_mags = []
    for l in range(1, L + 1):
        W = mlp.weights[l - 1]
        strength = np.abs(W) if l == 1 else np.abs(W * fp.activations[l - 1][0])
        for j in range(W.shape[0]):
            for k in np.argsort(-strength[j])[:edges_per_neuron]:
                if l == 1:  # from the pixel's place in the image
                    r, c = divmod(int(k), side)
                    start = ((c + 0.5) * px, IMAGE_BOTTOM + IMAGE_SIZE - (r + 0.5) * px)
                else:
                    start = (xs[l - 2], ys[l - 2][k])
                all_mags.append((l, j, int(k), float(W[j, k]), start, (xs[l - 1], ys[l - 1][j])))
    mags = np.array([abs(e[3]) for e in all_mags])
    cuts = np.quantile(mags, [1 / 3, 2 / 3]) if len(mags) else [0, 0]
    for l, j, k, w, (x0, y0), (x1, y1) in all_mags:
        key = (w >= 0, int(np.searchsorted(cuts, abs(w))))
        seg = segments.setdefault(key, ([], []))
        seg[0].extend([x0, x1, None])
        seg[1].extend([y0, y1, None])
    for (positive, width_class), (sx, sy) in sorted(segments.items()):
        fig.add_trace(go.Scatter(x=sx, y=sy, mode="lines", hoverinfo="skip", showlegend=False,
                                 name=f"edges {'+' if positive else '−'} {width_class}", opacity=0.55,
                                 line=dict(color=POSITIVE if positive else NEGATIVE, width=EDGE_WIDTHS[width_class])))

    # Neurons: one trace per layer, coloured by what the neuron outputs for this input.
    for l in range(1, L + 1):
        z, b = fp.zs[l - 1][0], mlp.biases[l - 1]
        last = l == L
        values = probabilities if last else fp.activations[l][0]
        what = "probability softmax(z)" if last else f"activation a = {mlp.activation}(z)"
        custom = np.stack([np.arange(len(z)), z, b, values], axis=1)
        hover = (f"<b>{'output' if last else f'layer {l}'}, neuron %{{customdata[0]:.0f}}</b><br>"
                 "weighted sum z = Σ w·a + b = %{customdata[1]:.3f}<br>bias b = %{customdata[2]:.3f}<br>"
                 f"{what} = %{{customdata[3]:.3f}}<br>"
                 + ("the network's probability for this class" if last else
                    f"passed on to the {widths[l + 1]} neurons of the next layer") + "<extra></extra>")
        line_w = [3 if highlight == (l, j) else 1 for j in range(len(z))]
        line_c = ["#000000" if highlight == (l, j) else "#495057" for j in range(len(z))]
        fig.add_trace(go.Scatter(
            x=np.full(len(z), xs[l - 1]), y=ys[l - 1], mode="markers+text" if last else "markers",
            name="output" if last else f"layer {l}", customdata=custom, hovertemplate=hover,
            text=[f"{classes[j]}  {values[j]:.0%}" for j in range(len(z))] if last else None,
            textposition="middle right", textfont=dict(size=13),
            marker=dict(size=15 if last else 13, color=values, colorscale=NEURON_SCALE,
                        cmin=0.0, cmax=1.0 if last or mlp.activation == "sigmoid" else max(float(values.max()), 1e-9),
                        line=dict(width=line_w, color=line_c)),
            showlegend=False))

    labels = ["input<br>28×28 pixels"] + [f"layer {l}<br>{widths[l]} neurons" for l in range(1, L)] + ["output<br>softmax"]
    for x_pos, text in zip([IMAGE_SIZE / 2, *xs], labels):
        fig.add_annotation(x=x_pos, y=1.02, yanchor="bottom", text=text, showarrow=False, font=dict(size=12))
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=5, b=5), plot_bgcolor="white", hovermode="closest",
                      # No locked aspect ratio: on a phone a locked one shrinks the whole drawing to a
                      # strip; unlocked, the circles stay readable and only the image's pixels stretch.
                      xaxis=dict(visible=False, range=[-0.02, xs[-1] + 0.4], fixedrange=True),
                      yaxis=dict(visible=False, range=[-0.02, 1.12], fixedrange=True))
    return fig


def neuron_weights_image(weights: np.ndarray, layer: int, j: int) -> go.Figure:
    """The ``(784,)`` incoming weights of neuron ``j`` of layer 1 as a 28×28 picture — "what this
    neuron looks for": blue pixels push its weighted sum up when inked, red ones push it down.
    Colours are symmetric about 0 so white means "does not care"."""
    w = np.asarray(weights, float)
    side = int(round(np.sqrt(w.size)))
    limit = float(np.abs(w).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=w.reshape(side, side), colorscale=[[0, NEGATIVE], [0.5, "#ffffff"], [1, POSITIVE]],
                               zmin=-limit, zmax=limit, colorbar=dict(title="w", thickness=12),
                               hovertemplate="row %{y}, col %{x}: w = %{z:.3f}<extra></extra>"))
    fig.update_layout(title=f"Weights into neuron {j}", height=320,
                      margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))
    return fig
