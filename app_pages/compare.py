"""Compare two networks: the same input through two digit networks (the CNN and the MLP by default),
their answers, where each looks and their first layers, side by side — and what moving the digit
does to each."""

import streamlit as st

from ui import compare_panel as panel
from ui.resources import digit_classifier, use_one_thread_for_inference

use_one_thread_for_inference()
st.title("Compare two networks")
st.caption("The same digit through two networks, side by side. Move it a few pixels to see which one still "
           "recognises it.")

names = panel.choose_models()

# 1. The input --------------------------------------------------------------------------------------
st.header("1. The input")
left, right = st.columns([3, 2], gap="large")
with left:
    digit = panel.choose_digit()
    shift = st.slider("Shift the digit sideways (pixels; negative = left)", -6, 6, 0, key="compare_shift")
pixels = panel.shifted(digit.pixels, shift)
about = digit.about + (f", moved {abs(shift)} px {'right' if shift > 0 else 'left'}" if shift else "")
with right:
    panel.the_input(pixels, about)

# 2. Their answers ------------------------------------------------------------------------------------
st.header("2. Their answers")
results = (panel.run(names[0], pixels), panel.run(names[1], pixels))
panel.answers(names, results)
unshifted = panel.run(names[0], digit.pixels)
classes = digit_classifier(names[0]).classes
panel.shift_curves(names, digit.pixels, unshifted.predicted, classes[unshifted.predicted])

# 3. Where each looks ---------------------------------------------------------------------------------
st.header("3. Where each looks")
panel.where_they_look(names, results)

# 4. Their first layers -------------------------------------------------------------------------------
st.header("4. Their first layers")
panel.first_layers(names, results)
