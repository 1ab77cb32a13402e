"""Under the hood: a network small enough to see whole (784 → 16 → 16 → 10), one step of learning
with the numbers plugged in, the activation functions and losses, and a glossary."""

import streamlit as st

from nnviz.figures.activation_functions import activation_figure, loss_figure
from nnviz.figures.network_diagram import network_diagram, neuron_weights_image
from nnviz.figures.probabilities import probability_bars
from nnviz.formatting import number, percent, signed
from nnviz.learning_step import learning_step, neuron_sum
from nnviz.numpy_mlp import forward, softmax
from ui import under_the_hood as hood
from ui.layout import formulas_fit_phones, wrapping_row
from ui.resources import digit_classifier, use_one_thread_for_inference

PLOT = {"displayModeBar": False}
RATES = [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]

use_one_thread_for_inference()
formulas_fit_phones()
st.title("Under the hood")
st.caption("A network small enough to see whole, trained by one short file of NumPy code (`nnviz/numpy_mlp.py`): "
           "every circle is a neuron, every number below is computed for your input.")

name = hood.choose_small_mlp("hood_model")
classifier = digit_classifier(name)
mlp = hood.numpy_network(name, str(classifier.card.get("weights_sha256", name)))
widths, L = mlp.widths, len(mlp.weights)
inp = hood.hood_input(classifier.mean, classifier.std, mlp)
probabilities = softmax(forward(mlp, inp.x[None, :]).logits[0])
predicted = int(probabilities.argmax())

# 1. The whole network ----------------------------------------------------------------------------
st.header("1. The whole network")
st.markdown(f"Input: **{inp.about}**. The network answers **{classifier.classes[predicted]}** "
            f"({percent(probabilities[predicted])}). Circles are neurons, coloured by their activation (dark = quiet, "
            "yellow = active); lines are the strongest weights into each neuron, **blue positive**, "
            "**red negative**, thicker for larger. Hover a neuron for its numbers.")
diagram = st.empty()  # drawn after the neuron is chosen below, so the choice is ringed
pick_col, weights_col = wrapping_row("hood_neuron_row", ["flex: 1 1 16rem"] * 2, gap="large")
with pick_col:
    layer1 = forward(mlp, inp.x[None, :]).activations[1][0]
    neuron = st.selectbox(f"A neuron of layer 1 (of {widths[1]})", range(widths[1]), key="hood_neuron",
                          index=int(layer1.argmax()), format_func=lambda j: f"neuron {j} (a = {number(layer1[j], 3)})")
    st.markdown("**What this neuron looks for**: its 784 incoming weights in the shape of the image. "
                "Ink on blue pixels raises its weighted sum, ink on red lowers it; white pixels do not matter. "
                "The chosen neuron is ringed in black in the diagram.")
with weights_col:
    st.plotly_chart(neuron_weights_image(mlp.weights[0][neuron], 1, neuron), config=PLOT, width="stretch",
                    key="hood_weights")
with diagram.container():
    st.plotly_chart(network_diagram(mlp, inp.x, inp.image, classifier.classes, highlight=(1, neuron), height=440),
                    config=PLOT, width="stretch", key="hood_diagram")

# 2. One step of learning ---------------------------------------------------------------------------
st.header("2. One step of learning, with the numbers")
st.markdown("Tell the network the right answer and let it learn from this one example: a forward pass, the "
            "loss, the gradient by backpropagation, then one gradient-descent step. The step is taken on a copy: "
            "the network on the other pages does not change.")
c1, c2, c3, c4 = st.columns(4)
label = c1.selectbox("The right answer", range(widths[-1]), key="hood_label",
                     index=inp.label if inp.label is not None else predicted)
eta = c2.select_slider("Learning rate η", RATES, value=0.003, key="hood_eta")
layer = c3.selectbox("Layer", range(1, L + 1), index=0, key="hood_layer",
                     format_func=lambda l: "output" if l == L else f"layer {l}")
j = c4.selectbox("Neuron", range(widths[layer]), key=f"hood_j{layer}",
                 index=neuron if layer == 1 else (label if layer == L else 0))
k = neuron_sum(mlp, inp.x, layer, j, top=1).terms[0].k  # the largest term's weight is the one taken backward
step = learning_step(mlp, inp.x, label, eta, neuron=(layer, j), weight=(layer, j, k), top=5)
# Side by side where each gets 20 rem, else one under the other: the formulas need the width.
forward_col, backward_col = wrapping_row("hood_step_row", ["flex: 1 1 20rem"] * 2, gap="large")
with forward_col:
    hood.show_forward(step, mlp.activation, L)
with backward_col:
    hood.show_backward(step, mlp.activation, L)
    st.markdown("**Every weight and bias** takes such a step at once. Before and after:")
    m1 = m2 = st.container(horizontal=True)  # side by side, or one under the other where they do not fit
    m1.metric(f"Probability of {label}", percent(step.probabilities_after[label]),
              signed((step.probabilities_after[label] - step.probabilities[label]) * 100, unit="points"),
              width="content")
    m2.metric("Loss", number(step.loss_after, 3), signed(step.loss_after - step.loss), delta_color="inverse",
              width="content")
before, after = st.columns(2)
before.plotly_chart(probability_bars(step.probabilities, classifier.classes, label, "Before the step"),
                    config=PLOT, width="stretch", key="hood_before")
after.plotly_chart(probability_bars(step.probabilities_after, classifier.classes, label, "After one step"),
                   config=PLOT, width="stretch", key="hood_after")
if step.loss_after > step.loss:
    st.warning(f"The loss went up: a learning rate of {eta:g} overshoots on this example, stepping past the "
               "valley's bottom. Try a smaller one. (Real training takes many small steps over batches of examples.)")

# 3. The building blocks ----------------------------------------------------------------------------
st.header("3. Activation functions and losses")
left, right = wrapping_row("hood_blocks_row", ["flex: 1 1 18rem"] * 2, gap="large")
with left:
    names = ["sigmoid", "tanh", "relu"]
    shown = st.segmented_control("Activation function", names, default=mlp.activation, key="hood_act") or mlp.activation
    z = step.neuron.z if shown == mlp.activation and layer < L else None
    st.plotly_chart(activation_figure(shown, z), config=PLOT, width="stretch", key="hood_act_fig")
    st.caption("Backpropagation multiplies by the derivative (dashed): where it is near 0, almost no "
               "gradient flows back and the weights below hardly learn.")
with right:
    st.markdown("**Loss as a function of the probability of the right class**")
    st.plotly_chart(loss_figure(float(step.probabilities[label])), config=PLOT, width="stretch", key="hood_loss")
    st.caption("Cross-entropy punishes a confident mistake without bound; squared error never exceeds 1, "
               "so a very wrong network learns slowly from it.")

# 4. Glossary ---------------------------------------------------------------------------------------
st.header("4. Glossary")
hood.show_glossary()
