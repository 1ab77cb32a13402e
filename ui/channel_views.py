"""Section "What each channel looks for" (:mod:`nnviz.feature_visualization`): for a digit network,
a layer's optimised inputs, one per channel, and the nine test images that excite a chosen channel
most with the patch where it fires.

The shipped networks' views are read from ``trained/<name>.channels.npz``; a network a student
trained has them computed here once, under a progress bar, then read from the disk cache.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from nnviz import feature_visualization as fv
from nnviz.checkpoints import resolve_checkpoint
from nnviz.data import DatasetUnavailable
from nnviz.figures import channels as figures
from ui.inspect_cache import test_set
from ui.resources import digit_classifier

PLOT = {"displaylogo": False}


def layer_label(model, layer: str) -> str:
    """How a layer is named to a student: ``conv1's channels (after ReLU)``, ``the class logits``."""
    names = [n for n, _ in model.named_children()]
    if layer == names[-1]:
        return f"{layer}: the class logits"
    conv = fv.conv_of(model, layer)
    if conv is not None and conv != layer:
        return f"{conv}'s channels (after its ReLU, {layer})"
    return f"{layer}'s channels"


def _test_set_uint8() -> tuple:
    images, _, pixels = test_set()
    return images, np.round(pixels * 255).astype(np.uint8)


def layer_views(model_name: str, layer: str) -> fv.LayerViews | None:
    """``layer``'s views: stored (shipped file or disk cache), else computed now with a progress bar
    (None, with a message, when the MNIST test set is missing)."""
    classifier = digit_classifier(model_name)
    sha = str(classifier.card.get("weights_sha256", model_name))
    checkpoint = resolve_checkpoint(model_name)
    views = fv.stored_layer(sha, layer, checkpoint)
    if views is not None:
        return views
    count = fv.channel_count(classifier.model, layer)
    with st.status(f"Finding what each of {layer}'s {count} channels looks for — once for this network "
                   f"(about {3 + count * 0.3:.0f} s), then kept on disk…", expanded=True) as status:
        bar = st.progress(0.0)
        try:
            views = fv.load_or_compute(classifier.model, sha, layer, _test_set_uint8, checkpoint=checkpoint,
                                       mean=classifier.mean, std=classifier.std,
                                       on_progress=lambda f, text: bar.progress(min(max(f, 0.0), 1.0), text=text))
        except DatasetUnavailable:
            status.update(label="The MNIST test images are not on this server", state="error")
            st.info("Finding the test images that excite each channel needs the 10,000 MNIST test images, which "
                    "are not on this server. (Teacher: the server's log says where to put them.)")
            return None
        status.update(label=f"Done: {layer}'s {count} channels", state="complete", expanded=False)
    return views


def channel_section(model_name: str, key: str = "channels") -> None:
    """Render "What each channel looks for" for digit network ``model_name``: a layer chooser, the
    grid of optimised inputs, a channel chooser and that channel's nine dataset examples."""
    classifier = digit_classifier(model_name)
    model, classes = classifier.model, classifier.classes
    layers = fv.channel_layers(model)
    layer = st.radio("Layer", layers, format_func=lambda n: layer_label(model, n), horizontal=True,
                     key=f"{key}_layer")
    views = layer_views(model_name, layer)
    if views is None:
        return
    is_logits = layer == layers[-1]
    labels = [classes[c] if is_logits and c < len(classes) else str(c) for c in range(len(views.images))]
    st.caption("Each tile is an input made from scratch by gradient ascent: starting from noise, the pixels were "
               "changed step by step to make one channel's feature map as large as possible on average (jittered "
               "and smoothed so it stays readable; Olah et al. 2017, “Feature Visualization”). It shows the "
               "pattern the channel responds to."
               if not is_logits else
               "Each tile is an input made by gradient ascent to make one class's logit as large as possible: "
               "what the network thinks each digit looks like most, strokes and all.")
    st.plotly_chart(figures.optimised_inputs(views.images, labels, f"{layer}: the input each "
                                             f"{'class' if is_logits else 'channel'} likes most",
                                             cols=8 if len(labels) > 10 else 5),
                    config=PLOT, width="stretch", key=f"{key}_grid")
    channel = st.selectbox("Channel" if not is_logits else "Class", range(len(labels)),
                           format_func=lambda c: f"{'class' if is_logits else 'channel'} {labels[c]}: "
                                                 f"activation {views.activations[c]:.3g}",
                           key=f"{key}_channel")
    ex = views.examples
    st.plotly_chart(figures.dataset_examples(views.example_pixels[channel], ex.boxes[channel], ex.indices[channel],
                                             ex.activations[channel],
                                             f"Test images exciting {'class' if is_logits else 'channel'} "
                                             f"{labels[channel]} most", cols=3),
                    config=PLOT, width="stretch", key=f"{key}_examples")
    best = float(ex.activations[channel, 0])
    st.caption(("Red box: the pixels the strongest unit of the feature map can see (its receptive field), where "
                "the channel fires most in that image. " if not is_logits else "")
               + f"The made-up input scores {views.activations[channel]:.3g}; the best of the 10,000 real test "
                 f"images scores {best:.3g}.")
