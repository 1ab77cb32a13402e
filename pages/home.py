"""Home: what the app teaches, its pages, and the loaded models with their card figures."""

import streamlit as st

from ui.resources import digit_model_cards

st.title("nnviz: how neural networks see images")
st.markdown(
    "Draw a digit and watch a real network read it, open any layer to see what it computes, "
    "and train your own network while its learning curves grow. Every network here was "
    "trained on real data; every number on screen is computed live.")

st.subheader("What you can do")
cols = st.columns(2)
with cols[0]:
    st.page_link("pages/draw.py", label="**Draw a digit** — a network trained on MNIST answers as you draw", icon="✏️")

st.subheader("The trained networks")
st.caption("Shipped in `trained/`, each with a model card (data, recipe, test accuracy). "
           "Accuracy is measured on the 10,000 official MNIST test images, which the network never saw in training.")
rows = [{
    "model": c["name"],
    "kind": c["architecture"]["kind"].upper(),
    "parameters": f"{c.get('parameters', 0):,}",
    "test accuracy": f"{c['metrics']['test_accuracy']:.2%}" if c["metrics"].get("test_accuracy") is not None else "—",
    "test loss": f"{c['metrics']['test_loss']:.4f}" if c["metrics"].get("test_loss") is not None else "—",
    "epochs": c["hyperparameters"]["epochs"],
    "training time": f"{c.get('training_time_s', 0):.0f} s on {c.get('device', '?')}",
    "source": c["source"],
} for c in digit_model_cards()]
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
else:
    st.warning("No trained digit networks were found in `trained/`. Train one with "
               "`python -m nnviz train --model cnn --out trained/digits-cnn`.")
