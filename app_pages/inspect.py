"""Inspect: open the network — every layer's output for one input, its weights, where it looks,
how good it is on the test set, and the map of its learned features."""

import numpy as np
import streamlit as st

from nnviz.figures.attribution import attribution_overlay
from nnviz.figures.embedding import embedding_scatter
from nnviz.figures.evaluation import confusion_matrix_figure, digit_gallery, per_class_accuracy_figure
from nnviz.figures.layers import EXPLAIN, layer_figures
from nnviz.figures.probabilities import input_image
from nnviz.inspection import inspect, layer_table, penultimate_layer
from nnviz.preprocess import BlankDrawing, mnist_style
from ui.drawing import current_drawing
from ui.inspect_cache import embedding, png_data_url, test_report, test_set
from ui.resources import choose_digit_model, digit_classifier, use_one_thread_for_inference

PLOT = {"displayModeBar": False}
INPUTS = ["Your drawing", "A test image", "Show me a mistake"]

use_one_thread_for_inference()
st.title("Open the network")
st.caption("Pick an input, then open any layer to see what it computes. Every number is the real network's.")

model_name = choose_digit_model("inspect_model")
classifier = digit_classifier(model_name)
model, classes = classifier.model, classifier.classes
images, test_labels, pixels = test_set()

# 1. The input ----------------------------------------------------------------------------------
st.header("1. The input")
source = st.segmented_control("Input", INPUTS, default=INPUTS[0], key="inspect_source") or INPUTS[0]
left, right = st.columns([2, 3], gap="large")
with left:
    x = picture = None
    if source == "Your drawing":
        try:
            drawing = current_drawing()
            if drawing is None:
                raise BlankDrawing()
            digit = mnist_style(drawing)
            x, picture, about, short = digit.tensor(classifier.mean, classifier.std), digit.image, "your drawing", "drawing"
        except BlankDrawing:
            st.info("No drawing yet: draw a digit on the **Draw a digit** page, then come back. "
                    "Meanwhile here is test image #0.")
            st.page_link("app_pages/draw.py", label="Draw a digit", icon=":material/draw:")
    elif source == "Show me a mistake":
        report = test_report(model_name)
        wrong = report.mistakes()
        if st.button("Show me another mistake", icon=":material/casino:") or "inspect_mistake" not in st.session_state:
            st.session_state["inspect_mistake"] = int(np.random.default_rng().choice(wrong))
        index = st.session_state["inspect_mistake"]
        if index not in set(wrong.tolist()):  # another network was chosen: it may get this one right
            index = st.session_state["inspect_mistake"] = int(wrong[0])
        st.caption(f"One of the {len(wrong)} test images this network gets wrong.")
    if x is None:
        if source == "A test image":
            how = st.radio("Pick it", ["by class", "by index"], horizontal=True, key="inspect_pick")
            if how == "by class":
                digit_class = st.selectbox("Digit", range(10), key="inspect_class")
                of_class = np.flatnonzero(test_labels.numpy() == digit_class)
                nth = st.slider(f"Which one of the {len(of_class)} test images of a {digit_class}", 1, len(of_class), 1,
                                key="inspect_nth")
                index = int(of_class[nth - 1])
            else:
                index = st.number_input("Test image index (0–9,999)", 0, len(test_labels) - 1, 0, key="inspect_index")
        elif source == "Your drawing":
            index = 0
        x, picture = images[index:index + 1], pixels[index]
        about, short = f"test image #{index}, labelled {int(test_labels[index])}", f"#{index}"
with right:
    result = inspect(model, x, picture, with_attribution=False)
    c1, c2, c3 = st.columns(3)
    c1.metric("Input", short, help="A test image's index among the 10,000, or your drawing")
    c2.metric("Prediction", classes[result.predicted])
    c3.metric("Confidence", f"{result.probabilities[result.predicted]:.1%}")
    st.plotly_chart(input_image(result.image, f"What the network receives: {about}"), config=PLOT,
                    width="stretch", key="inspect_input")

# 2. Architecture -------------------------------------------------------------------------------
st.header("2. The layers")
st.caption("The network is a stack of layers; the input flows top to bottom. Select a row to open that layer.")
table = layer_table(model)
names = [row.name for row in table]
if st.session_state.get("inspect_layer") not in names:
    st.session_state["inspect_layer"] = names[0]


def _open_selected_row():
    rows = st.session_state["inspect_table"].selection.rows
    if rows:
        st.session_state["inspect_layer"] = names[rows[0]]


