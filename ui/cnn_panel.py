"""Streamlit glue of the "How a CNN sees" page: the CNN and the input, one convolution worked
through (position chosen by a click on the feature map, number inputs or arrow buttons; a
slider and a play button slide the kernel), and a unit's receptive field.

The numbers come from :mod:`nnviz.convolution` and :mod:`nnviz.receptive_field`, the figures
from :mod:`nnviz.figures.convolution`. Session state keys start with ``cnn_``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st
import torch

from nnviz.convolution import WorkedConvolution, kernel_positions, next_layer, worked_convolution
from nnviz.figures.convolution import (channel_sums_figure, feature_map_figure, number, number_grid,
                                       pool_window_figure, receptive_field_figure, window_figure)
from nnviz.inspection import capture_activations, conv_layers, layer_kind
from nnviz.predict import DigitClassifier
from nnviz.preprocess import BlankDrawing
from nnviz.receptive_field import receptive_field_box, unit_value_and_gradient
from ui import saved_models
from ui.drawing import current_digit
from ui.inspect_cache import missing_test_set, test_set
from ui.resources import digit_classifier, digit_model_cards

PLOT = {"displayModeBar": False}
INPUTS = ["Your drawing", "A test image"]
PLAY_EVERY_S = 0.4  # one frame of the sliding kernel; a full 28×28 map fills in about 16 s
FRAMES = 100  # frames to fill a feature map when playing


@dataclass
class CnnInput:
    """The input the page works on: ``x`` ``(1, 1, 28, 28)`` float32 normalised, ``picture``
    ``(28, 28)`` float32 in [0, 1] (ink high), ``about`` (a phrase for titles)."""

    x: torch.Tensor
    picture: np.ndarray
    about: str


# --- the network and the input -------------------------------------------------------------------


def choose_cnn(key: str = "cnn_model") -> tuple[str, DigitClassifier]:
    """A radio of the convolutional digit networks (the shipped digits-cnn and this session's saved
    CNNs) and a way to open one saved earlier; returns ``(name, classifier)``. Without any CNN it
    says how to get one and stops the page."""
    problems: list[str] = []
    cards = [c for c in digit_model_cards(problems) if c.get("architecture", {}).get("kind") == "cnn"]
    for problem in problems:
        st.warning(problem, icon=":material/broken_image:")
    if not cards:
        st.error("No convolutional network found. Train a CNN on the **Train a network** page and save it.")
        st.stop()
    labels = {c["name"]: c["name"] + (" (batch norm)" if c["architecture"].get("batch_norm") else "") for c in cards}
    name = st.radio("Convolutional network", list(labels), format_func=labels.get, horizontal=True, key=key)
    saved_models.open_saved_model(key)
    return name, digit_classifier(name)


def choose_input(classifier: DigitClassifier) -> CnnInput:
    """The student's drawing when there is one (else a note and a test image), or an MNIST test
    image by index. Without a drawing and without the test set, says so and stops the page."""
    try:
        digit = current_digit()
    except BlankDrawing:
        digit = None
    source = INPUTS[0] if digit is not None else INPUTS[1]
    if digit is not None:
        source = st.segmented_control("Input", INPUTS, default=INPUTS[0], key="cnn_source") or INPUTS[0]
    else:
        st.info("No drawing yet: draw a digit on the **Draw a digit** page and it appears here. "
                "Meanwhile, an MNIST test image.")
    if source == INPUTS[0]:
        return CnnInput(digit.tensor(classifier.mean, classifier.std), digit.image, "your drawing")
    if missing := missing_test_set():
        st.warning(missing, icon=":material/cloud_off:")
        st.stop()
    images, labels, pixels = test_set()
    index = int(st.number_input("Test image index (0–9,999)", 0, len(labels) - 1, 0, key="cnn_index"))
    return CnnInput(images[index:index + 1], pixels[index], f"test image #{index} (a {int(labels[index])})")


def forward_pass(classifier: DigitClassifier, chosen: CnnInput) -> OrderedDict[str, torch.Tensor]:
    """Every layer's output for the input (one forward pass, a few milliseconds)."""
    return capture_activations(classifier.model, chosen.x)


