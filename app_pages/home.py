"""Home: what the app teaches, its pages, and the loaded models with their card figures."""

import streamlit as st

from ui.resources import digit_model_cards
from ui.teacher import join_panel

st.title("nnviz: how neural networks see images")
st.markdown(
    "Draw a digit and watch a real network read it, open any layer to see what it computes, "
    "and train your own network while its learning curves grow. Every network here was "
    "trained on real data, and every number on screen is computed live.")
join_panel()

st.subheader("Start here")
st.page_link("app_pages/draw.py", label="**Draw a digit** — a network trained on 60,000 handwritten digits "
             "answers after every stroke", icon=":material/draw:")
st.page_link("app_pages/inspect.py", label="**Open the network** — activations, kernels, weights, and where "
             "the network looks (Grad-CAM)", icon=":material/biotech:")
st.page_link("app_pages/train.py", label="**Train a network** — pick a model and a learning rate, and watch the "
             "loss and accuracy curves grow live", icon=":material/model_training:")
st.page_link("app_pages/under_the_hood.py", label="**Under the hood** — a small network drawn whole, and one "
             "step of learning with every number plugged in", icon=":material/neurology:")
st.page_link("app_pages/photos.py", label="**Photos of animals** — what a real ImageNet network sees in a "
             "camera-trap frame, a cat or a dog; then train a classifier of your own", icon=":material/pets:")

st.subheader("The trained networks")
st.caption("Shipped with the app, each with a model card (data, recipe, test accuracy). Accuracy is measured "
           "on the 10,000 official MNIST test images, which the networks never saw while training.")
cards = digit_model_cards()
if not cards:
    st.warning("No trained digit networks were found in `trained/`. Train one with "
               "`python -m nnviz train --model cnn --out trained/digits-cnn`.")
for column, card in zip(st.columns(max(len(cards), 1)), cards):
    with column.container(border=True):
        arch, hp, metrics = card["architecture"], card["hyperparameters"], card["metrics"]
        kind = "Convolutional network (CNN)" if arch["kind"] == "cnn" else "Multi-layer perceptron (MLP)"
        if card.get("trained_by", "").startswith("nnviz.numpy_mlp"):
            kind += ", written from scratch in NumPy"
        st.markdown(f"**{card['name']}** · {kind}" + (" · *saved by a user*" if card["source"] == "user" else ""))
        a, b = st.columns(2)
        accuracy = metrics.get("test_accuracy")
        a.metric("Test accuracy", f"{accuracy:.2%}" if accuracy is not None else "—")
        b.metric("Parameters", f"{card.get('parameters', 0):,}")
        st.caption(f"{hp['epochs']} epochs, batch {hp['batch_size']}, {hp['optimizer']} with learning rate "
                   f"{hp['learning_rate']:g}; trained in {card.get('training_time_s', 0):.0f} s on "
                   f"{card.get('device', '?')}, {card.get('date', '')[:10]}.")
