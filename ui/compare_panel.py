"""Streamlit glue of the "Compare two networks" page: two digit networks, one input, the same views
row by row so they line up."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from nnviz.figures import channels as channel_figures
from nnviz.figures.attribution import attribution_overlay
from nnviz.figures.layers import layer_figures
from nnviz.figures.probabilities import input_image, probability_bars
from nnviz.inspection import Inspection, inspect
from nnviz.preprocess import BlankDrawing
from ui import occlusion_views
from ui.drawing import current_digit
from ui.inspect_cache import missing_test_set, test_set
from ui.resources import digit_classifier, digit_model_cards

PLOT = {"displaylogo": False}
SHIFTS = list(range(-6, 7))  # pixels; MNIST digits sit in a 20×20 box in the 28×28 field: 4 px of room a side


def choose_models() -> tuple[str, str]:
    """Two selectboxes of the digit networks (shipped and this session's saved ones): the CNN on the
    left and the MLP on the right by default."""
    names = [c["name"] for c in digit_model_cards()]
    if len(names) < 2:
        st.error("Comparing needs two trained digit networks; `trained/` holds fewer.")
        st.stop()
    kinds = {c["name"]: c["architecture"]["kind"].upper() for c in digit_model_cards()}
    label = {n: f"{kinds[n]} — {n}" for n in names}
    left_default = names.index("digits-cnn") if "digits-cnn" in names else 0
    right_default = names.index("digits-mlp") if "digits-mlp" in names else (1 if left_default == 0 else 0)
    left, right = st.columns(2, gap="large")
    a = left.selectbox("Left network", names, index=left_default, format_func=label.get, key="compare_left")
    b = right.selectbox("Right network", names, index=right_default, format_func=label.get, key="compare_right")
    return a, b


@dataclass
class Digit:
    """The input both networks see: ``pixels`` ``(28, 28)`` float32 in [0, 1] and what it is."""

    pixels: np.ndarray
    about: str


def choose_digit() -> Digit:
    """The student's drawing if there is one, else an MNIST test digit (chosen by index)."""
    try:
        drawing = current_digit().image
    except BlankDrawing:
        drawing = None
    options = (["Your drawing"] if drawing is not None else []) + ["A test image"]
    source = st.radio("Input", options, horizontal=True, key="compare_source")
    if source == "Your drawing":
        return Digit(np.asarray(drawing, np.float32), "your drawing")
    if drawing is None:
        st.caption("No drawing yet (draw one on the **Draw a digit** page); here is a test image.")
    missing = missing_test_set()
    if missing:
        st.warning(missing, icon=":material/cloud_off:")
        st.stop()
    _, labels, pixels = test_set()
    index = st.number_input("Test image index (0–9,999)", 0, len(labels) - 1, 0, key="compare_index")
    return Digit(pixels[index], f"test image #{index}, labelled {int(labels[index])}")


def shifted(pixels: np.ndarray, right: int, down: int = 0) -> np.ndarray:
    """``pixels`` ``(28, 28)`` moved ``right`` and ``down`` pixels (negative: left, up); what leaves
    the field is lost and the space left behind is background (0)."""
    out = np.zeros_like(pixels)
    h, w = pixels.shape
    src = pixels[max(0, -down):h - max(0, down), max(0, -right):w - max(0, right)]
    out[max(0, down):max(0, down) + src.shape[0], max(0, right):max(0, right) + src.shape[1]] = src
    return out


def run(name: str, pixels: np.ndarray) -> Inspection:
    """One network on the input: activations, answer, Grad-CAM (None for an MLP) and saliency."""
    c = digit_classifier(name)
    x = torch.from_numpy((pixels - c.mean) / c.std).float()[None, None]
    return inspect(c.model, x, pixels)


def answers(names: tuple[str, str], results: tuple[Inspection, Inspection]) -> None:
    """Each network's answer, its confidence and its probability bars, side by side."""
    st.caption("Each bar: the probability the network gives that class (softmax of its logits); the blue bar "
               "is its answer.")
    for i, (column, name, r) in enumerate(zip(st.columns(2, gap="large"), names, results)):
        classes = digit_classifier(name).classes
        with column:
            st.metric(f"{name} answers", classes[r.predicted], f"{r.probabilities[r.predicted]:.1%} sure",
                      delta_color="off", delta_arrow="off")
            st.plotly_chart(probability_bars(r.probabilities, classes, r.predicted, f"{name}: probabilities"),
                            config=PLOT, width="stretch", key=f"compare_bars_{i}")


SAMPLE = 500  # test images for the accuracy under shifts


@st.cache_data(show_spinner="Moving 500 test images sideways through the network…", max_entries=16)
def shifted_accuracy(name: str, sha: str) -> list[float]:
    """Network ``name``'s accuracy on the first :data:`SAMPLE` test images moved by each of
    :data:`SHIFTS` pixels (``sha``: its weights' hash, so a retrained network is recomputed)."""
    c = digit_classifier(name)
    _, labels, pixels = test_set()
    out = []
    for s in SHIFTS:
        x = torch.from_numpy((np.stack([shifted(p, s) for p in pixels[:SAMPLE]]) - c.mean) / c.std).float()[:, None]
        with torch.no_grad():
            out.append(float((c.model(x).argmax(1) == labels[:SAMPLE]).float().mean()))
    return out


def shift_curves(names: tuple[str, str], pixels: np.ndarray, class_index: int, class_name: str) -> None:
    """Each network's probability of the class as this digit moves sideways, and its accuracy on
    :data:`SAMPLE` test images moved the same way (when the test set is here)."""
    curves, accuracies = {}, {}
    for name in dict.fromkeys(names):
        c = digit_classifier(name)
        batch = np.stack([shifted(pixels, s) for s in SHIFTS])
        x = torch.from_numpy((batch - c.mean) / c.std).float()[:, None]
        with torch.no_grad():
            curves[name] = torch.softmax(c.model(x), 1)[:, class_index].tolist()
        if missing_test_set() is None:
            accuracies[name] = shifted_accuracy(name, str(c.card.get("weights_sha256", name)))
    st.plotly_chart(channel_figures.shift_curves(SHIFTS, curves, class_name, accuracies, SAMPLE), config=PLOT,
                    width="stretch", key="compare_shift_curves")
    st.caption("Solid: this digit's probability; dashed: how many of 500 test digits each network still gets "
               "right when they are all moved the same way. A convolution slides the same kernels over every "
               "position, so a CNN finds a stroke wherever it is; an MLP has one weight per pixel and learned "
               "digits where they usually sit.")


def where_they_look(names: tuple[str, str], results: tuple[Inspection, Inspection]) -> None:
    """Grad-CAM (or why there is none), saliency and occlusion for both networks, row by row."""
    cols = st.columns(2, gap="large")
    for i, (column, name, r) in enumerate(zip(cols, names, results)):
        classes = digit_classifier(name).classes
        with column:
            if r.grad_cam is not None:
                st.plotly_chart(attribution_overlay(r.image, r.grad_cam, f"{name}: Grad-CAM"),
                                config=PLOT, width="stretch", key=f"compare_cam_{i}")
                st.caption(f"Grad-CAM for {classes[r.target]}: the last convolution's ({r.grad_cam_layer}) feature "
                           "maps, weighted by how much each raises the answer's logit.")
            else:
                st.info(f"{name} has no convolution layers, so there are no feature maps for Grad-CAM; the "
                        "saliency map and occlusion below work for any network.")
    cols = st.columns(2, gap="large")
    for i, (column, name, r) in enumerate(zip(cols, names, results)):
        classes = digit_classifier(name).classes
        with column:
            st.plotly_chart(attribution_overlay(r.image, r.saliency, f"{name}: saliency"),
                            config=PLOT, width="stretch", key=f"compare_sal_{i}")
            st.caption(f"Saliency for {classes[r.target]}: how much the answer's logit changes when one pixel "
                       "changes.")
    cols = st.columns(2, gap="large")
    for i, (column, name, r) in enumerate(zip(cols, names, results)):
        c = digit_classifier(name)
        with column:
            occlusion_views.digit_occlusion(c.model, r.inputs, r.image, r.target, c.classes[r.target],
                                            c.mean, c.std, key=f"compare_occlusion_{i}", title=f"{name}: occlusion")


def first_layers(names: tuple[str, str], results: tuple[Inspection, Inspection]) -> None:
    """The first layer with parameters of each network, side by side: feature maps for a CNN, units
    for an MLP."""
    for i, (column, name, r) in enumerate(zip(st.columns(2, gap="large"), names, results)):
        c = digit_classifier(name)
        first = next(n for n, m in c.model.named_children() if any(True for _ in m.parameters()))
        figs = layer_figures(c.model, r, first, c.classes, maps_top=16)
        kind = "feature_maps" if "feature_maps" in figs else next(iter(figs))
        with column:
            st.plotly_chart(figs[kind], config=PLOT, width="stretch", key=f"compare_layer_{i}")
            st.caption(f"{name}'s first layer, {first}: " + (
                "each tile is one kernel's feature map, the same kernel applied at every position."
                if kind == "feature_maps" else "each bar is one unit, a weighted sum of all 784 pixels."))


def the_input(digit_pixels: np.ndarray, about: str) -> None:
    """The 28×28 input both networks receive, and a sentence saying what it is."""
    st.plotly_chart(input_image(digit_pixels, "The input, 28×28"), config=PLOT,
                    width="stretch", key="compare_input")
    st.caption(f"The same 28×28 pixels go into both networks: {about}.")