# --- 1. one convolution ---------------------------------------------------------------------------


def choose_convolution(model: torch.nn.Module, activations) -> tuple[str, int]:
    """The convolution layer and output channel to work through; returns ``(layer, channel)``."""
    convs = conv_layers(model)
    a, b = st.columns(2)
    layer = a.segmented_control("Convolution layer", convs, default=convs[0], key="cnn_layer") or convs[0]
    channels = activations[layer].shape[1]
    if st.session_state.get("cnn_channel", 0) >= channels:
        st.session_state["cnn_channel"] = 0
    channel = int(b.number_input(f"Output channel (0–{channels - 1})", 0, channels - 1, key="cnn_channel"))
    return layer, channel


def _clamp_position(height: int, width: int, start: tuple[int, int]) -> None:
    for key, size, first in (("cnn_row", height, start[0]), ("cnn_col", width, start[1])):
        value = st.session_state.get(key, first)
        st.session_state[key] = min(max(int(value), 0), size - 1)


def _move(dr: int, dc: int, height: int, width: int) -> None:
    st.session_state["cnn_row"] = min(max(st.session_state["cnn_row"] + dr, 0), height - 1)
    st.session_state["cnn_col"] = min(max(st.session_state["cnn_col"] + dc, 0), width - 1)


def _clicked(chart_key: str, row_key: str, col_key: str) -> None:
    """A click on a feature map's cell (the invisible marker there) moves the position to it."""
    event = st.session_state.get(chart_key)
    points = event.selection.points if event else []
    if points:
        st.session_state[row_key] = int(points[0]["y"])
        st.session_state[col_key] = int(points[0]["x"])


def choose_position(feature_map: torch.Tensor) -> tuple[int, int]:
    """Row and column of the output cell of ``feature_map`` ``(H, W)``: number inputs and ◀ ▲ ▼ ▶
    buttons (a click on the feature map sets them too, see :func:`show_window_and_map`); at first
    the map's strongest cell, where the kernel found most of its pattern. Returns ``(row, col)``."""
    height, width = feature_map.shape
    _clamp_position(height, width, divmod(int(feature_map.argmax()), width))
    r, c, pad = st.columns([2, 2, 3], vertical_alignment="bottom")
    r.number_input(f"Row (0–{height - 1})", 0, height - 1, key="cnn_row")
    c.number_input(f"Column (0–{width - 1})", 0, width - 1, key="cnn_col")
    with pad:
        # One row of buttons, even on a phone (columns would stack them one per line there).
        with st.container(horizontal=True, gap="small"):
            for label, dr, dc, word in [("◀", 0, -1, "left"), ("▲", -1, 0, "up"), ("▼", 1, 0, "down"),
                                        ("▶", 0, 1, "right")]:
                st.button(label, key=f"cnn_move_{word}", help=f"Move the kernel one cell {word}",
                          on_click=_move, args=(dr, dc, height, width))
    return st.session_state["cnn_row"], st.session_state["cnn_col"]


def show_window_and_map(worked: WorkedConvolution, chosen: CnnInput, in_channel: int) -> None:
    """The kernel's window on the layer's input (the drawing for conv1, input channel
    ``in_channel`` for a deeper layer) beside the channel's feature map, the cell outlined."""
    w = worked
    k = w.kernel_size
    left, right = st.columns(2, gap="medium")
    with left:
        if len(w.patch) == 1:
            fig = window_figure(chosen.picture, w.top, w.left, k, f"The {k}×{k} window on the input")
        else:
            fig = window_figure(w.layer_input[in_channel], w.top, w.left, k,
                                f"The window on input channel {in_channel}", grey=False)
        st.plotly_chart(fig, config=PLOT, width="stretch", key="cnn_window")
        st.caption(f"The amber square is the {k}×{k} block of {w.layer}'s input the kernel covers for this cell; "
                   "a dotted outline means it hangs over the edge, where the input is padded with zeros.")
    with right:
        h, wd = w.feature_map.shape
        st.plotly_chart(feature_map_figure(w.feature_map, w.row, w.col, f"Feature map {w.layer}:{w.channel}"),
                        config=PLOT, width="stretch", key="cnn_fmap", selection_mode="points",
                        on_select=partial(_clicked, "cnn_fmap", "cnn_row", "cnn_col"))
        st.caption(f"The {h}×{wd} feature map of {w.layer}'s channel {w.channel}: every cell is one kernel position. Red is positive, blue negative. "
                   "**Click a cell** to work it through.")


