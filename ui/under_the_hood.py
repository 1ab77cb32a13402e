"""Streamlit glue for the "Under the hood" page: the small MLPs it can draw whole, the network's
weights as NumPy arrays (cached, never mutated), the input (the drawing or a test image), and the
written-out numbers of one learning step and the glossary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from nnviz.figures.network_diagram import MAX_DRAWN
from nnviz.formatting import latex_number as fmt
from nnviz.formatting import digits_for_change, latex_probability, probability, rounded
from nnviz.glossary import GLOSSARY
from nnviz.learning_step import LearningStep, teaching_example
from nnviz.numpy_mlp import NumpyMLP, forward, softmax
from nnviz.numpy_runs import from_torch
from nnviz.preprocess import BlankDrawing
from nnviz.samples import sample_digits
from ui.drawing import current_digit
from ui.resources import digit_classifier, digit_model_cards

DEFAULT_MODEL = "digits-numpy"
PAGES = {"draw": ("app_pages/draw.py", ":material/draw:"), "inspect": ("app_pages/inspect.py", ":material/biotech:"),
         "train": ("app_pages/train.py", ":material/model_training:"),
         "under-the-hood": ("app_pages/under_the_hood.py", ":material/neurology:")}
PAGE_TITLES = {"draw": "Draw a digit", "inspect": "Open the network", "train": "Train a network",
               "under-the-hood": "this page"}


def small_mlp_cards() -> list[dict]:
    """Cards of the digit MLPs narrow enough to draw whole (every hidden layer ≤ MAX_DRAWN neurons)."""
    return [c for c in digit_model_cards() if c["architecture"].get("kind") == "mlp"
            and max(c["architecture"].get("hidden") or [MAX_DRAWN + 1]) <= MAX_DRAWN]


def choose_small_mlp(key: str) -> str:
    """A radio button of the drawable MLPs, digits-numpy first; stops the page when there is none."""
    cards = sorted(small_mlp_cards(), key=lambda c: c["name"] != DEFAULT_MODEL)
    if not cards:
        st.error("No small MLP found: train one with `python -m nnviz train --model numpy-mlp --out trained/digits-numpy`.")
        st.stop()
    labels = {c["name"]: f"{c['name']} — {' → '.join(map(str, [784, *c['architecture']['hidden'], 10]))}, "
              f"{c['metrics']['test_accuracy']:.2%} on MNIST test" for c in cards}
    return st.radio("Network", list(labels), format_func=labels.get, horizontal=True, key=key)


@st.cache_resource(show_spinner=False)
def numpy_network(name: str, sha: str) -> NumpyMLP:
    """The network ``name`` as float64 NumPy arrays, shared by all sessions: read it, never change it
    (:func:`nnviz.learning_step.learning_step` works on a copy). ``sha`` keys a retrained model anew."""
    return from_torch(digit_classifier(name).model)


@dataclass
class HoodInput:
    """The input shown: ``x`` ``(784,)`` normalised pixels, ``image`` ``(28, 28)`` in [0, 1], a
    description, and the test label when it is a test image (None for a drawing)."""

    x: np.ndarray
    image: np.ndarray
    about: str
    label: int | None


def hood_input(mean: float, std: float, mlp: NumpyMLP) -> HoodInput:
    """The session's drawing after MNIST-style preprocessing; without one, the shipped test digit
    on which ``mlp`` hesitates (:func:`nnviz.learning_step.teaching_example`), with a note. The
    shipped digits need no dataset, so the page works offline."""
    try:
        digit = current_digit()
        x = digit.tensor(mean, std).numpy().reshape(-1).astype(np.float64)  # (pixel − mean) / std
        return HoodInput(x, digit.image, "your drawing", None)
    except BlankDrawing:
        samples = sample_digits()
        xs = ((samples.pixels.reshape(len(samples), -1) / 255.0 - mean) / std).astype(np.float64)
        i = teaching_example(mlp, xs, samples.labels)
        index, label = int(samples.indices[i]), int(samples.labels[i])
        p = softmax(forward(mlp, xs[i:i + 1]).logits[0])
        how = "right, but only with" if p.argmax() == label else "wrong: it gives the right answer"
        st.info(f"No drawing yet, so this is **test image #{index}** (a {label}), which this network gets {how} "
                f"probability {probability(p[label])}. One step of learning below visibly changes that. Draw a "
                "digit on the **Draw a digit** page and come back: everything below will be computed for your "
                "drawing.", icon=":material/draw:")
        st.page_link(*PAGES["draw"][:1], label="Draw a digit", icon=PAGES["draw"][1])
        return HoodInput(xs[i], samples.image(i), f"test image #{index}", label)


def show_forward(step: LearningStep, activation: str, output_layer: int) -> None:
    """The chosen neuron's weighted sum, term by term, its activation, softmax and the loss."""
    n = step.neuron
    last = n.layer == output_layer
    where = "input pixel" if n.layer == 1 else f"neuron of layer {n.layer - 1}"
    rows = [{"input k": (f"pixel {t.k} (row {t.k // 28}, col {t.k % 28})" if n.layer == 1 else f"{where} {t.k}"),
             "weight w": rounded(t.weight), "input a": rounded(t.input), "w · a": rounded(t.product)} for t in n.terms]
    st.markdown(f"**Forward.** {'Output' if last else 'Neuron'} {n.j} of layer {n.layer} adds up its {n.n_inputs} "
                f"inputs, each times its weight, plus its bias. The {len(n.terms)} largest terms:")
    st.dataframe(rows, hide_index=True, width="stretch")
    top = sum(t.product for t in n.terms)
    st.latex(rf"\begin{{aligned}} z &= \sum_k w_k a_k + b \\ &= \underbrace{{{fmt(top)}}}_{{\text{{these {len(n.terms)}}}}}"
             rf" + \underbrace{{{fmt(n.rest)}}}_{{\text{{other {n.n_inputs - len(n.terms)}}}}}"
             rf" + \underbrace{{{fmt(n.bias)}}}_{{b}} = {fmt(n.z)} \end{{aligned}}")
    if not last:
        st.latex(rf"a = \mathrm{{{activation}}}(z) = \mathrm{{{activation}}}({fmt(n.z)}) = {fmt(n.activation)}")
    y = step.label
    shown_p = latex_probability(step.probabilities[y])  # digits enough that −log of it agrees with L
    st.latex(rf"\begin{{aligned}} p_{y} &= \mathrm{{softmax}}(z)_{y} = \frac{{e^{{z_{y}}}}}{{\sum_j e^{{z_j}}}} \\"
             rf" &= \frac{{e^{{{fmt(step.logits[y])}}}}}{{{fmt(np.exp(step.logits).sum())}}} = {shown_p} \end{{aligned}}")
    st.latex(rf"L = -\log p_{y} = -\log\left({shown_p}\right) = {fmt(step.loss, 3)}")


