"""How a CNN sees: one convolution worked through on the student's own input, number by number,
and the receptive field of any unit: the pixels it can see and how much each one matters."""

import streamlit as st

from nnviz.convolution import worked_convolution
from ui import cnn_panel as panel
from ui.channel_views import channel_section
from ui.resources import use_one_thread_for_inference

use_one_thread_for_inference()
st.title("How a CNN sees")
st.caption("A convolutional network slides small kernels over the image. Follow one number of a feature map "
           "from the pixels to the next layer, then see which pixels a unit can see. Every number is the network's own.")

# The input --------------------------------------------------------------------------------------
st.header("The network and the input")
model_name, classifier = panel.choose_cnn()
model = classifier.model
chosen = panel.choose_input(classifier)
activations = panel.forward_pass(classifier, chosen)

# 1. One convolution, worked through ---------------------------------------------------------------
st.header("1. One convolution, worked through")
st.caption("Pick a layer and a channel, then a cell of its feature map: the kernel's window, the multiplication, "
           "the sum, and every step after it.")
layer, channel = panel.choose_convolution(model, activations)
row, col = panel.choose_position(activations[layer][0, channel])
worked = worked_convolution(model, chosen.x, layer, channel, row, col, activations)
in_channel = panel.choose_input_channel(worked)
panel.show_window_and_map(worked, chosen, in_channel)
panel.show_arithmetic(worked, in_channel)
st.subheader("What happens to the number next")
panel.show_steps(model, worked)
st.subheader("Slide the kernel")
panel.sliding_kernel(model, chosen, activations, layer, channel, in_channel)

# 2. Receptive field -------------------------------------------------------------------------------
st.header("2. Receptive field")
st.caption("Deeper units see more of the image: each layer's kernel or pooling window widens what the layer "
           "before it saw.")
panel.receptive_field(model, chosen, activations)

# 3. What each channel looks for -------------------------------------------------------------------
st.header("3. What each channel looks for")
st.caption("For each channel, an input made by gradient ascent to excite it as much as possible, beside the nine "
           "test images that excite it most, boxed where it fires.")
channel_section(model_name, key="cnn_channels")