def choose_input_channel(worked: WorkedConvolution) -> int:
    """For a layer with many input channels: the bar chart of each channel's share of the sum
    and the channel to show in full (default: the one that adds the most, in size). Returns it;
    0 for a one-channel input."""
    if len(worked.patch) == 1:
        return 0
    sums = worked.channel_sums
    options = list(range(len(sums)))
    default = int(np.argmax(np.abs(sums)))
    if st.session_state.get("cnn_in_channel") not in options:
        st.session_state["cnn_in_channel"] = default
    chosen = int(st.session_state["cnn_in_channel"])
    st.plotly_chart(channel_sums_figure(sums, chosen, f"{worked.layer} reads {len(sums)} input channels: "
                                        "each one's Σ patch × kernel"), config=PLOT, width="stretch",
                    key="cnn_sums")
    st.caption(f"For {worked.layer}, the kernel is {len(sums)} stacked {worked.kernel_size}×{worked.kernel_size} "
               "kernels, one per input channel; each bar is one channel's sum of products, and the bars add up to the "
               "output before the bias. The amber bar is the channel shown in full below.")
    st.selectbox("Input channel to show in full", options, key="cnn_in_channel",
                 format_func=lambda i: f"channel {i} (adds {number(float(sums[i]), 3)})")
    return int(st.session_state["cnn_in_channel"])


def show_arithmetic(worked: WorkedConvolution, in_channel: int) -> None:
    """The patch, the kernel and their products as number grids, then Σ products + bias = output."""
    w, k = worked, worked.kernel_size
    which = "" if len(w.patch) == 1 else f" (input channel {in_channel} of {len(w.patch)})"
    cols = st.columns(3, gap="small")
    grids = [("patch", w.patch[in_channel], f"Input patch{which}", "the layer's input under the window (0 in the padding)"),
             ("kernel", w.kernel[in_channel], "× kernel (weights)", "the channel's learned weights, the same at every position"),
             ("products", w.products[in_channel], "= products", "each input value times the weight on top of it")]
    for col, (key, values, title, about) in zip(cols, grids):
        with col:
            st.plotly_chart(number_grid(values, title, digits=2), config=PLOT, width="stretch", key=f"cnn_{key}")
            st.caption(about)
    total = float(w.products.sum(dtype=np.float64))
    many = "" if len(w.patch) == 1 else f" over all {len(w.patch)} input channels"
    st.markdown(f"**Σ products{many}** = {number(total, 4)}  **+ bias** {number(w.bias, 4)}  "
                f"**= output** {number(w.output, 4)}" + ("  (no bias: the batch normalisation after it would "
                                                         "cancel one)" if w.bias == 0 else ""))
    st.caption(f"The output is {w.layer}'s own number from the network's forward pass; the sum above equals it "
               "to the last digits of float32 rounding. It is the amber cell of the feature map.")


STEP_WORDS = {
    "ReLU": "ReLU keeps a positive number and turns a negative one into 0",
    "max pooling": "max pooling keeps the largest of each 2×2 window, halving the map's size",
    "batch normalisation": "batch normalisation rescales with statistics learned in training",
}