left, right = st.columns([3, 2], gap="large")
with left:
    st.dataframe([{"layer": r.name, "operation": r.kind, "output shape": " × ".join(map(str, r.output_shape)),
                   "parameters": r.parameters} for r in table],
                 hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3,
                 on_select=_open_selected_row, selection_mode="single-row",
                 key="inspect_table",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    st.caption(f"**{sum(r.parameters for r in table):,} parameters** (weights and biases) in all.")
with right:
    layer = st.radio("Open layer", names, key="inspect_layer", horizontal=True)
    row = table[names.index(layer)]
    st.markdown(f"**{layer}** — {row.kind}, output {' × '.join(map(str, row.output_shape))}, "
                f"{row.parameters:,} parameters.")

# 3. One layer ----------------------------------------------------------------------------------
st.header(f"3. Inside {layer}")
module = dict(model.named_children())[layer]
in_channel = units = None
if getattr(module, "in_channels", 1) > 1:
    pick = st.selectbox("Kernels to show", ["all input channels"] + [f"input channel {i}" for i in range(module.in_channels)],
                        key="inspect_in_channel")
    in_channel = None if pick.startswith("all") else int(pick.rsplit(" ", 1)[1])
if getattr(module, "in_features", None) == result.image.size:  # reads the 28×28 image directly
    count = st.select_slider("Weight images to show (most active units for this input first)",
                             [16, 32, 64, 128, 256, module.out_features], value=32, key="inspect_unit_count")
    units = list(np.argsort(-result.activations[layer].numpy(), kind="stable")[:count])
figs = layer_figures(model, result, layer, classes, in_channel=in_channel, units=units)
for kind, fig in figs.items():
    st.caption(EXPLAIN[kind])
    st.plotly_chart(fig, config=PLOT, width="stretch", key=f"inspect_{kind}")

# 4. Where the network looks ---------------------------------------------------------------------
st.header("4. Where the network looks")
st.caption("Bright red pixels are the ones that pushed the network hardest towards the class below.")
choice = st.selectbox("Explain the class", [-1, *range(len(classes))], key="inspect_target",
                      format_func=lambda c: f"the prediction ({classes[result.predicted]})" if c < 0 else classes[c])
looked = inspect(model, x, picture, target=None if choice < 0 else choice)
cam_col, sal_col = st.columns(2, gap="large")
with cam_col:
    if looked.grad_cam is not None:
        st.plotly_chart(attribution_overlay(looked.image, looked.grad_cam,
                                            f"Grad-CAM on {looked.grad_cam_layer} for class {classes[looked.target]}"),
                        config=PLOT, width="stretch", key="inspect_gradcam")
        side = looked.activations[looked.grad_cam_layer].shape[-1]
        st.caption(f"Grad-CAM: the {looked.grad_cam_layer} feature maps, each weighted by how much it raises this "
                   f"class's logit — coarse ({side}×{side}, stretched to 28×28). Empty space next to a stroke can "
                   "be evidence too: a 0 is a 0 partly because its middle is empty.")
    else:
        st.info("Grad-CAM needs convolution layers; this network (an MLP) has none. The saliency map works for any network.")
with sal_col:
    st.plotly_chart(attribution_overlay(looked.image, looked.saliency, f"Saliency for class {classes[looked.target]}"),
                    config=PLOT, width="stretch", key="inspect_saliency")
    st.caption("Saliency: how much the class's logit changes when one pixel changes (gradient size), pixel by pixel.")


# 5. How good is it -----------------------------------------------------------------------------
@st.fragment
def how_good():
    st.header("5. How good is it")
    st.caption("The network's answers on the 10,000 official MNIST test images, which it never saw in training.")
    report = test_report(model_name)
    st.metric("Test accuracy", f"{report.accuracy:.2%}", help=f"{int(np.trace(report.confusion)):,} of "
              f"{int(report.confusion.sum()):,} correct")
    left, right = st.columns([3, 2], gap="large")
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
        st.dataframe([{"image": png_data_url(pixels[i]), "test index": int(i), "true": int(report.labels[i]),
                       "predicted": int(report.predictions[i]), "confidence": float(report.confidence[i])}
                      for i in cell[:200]],
                     hide_index=True, width="stretch", height=min(320, 35 * (min(len(cell), 200) + 1) + 3),
                     column_config={"image": st.column_config.ImageColumn("image", width="small"),
                                    "confidence": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                                                  max_value=1)})
    st.plotly_chart(per_class_accuracy_figure(report.per_class_accuracy, classes), config=PLOT, width="stretch",
                    key="inspect_per_class")
    worst = report.most_confident_mistakes(16)
    st.plotly_chart(digit_gallery(pixels[worst], [f"{report.labels[i]} → {report.predictions[i]} "
                                                  f"({report.confidence[i]:.0%})" for i in worst],
                                  "The 16 most confident mistakes (true → predicted, confidence)"),
                    config=PLOT, width="stretch", key="inspect_mistakes")
    st.caption("Wrong and sure of it: some of these are badly written, some are mislabelled, some are real failures.")


how_good()


# 6. Embedding map ------------------------------------------------------------------------------
@st.fragment
def embedding_map():
    st.header("6. The map of learned features")
    st.caption(f"Each dot is one test image, placed by the {penultimate_layer(model)} layer's features "
               "(what the last layer reads); digits the network finds alike land close together.")
    method = st.radio("Projection", ["pca", "tsne"], horizontal=True, key="inspect_projection",
                      format_func={"pca": "PCA (fast, linear)", "tsne": "t-SNE (slower, shows clusters)"}.get)
    idx, emb = embedding(model_name, method)
    report = test_report(model_name)
    features = result.activations[penultimate_layer(model)].flatten().numpy()[None]  # (1, D): this input
    star = emb.place(features)[0]
    fig = embedding_scatter(emb.points, report.labels[idx], report.predictions[idx], idx, classes, method, star,
                            star_label="your drawing" if about == "your drawing" else f"this input ({short})")
    event = st.plotly_chart(fig, config=PLOT, width="stretch", on_select="rerun", selection_mode=("points", "lasso"),
                            key="inspect_embedding")
    if method == "tsne":
        st.caption("t-SNE cannot project new images: the star is placed among its 10 nearest neighbours in feature space.")
    chosen = [int(p["customdata"][0]) for p in (event.selection.points if event else []) if p.get("customdata")]
    if chosen:
        chosen = chosen[:24]
        st.plotly_chart(digit_gallery(pixels[chosen], [f"#{i}: {report.labels[i]} → {report.predictions[i]}"
                                                       for i in chosen], "Selected test images"),
                        config=PLOT, width="stretch", key="inspect_selected")
    else:
        st.caption("Crosses are images the network gets wrong. Click a dot or draw a lasso to see the digits.")


embedding_map()
