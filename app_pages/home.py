"""Home: what the app teaches, its pages, and the loaded models with their card figures."""

import streamlit as st

from ui.layout import wrapping_row
from ui.resources import digit_model_cards
from ui.teacher import join_panel

st.title("nnviz: how neural networks see images")
st.markdown(
    "Draw a digit and watch a real network read it, open any layer to see what it computes, "
    "and train your own network while its learning curves grow. Every network here was "
    "trained on real data, and every number on screen is computed live.")
join_panel()

st.subheader("Start here")
# Each page's name, and what it shows beside it where there is room, under it on a phone: a page
# link keeps to one line and would cut a long description off.
LINKS = [("app_pages/draw.py", "Draw a digit", ":material/draw:",
          "a network trained on 60,000 handwritten digits answers after every stroke"),
         ("app_pages/inspect.py", "Open the network", ":material/biotech:",
          "activations, kernels, weights, and where the network looks (Grad-CAM)"),
         ("app_pages/cnn.py", "How a CNN sees", ":material/grid_on:",
          "one convolution worked through number by number, and the pixels each unit can see"),
         ("app_pages/train.py", "Train a network", ":material/model_training:",
          "pick a model and a learning rate, and watch the loss and accuracy curves grow live"),
         ("app_pages/under_the_hood.py", "Under the hood", ":material/neurology:",
          "a small network drawn whole, and one step of learning with every number plugged in"),
         ("app_pages/photos.py", "Photos of animals", ":material/pets:",
          "what a real ImageNet network sees in a camera-trap frame, a cat or a dog; then train a classifier "
          "of your own")]
for i, (target, name, icon, about) in enumerate(LINKS):
    link, text = wrapping_row(f"home_link{i}", ["flex: 0 0 12rem", "flex: 1 1 16rem"], gap="small")
    link.page_link(target, label=f"**{name}**", icon=icon)
    text.markdown(about)

st.subheader("The trained networks")
st.caption("Shipped with the app, each with a model card (data, recipe, test accuracy). Accuracy is measured "
           "on the 10,000 official MNIST test images, which the networks never saw while training.")
cards = digit_model_cards()
if not cards:
    st.warning("No trained digit networks were found in `trained/`. Train one with "
               "`python -m nnviz train --model cnn --out trained/digits-cnn`.")
# A card per network, side by side where each is at least 15 rem wide, else one above the other.
for column, card in zip(wrapping_row("home_cards", ["flex: 1 1 15rem"] * len(cards), border=True), cards):
    with column:
        arch, hp, metrics = card["architecture"], card["hyperparameters"], card["metrics"]
        kind = "Convolutional network (CNN)" if arch["kind"] == "cnn" else "Multi-layer perceptron (MLP)"
        if card.get("trained_by", "").startswith("nnviz.numpy_mlp"):
            kind += ", written from scratch in NumPy"
        st.markdown(f"**{card['name']}** · {kind}" + (" · *saved by a user*" if card["source"] == "user" else ""))
        numbers = st.container(horizontal=True)  # side by side, or one under the other where they do not fit
        accuracy = metrics.get("test_accuracy")
        numbers.metric("Test accuracy", f"{accuracy:.2%}" if accuracy is not None else "—", width="content")
        numbers.metric("Parameters", f"{card.get('parameters', 0):,}", width="content")
        st.caption(f"{hp['epochs']} epochs, batch {hp['batch_size']}, {hp['optimizer']} with learning rate "
                   f"{hp['learning_rate']:g}; trained in {card.get('training_time_s', 0):.0f} s on "
                   f"{card.get('device', '?')}, {card.get('date', '')[:10]}.")