def show_steps(model: torch.nn.Module, worked: WorkedConvolution) -> None:
    """Each operation after the convolution, in the network's order, with its value, up to the
    number the next layer reads."""
    value = worked.output
    for i, step in enumerate(worked.steps, start=1):
        name, v = step["name"], step["value"]
        st.markdown(f"**{i}. {name}** ({step['layer']}) — {STEP_WORDS.get(name, '')}")
        if name == "ReLU":
            st.markdown(f"max(0, {number(step['input'], 4)}) = **{number(v, 4)}**")
        elif name == "batch normalisation":
            st.markdown(f"({number(step['input'], 4)} − mean {number(step['running_mean'], 4)}) "
                        f"/ √(variance {number(step['running_var'], 4)} + {step['eps']:g}) "
                        f"× γ {number(step['gamma'], 4)} + β {number(step['beta'], 4)} = **{number(v, 4)}**")
        elif name in ("max pooling", "average pooling"):
            left, right = st.columns([1, 2], vertical_alignment="center")
            r, c = step["position"]
            with left:
                st.plotly_chart(pool_window_figure(np.array(step["window"]), tuple(step["in_window"]),
                                                   f"→ {step['layer']} ({r}, {c})"),
                                config=PLOT, width="stretch", key=f"cnn_pool_{i}")
            with right:
                if step.get("wins") and step.get("ties", 1) > 1:
                    verdict = f"this cell ties for the largest ({number(v, 4)}) with {step['ties'] - 1} other(s)"
                elif step.get("wins"):
                    verdict = "this cell **wins**: its value is the largest, so it goes on"
                else:
                    verdict = (f"this cell **loses**: {number(step['input'], 4)} is not the largest, "
                               f"so its number stops here; {number(v, 4)} goes on instead")
                st.markdown(f"Window at rows {step['window_top_left'][0]}–{step['window_top_left'][0] + 1}, "
                            f"columns {step['window_top_left'][1]}–{step['window_top_left'][1] + 1} (the amber cell "
                            f"is ours): max = **{number(v, 4)}**; {verdict}.")
                st.caption("The window's values are the previous step's outputs at its four cells.")
        else:
            st.markdown(f"{number(step['input'], 4)} → **{number(v, 4)}**")
        value = v
    reader = next_layer(model, worked.layer)
    if worked.steps:
        r, c = worked.steps[-1]["position"]
        st.success(f"{number(value, 4)} is the number {reader} reads at channel {worked.channel}, "
                   f"position ({r}, {c}).", icon=":material/arrow_downward:")


