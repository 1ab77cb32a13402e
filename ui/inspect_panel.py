"""Streamlit glue of the Inspect page: choosing the input, the layer table, and the two test-set
sections (how good the network is, the map of its learned features).

The numbers all come from :mod:`nnviz.inspection`, :mod:`nnviz.evaluation` and
:mod:`nnviz.embedding`; the figures from :mod:`nnviz.figures`. What is computed once per network
is cached in :mod:`ui.inspect_cache`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from nnviz.figures.embedding import embedding_scatter
from nnviz.figures.evaluation import confusion_matrix_figure, digit_gallery, per_class_accuracy_figure
from nnviz.figures.tiles import png_data_url
from nnviz.inspection import Inspection, LayerInfo, most_active_units, penultimate_layer
from nnviz.predict import DigitClassifier
from nnviz.preprocess import BlankDrawing
from nnviz.samples import DATA_HINT, sample_digits
from ui.drawing import current_digit
from ui.layout import wrapping_row
from ui.inspect_cache import embedding, missing_test_set, test_report, test_set

PLOT = {"displayModeBar": False}
INPUTS = ["Your drawing", "A test image", "Show me a mistake"]
KERNELS_TOP = 32  # kernels shown first of a wall (conv2: 2,048): 4 rows of 8, each 80 px, readable projected
MAPS_TOP = 16  # feature maps shown first when a layer has more


@dataclass
class ChosenInput:
    """The input the page opens the network on: ``x`` ``(1, 1, 28, 28)`` float32 normalised,
    ``picture`` ``(28, 28)`` float32 in [0, 1], ``about`` (a phrase) and ``short`` (a label)."""

    x: torch.Tensor
    picture: np.ndarray
    about: str
    short: str


def choose_source() -> str:
    """Where the input comes from (one of :data:`INPUTS`), full width so its three buttons fit a tablet."""
    return st.segmented_control("Input", INPUTS, default=INPUTS[0], key="inspect_source") or INPUTS[0]


def choose_input(classifier: DigitClassifier, model_name: str, source: str) -> ChosenInput:
    """The input from ``source``: the student's drawing, a test image by class or index, or one of
    the network's mistakes (another at each press). Without a drawing, test image #0 with a note.
    Without the test set (offline, no data folder) only the drawing works: the other sources, and
    no drawing yet, say so in plain words and stop the page there."""
    missing = missing_test_set()
    index = 0
    if source == "Your drawing":
        try:
            digit = current_digit()
            return ChosenInput(digit.tensor(classifier.mean, classifier.std), digit.image, "your drawing", "drawing")
        except BlankDrawing:
            st.info("No drawing yet: draw a digit on the **Draw a digit** page, then come back. "
                    "Meanwhile here is test image #0.")
            st.page_link("app_pages/draw.py", label="Draw a digit", icon=":material/draw:")
    if missing:
        return shipped_input(classifier, source)
    images, labels, pixels = test_set()
    if source == "Show me a mistake":
        wrong = test_report(model_name).mistakes()
        if st.button("Show me another mistake", icon=":material/casino:") or "inspect_mistake" not in st.session_state:
            st.session_state["inspect_mistake"] = int(np.random.default_rng().choice(wrong))
        index = st.session_state["inspect_mistake"]
        if index not in set(wrong.tolist()):  # another network was chosen: it may get this one right
            index = st.session_state["inspect_mistake"] = int(wrong[0])
        st.caption(f"One of the {len(wrong)} test images this network gets wrong.")
    elif source == "A test image":
        how = st.radio("Pick it", ["by class", "by index"], horizontal=True, key="inspect_pick")
        if how == "by class":
            digit_class = st.selectbox("Digit", range(10), key="inspect_class")
            of_class = np.flatnonzero(labels.numpy() == digit_class)
            nth = st.slider(f"Which one of the {len(of_class)} test images of a {digit_class}", 1, len(of_class), 1,
                            key="inspect_nth")
            index = int(of_class[nth - 1])
        else:
            index = st.number_input("Test image index (0–9,999)", 0, len(labels) - 1, 0, key="inspect_index")
    return ChosenInput(images[index:index + 1], pixels[index], f"test image #{index}, labelled {int(labels[index])}",
                       f"#{index}")


def shipped_input(classifier: DigitClassifier, source: str) -> ChosenInput:
    """:func:`choose_input` without the test set: the same choices among the MNIST test digits
    shipped with the app (:mod:`nnviz.samples`), said in one line."""
    samples = sample_digits()
    st.caption(f"The full MNIST test set is not on this server, so the test images are the {len(samples)} shipped "
               f"with the app; for all 10,000, {DATA_HINT}.")
    at = 0  # test image #0
    if source == "Show me a mistake":
        with torch.no_grad():
            x = torch.cat([samples.tensor(i, classifier.mean, classifier.std) for i in range(len(samples))])
            wrong = np.flatnonzero(classifier.model(x).argmax(1).numpy() != samples.labels)
        if len(wrong):
            if st.button("Show me another mistake", icon=":material/casino:") or "inspect_mistake" not in st.session_state:
                st.session_state["inspect_mistake"] = int(np.random.default_rng().integers(len(samples.indices)))
            at = int(wrong[st.session_state["inspect_mistake"] % len(wrong)])
            st.caption(f"One of the {len(wrong)} shipped test images this network gets wrong.")
        else:
            st.info("This network gets every shipped test image right; here is test image #0.")
    elif source == "A test image":
        digit_class = st.selectbox("Digit", range(10), key="inspect_class")
        of_class = np.flatnonzero(samples.labels == digit_class)
        nth = st.select_slider(f"Which one of the {len(of_class)} shipped test images of a {digit_class}",
                               range(1, len(of_class) + 1), 1, key="inspect_nth_shipped")
        at = int(of_class[nth - 1])
    index = int(samples.indices[at])
    return ChosenInput(samples.tensor(at, classifier.mean, classifier.std), samples.image(at),
                       f"test image #{index}, labelled {int(samples.labels[at])}", f"#{index}")


def choose_layer(table: list[LayerInfo]) -> LayerInfo:
    """The layer table (select a row to open it) beside a radio of the layer names; returns the
    chosen layer's row."""
    names = [row.name for row in table]
    if st.session_state.get("inspect_layer") not in names:
        st.session_state["inspect_layer"] = names[0]

    def open_selected_row():
        rows = st.session_state["inspect_table"].selection.rows
        if rows:
            st.session_state["inspect_layer"] = names[rows[0]]

    # One above the other, full width: side by side, the table scrolled sideways on a tablet.
    st.dataframe([{"layer": r.name, "operation": r.kind, "output shape": "×".join(map(str, r.output_shape)),
                   "parameters": r.parameters} for r in table],
                 hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3,
                 on_select=open_selected_row, selection_mode="single-row", key="inspect_table",
                 column_config={"layer": st.column_config.TextColumn(width=58),
                                "operation": st.column_config.TextColumn(width=110),
                                "output shape": st.column_config.TextColumn(width=76),
                                "parameters": st.column_config.NumberColumn(format="localized", width=66)})
    st.caption(f"**{sum(r.parameters for r in table):,} parameters** (weights and biases) in all.")
    layer = st.radio("Open layer", names, key="inspect_layer", horizontal=True)
    row = table[names.index(layer)]
    st.markdown(f"**{layer}** — {row.kind}, output {' × '.join(map(str, row.output_shape))}, "
                f"{row.parameters:,} parameters.")
    return row


