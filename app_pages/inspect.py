"""Inspect: open the network — every layer's output for one input, its weights, where it looks,
how good it is on the test set, and the map of its learned features."""

import streamlit as st

from nnviz.figures.attribution import attribution_overlay
from nnviz.figures.layers import EXPLAIN, layer_figures
from nnviz.figures.probabilities import input_image
from nnviz.inspection import inspect, layer_table, penultimate_layer
from ui import inspect_panel as panel
from ui import occlusion_views
from ui.layout import wrapping_row
from ui.resources import choose_digit_model, digit_classifier, use_one_thread_for_inference

PLOT = panel.PLOT

use_one_thread_for_inference()
st.title("Open the network")
st.caption("Pick an input, then open any layer to see what it computes. Every number is the real network's.")

model_name = choose_digit_model("inspect_model")
classifier = digit_classifier(model_name)
model, classes = classifier.model, classifier.classes

# 1. The input ----------------------------------------------------------------------------------
st.header("1. The input")
source = panel.choose_source()
metrics = st.container()  # full width above the two columns: three numbers fit a tablet there
left, right = st.columns([2, 3], gap="large")
with left:
    chosen = panel.choose_input(classifier, model_name, source)
    x, picture, about, short = chosen.x, chosen.picture, chosen.about, chosen.short
result = inspect(model, x, picture, with_attribution=False)
with metrics:
    c1, c2, c3 = st.columns(3)
    c1.metric("Input", short, help="A test image's index among the 10,000, or your drawing")
    c2.metric("Prediction", classes[result.predicted])
    c3.metric("Confidence", f"{result.probabilities[result.predicted]:.1%}")
with right:
    st.plotly_chart(input_image(result.image, f"What the network receives:<br>{about}"), config=PLOT,
                    width="stretch", key="inspect_input")

# 2. Architecture -------------------------------------------------------------------------------
st.header("2. The layers")
st.caption("The network is a stack of layers; the input flows top to bottom. Select a row to open that layer.")
layer = panel.choose_layer(layer_table(model)).name

# 3. One layer ----------------------------------------------------------------------------------
st.header(f"3. Inside {layer}")
module = dict(model.named_children())[layer]
options = panel.layer_options(module, result, layer)
figs = layer_figures(model, result, layer, classes, **options)
for kind, fig in figs.items():
    st.caption(EXPLAIN[kind])
    st.plotly_chart(fig, config=PLOT, width="stretch", key=f"inspect_{kind}")

# 4. Where the network looks ---------------------------------------------------------------------
st.header("4. Where the network looks")
st.caption("Bright red pixels are the ones that pushed the network hardest towards the class below.")
choice = st.selectbox("Explain the class", [-1, *range(len(classes))], key="inspect_target",
                      format_func=lambda c: f"the prediction ({classes[result.predicted]})" if c < 0 else classes[c])
looked = inspect(model, x, picture, target=None if choice < 0 else choice)
# Side by side where each gets 18 rem, else one under the other: narrower, the maps are thumbnails.
cam_col, sal_col = wrapping_row("inspect_attribution", ["flex: 1 1 18rem"] * 2, gap="large")
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
[occ_col] = wrapping_row("inspect_occlusion_row", ["flex: 0 1 26rem"])  # as wide as one of the two maps above
with occ_col:
    occlusion_views.digit_occlusion(model, x, looked.image, looked.target, classes[looked.target],
                                    classifier.mean, classifier.std, key="inspect_occlusion")
with st.expander("Sanity check: do these maps depend on what the network learned?"):
    occlusion_views.sanity_check(model, x, looked.target, key="inspect_sanity")


# 5. How good is it -----------------------------------------------------------------------------
@st.fragment
def how_good():
    st.header("5. How good is it")
    st.caption("The network's answers on the 10,000 official MNIST test images, which it never saw in training.")
    panel.how_good(model_name, classes)
    st.caption("Wrong and sure of it: some of these are badly written, some are mislabelled, some are real failures.")


how_good()


# 6. Embedding map ------------------------------------------------------------------------------
@st.fragment
def embedding_map():
    st.header("6. The map of learned features")
    st.caption(f"Each dot is one test image, placed by the {penultimate_layer(model)} layer's features "
               "(what the last layer reads); digits the network finds alike land close together.")
    panel.embedding_map(model_name, model, classes, result, chosen)


embedding_map()