def show_backward(step: LearningStep, activation: str, output_layer: int) -> None:
    """The chain rule for the chosen weight, each factor with its value, and the update."""
    g = step.weight
    w = rf"w^{{({g.layer})}}_{{{g.j},{g.k}}}"
    source = f"pixel {g.k}" if g.layer == 1 else f"neuron {g.k} of layer {g.layer - 1}"
    st.markdown(f"**Backward.** The weight from {source} to {'output' if g.layer == output_layer else 'neuron'} "
                f"{g.j} of layer {g.layer}: how much would the loss change if it grew a little? The chain rule "
                "multiplies one factor per link from the loss back to the weight:")
    if g.layer == output_layer:
        st.latex(rf"\begin{{aligned}} \frac{{\partial L}}{{\partial {w}}} &= (p_{{{g.j}}} - [{g.j} = {step.label}])"
                 rf" \cdot a_{{{g.k}}} \\ &= {fmt(g.upstream)} \cdot {fmt(g.input)} = {fmt(g.gradient)} \end{{aligned}}")
        st.caption(f"[{g.j} = {step.label}] is 1 if this output is the right answer, else 0: softmax and "
                   "cross-entropy together send back simply “probability minus target”.")
    else:
        st.latex(rf"\begin{{aligned}} \frac{{\partial L}}{{\partial {w}}} &= \frac{{\partial L}}{{\partial a_{{{g.j}}}}}"
                 rf" \cdot \mathrm{{{activation}}}'(z_{{{g.j}}}) \cdot a_{{{g.k}}} \\"
                 rf" &= {fmt(g.upstream)} \cdot {fmt(g.slope)} \cdot {fmt(g.input)} \\ &= {fmt(g.gradient)} \end{{aligned}}")
        st.caption("∂L/∂a is the error sent back from the layer above: each of its neurons' errors times the "
                   "weight that connects it to this neuron, added up (backpropagation).")
        if g.slope == 0:
            st.info(f"This neuron is off for this input (z < 0, so {activation}'(z) = 0): none of its incoming weights "
                    "learn from this example. Pick a neuron that is on (yellow in the diagram).", icon=":material/info:")
    sig = digits_for_change(g.weight, g.new_weight)  # enough digits that the step shows
    st.latex(rf"\begin{{aligned}} {w} &\leftarrow {w} - \eta \, \frac{{\partial L}}{{\partial {w}}} \\"
             rf" &= {fmt(g.weight, sig)} - {fmt(g.learning_rate)} \times {fmt(g.gradient)} \\ &= {fmt(g.new_weight, sig)}"
             r" \end{aligned}")


def show_glossary() -> None:
    """Every term, one plain line each, under a link to the page where the student sees it."""
    for page, (path, icon) in PAGES.items():
        terms = [t for t in GLOSSARY if t.page == page]
        if not terms:
            continue
        st.page_link(path, label=f"**See it on {PAGE_TITLES[page]}**", icon=icon)
        st.markdown("\n".join(f"- **{t.word}** — {t.meaning}" for t in terms))