def layer_options(module: torch.nn.Module, result: Inspection, layer: str) -> dict:
    """The choices of what to draw of a layer with many tiles, as keyword arguments of
    :func:`nnviz.figures.layers.layer_figures`: the strongest kernels first (all, or one input
    channel's, on demand), the most active feature maps first, the weight images of the most
    active units."""
    options = {}
    if getattr(module, "in_channels", 1) > 1:
        o, i = module.out_channels, module.in_channels
        picks = [f"the {KERNELS_TOP} strongest (largest L2 norm)", f"all {o * i:,}"] + [
            f"input channel {c} ({o})" for c in range(i)]
        pick = st.selectbox("Kernels to show", picks, key="inspect_kernel_choice")
        options["kernels_top"] = KERNELS_TOP if pick == picks[0] else None
        options["in_channel"] = int(pick.split()[2]) if pick.startswith("input") else None
    act = result.activations[layer]
    if act.dim() == 3 and act.shape[0] > MAPS_TOP:
        picks = [f"the {MAPS_TOP} most active", f"all {act.shape[0]}"]
        pick = st.segmented_control("Feature maps to show", picks, default=picks[0], key="inspect_map_choice") or picks[0]
        options["maps_top"] = MAPS_TOP if pick == picks[0] else None
    if getattr(module, "in_features", None) == result.image.size:  # reads the 28×28 image directly
        count = st.select_slider("Weight images to show (most active units for this input first)",
                                 [16, 32, 64, 128, 256, module.out_features], value=32, key="inspect_unit_count")
        options["units"] = most_active_units(result, layer, count)
    return options