def sliding_kernel(model: torch.nn.Module, chosen: CnnInput, activations, layer: str, channel: int,
                   in_channel: int) -> None:
    """The kernel sliding across the input and filling the feature map: a slider of the
    position (1 … H×W) and a play toggle that advances it on a timer (a fragment, so only this
    part reruns)."""
    fmap = activations[layer][0, channel]
    h, w = fmap.shape
    positions = kernel_positions(h, w)
    playing = st.toggle("▶ Play: slide the kernel", key="cnn_play",
                        help="Moves the kernel cell by cell across the input, row by row, and fills the feature map")

    @st.fragment(run_every=PLAY_EVERY_S if playing else None)
    def frames():
        if st.session_state.get("cnn_slide", 1) > h * w:
            st.session_state["cnn_slide"] = 1
        if playing:
            step = max(1, h * w // FRAMES)
            st.session_state["cnn_slide"] = st.session_state.get("cnn_slide", 0) % (h * w) + step
            st.session_state["cnn_slide"] = min(st.session_state["cnn_slide"], h * w)
        at = st.slider(f"Kernel position (1–{h * w}, row by row)", 1, h * w, key="cnn_slide")
        r, c = positions[at - 1]
        worked = worked_convolution(model, chosen.x, layer, channel, r, c, activations)
        left, right = st.columns(2, gap="medium")
        with left:
            plane = chosen.picture if len(worked.patch) == 1 else worked.layer_input[in_channel]
            st.plotly_chart(window_figure(plane, worked.top, worked.left, worked.kernel_size,
                                          f"Position {at}: row {r}, column {c}",
                                          grey=len(worked.patch) == 1),
                            config=PLOT, width="stretch", key="cnn_slide_window")
        with right:
            st.plotly_chart(feature_map_figure(worked.feature_map, r, c, f"{at} of {h * w} cells filled", revealed=at, clickable=False),
                            config=PLOT, width="stretch", key="cnn_slide_map")
        st.caption(f"At each position the same kernel multiplies the {worked.kernel_size}×{worked.kernel_size} "
                   f"block under it and adds the products and the bias: here Σ + bias = "
                   f"{number(worked.output, 4)}, written into cell ({r}, {c}).")

    frames()


# --- 2. receptive field ---------------------------------------------------------------------------


def _layer_label(model: torch.nn.Module, name: str, activations) -> str:
    shape = "×".join(map(str, activations[name].shape[1:]))
    return f"{name} — {layer_kind(dict(model.named_children())[name])}, {shape}"


def receptive_field(model: torch.nn.Module, chosen: CnnInput, activations) -> None:
    """Choose a unit at any layer (a click on its feature map, or numbers); see its theoretical
    receptive field (a box) and its effective one (the gradient) on the input."""
    children = dict(model.named_children())
    names = [n for n, m in children.items() if not isinstance(m, (torch.nn.Flatten, torch.nn.Dropout))]
    layer = st.selectbox("Layer", names, key="cnn_rf_layer", format_func=lambda n: _layer_label(model, n, activations))
    act = activations[layer][0]
    if act.dim() == 3:
        c_count, h, w = act.shape
        if st.session_state.get("cnn_rf_for") != layer:  # a new layer: start at its most active unit
            ch, r, c = np.unravel_index(int(act.argmax()), act.shape)
            st.session_state.update(cnn_rf_for=layer, cnn_rf_channel=int(ch), cnn_rf_row=int(r), cnn_rf_col=int(c))
        a, b, d = st.columns(3)
        channel = int(a.number_input(f"Channel (0–{c_count - 1})", 0, c_count - 1, key="cnn_rf_channel"))
        row = int(b.number_input(f"Row (0–{h - 1})", 0, h - 1, key="cnn_rf_row"))
        col = int(d.number_input(f"Column (0–{w - 1})", 0, w - 1, key="cnn_rf_col"))
        unit = (channel, row, col)
    else:
        count = act.shape[0]
        if st.session_state.get("cnn_rf_for") != layer:
            st.session_state.update(cnn_rf_for=layer, cnn_rf_unit=int(act.argmax()))
        unit = (int(st.number_input(f"Unit (0–{count - 1}; it starts at the most active one)", 0, count - 1,
                                    key="cnn_rf_unit")),)
    box = receptive_field_box(model, layer, unit, tuple(chosen.x.shape[1:]))
    value, gradient = unit_value_and_gradient(model, chosen.x, layer, unit)
    left, right = st.columns(2, gap="medium")
    with left:
        if act.dim() == 3:
            st.plotly_chart(feature_map_figure(act[unit[0]].numpy(), unit[1], unit[2],
                                               f"{layer}, channel {unit[0]}"),
                            config=PLOT, width="stretch", key="cnn_rf_map", selection_mode="points",
                            on_select=partial(_clicked, "cnn_rf_map", "cnn_rf_row", "cnn_rf_col"))
            st.caption("Each cell is one unit of this layer. **Click a cell** to see what it can see.")
        else:
            st.metric(f"{layer}, unit {unit[0]}", number(value, 4))
            st.caption(f"A fully connected unit reads every value of the layer before it, so it can see the whole image.")
    with right:
        st.plotly_chart(receptive_field_figure(chosen.picture, box.to_list(), gradient.sum(0),
                                               f"What {layer} ({', '.join(map(str, unit))}) sees"),
                        config=PLOT, width="stretch", key="cnn_rf_figure")
        st.caption(f"The amber box ({box.height}×{box.width} pixels) is the theoretical receptive field: the only "
                   "pixels that can change this unit. The heat is the effective field: how much this unit changes when "
                   "each pixel changes (the gradient's size).")
    if not np.any(gradient):
        st.info(f"This unit is {number(value, 4)} here: the ReLU (or a max-pooling window it loses) cut it off, so "
                "no small change of a pixel changes it, and its effective field is empty. Pick a unit with a "
                "positive value (red).")
    else:
        inside = float(np.abs(gradient).sum(0)[box.mask(*gradient.shape[1:])].sum() / np.abs(gradient).sum())
        st.caption(f"Unit value {number(value, 4)}; {inside:.0%} of the gradient lies inside the box "
                   "(all of it, always: no pixel outside can reach the unit).")