def how_good(model_name: str, classes: list[str]) -> None:
    """Test accuracy, the confusion matrix (click a cell to list its images), per-class accuracy
    and the most confident mistakes, on the 10,000 MNIST test images (or why they are missing)."""
    if missing := missing_test_set():
        st.info(missing, icon=":material/cloud_off:")
        return
    _, _, pixels = test_set()
    report = test_report(model_name)
    st.metric("Test accuracy", f"{report.accuracy:.2%}", help=f"{int(np.trace(report.confusion)):,} of "
              f"{int(report.confusion.sum()):,} correct")
    # Side by side where each gets 22 rem, else the matrix full width above its cell's images:
    # in half a tablet's page its ten columns of counts are squeezed unreadable.
    left, right = wrapping_row("inspect_confusion_row", ["flex: 1 1 22rem"] * 2, gap="large")
    with left:
        event = st.plotly_chart(confusion_matrix_figure(report.confusion, classes), config=PLOT, width="stretch",
                                on_select="rerun", selection_mode="points", key="inspect_confusion")
        st.caption("Each cell counts test images of one true digit (row) given one answer (column); "
                   "the diagonal is correct. Click a cell to list its images.")
    with right:
        picked = event.selection.points[0] if event and event.selection.points else None
        true_default = int(picked["y"]) if picked else 4
        pred_default = int(picked["x"]) if picked else 9
        a, b = st.columns(2)
        true_c = a.selectbox("True digit", range(10), index=true_default, key=f"inspect_cell_true_{true_default}")
        pred_c = b.selectbox("Predicted", range(10), index=pred_default, key=f"inspect_cell_pred_{pred_default}")
        cell = report.cell(true_c, pred_c)
        st.markdown(f"**{len(cell)} image{'' if len(cell) == 1 else 's'}** of a {true_c} answered {pred_c}:")
        # The cell fixes the true and predicted digits: three narrow columns fit a tablet's half page.
        st.dataframe([{"image": png_data_url(pixels[i]), "test image": int(i),
                       "confidence": float(report.confidence[i])} for i in cell[:200]],
                     hide_index=True, width="stretch", height=min(320, 35 * (min(len(cell), 200) + 1) + 3),
                     column_config={"image": st.column_config.ImageColumn("image", width=48),
                                    "test image": st.column_config.NumberColumn("test #", width=56, format="%d"),
                                    "confidence": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                                                  max_value=1, width=88)})
    st.plotly_chart(per_class_accuracy_figure(report.per_class_accuracy, classes), config=PLOT, width="stretch",
                    key="inspect_per_class")
    worst = report.most_confident_mistakes(16)
    st.plotly_chart(digit_gallery(pixels[worst], [f"{report.labels[i]} → {report.predictions[i]} "
                                                  f"({report.confidence[i]:.0%})" for i in worst],
                                  "The 16 most confident mistakes<br><sup>true → predicted (confidence)</sup>",
                                  cols=4),  # 4 a row: each caption as wide as its digit on a phone
                    config=PLOT, width="stretch", key="inspect_mistakes")


def embedding_map(model_name: str, model: torch.nn.Module, classes: list[str], result: Inspection,
                  chosen: ChosenInput) -> None:
    """The 2-D map (PCA or t-SNE) of 2,000 test images' penultimate features, with this input
    as a star; click or lasso dots to see their digits (or why the test images are missing)."""
    if missing := missing_test_set():
        st.info(missing, icon=":material/cloud_off:")
        return
    _, _, pixels = test_set()
    method = st.radio("Projection", ["pca", "tsne"], horizontal=True, key="inspect_projection",
                      format_func={"pca": "PCA (fast, linear)", "tsne": "t-SNE (slower, shows clusters)"}.get)
    idx, emb = embedding(model_name, method)
    report = test_report(model_name)
    features = result.activations[penultimate_layer(model)].flatten().numpy()[None]  # (1, D): this input
    star = emb.place(features)[0]
    fig = embedding_scatter(emb.points, report.labels[idx], report.predictions[idx], idx, classes, method, star,
                            star_label="your drawing" if chosen.about == "your drawing"
                            else f"this input ({chosen.short})")
    event = st.plotly_chart(fig, config=PLOT, width="stretch", on_select="rerun", selection_mode=("points", "lasso"),
                            key="inspect_embedding")
    if method == "tsne":
        st.caption("t-SNE cannot project new images: the star is placed among its 10 nearest neighbours in feature space.")
    picked = [int(p["customdata"][0]) for p in (event.selection.points if event else []) if p.get("customdata")]
    if picked:
        picked = picked[:24]
        st.plotly_chart(digit_gallery(pixels[picked], [f"#{i}: {report.labels[i]} → {report.predictions[i]}"
                                                       for i in picked], "Selected test images"),
                        config=PLOT, width="stretch", key="inspect_selected")
    else:
        st.caption("Crosses are images the network gets wrong. Click a dot or draw a lasso to see the digits.")
