"""The "Under the hood" page: the diagram's colours are the activations it claims to show, the
learning step's numbers are autograd's, and the page renders real content for a drawing."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnviz.figures.network_diagram import network_diagram
from nnviz.learning_step import learning_step
from nnviz.models import MLP
from nnviz.numpy_mlp import forward, init_mlp, softmax, state_dict
from nnviz.numpy_runs import as_arrays, from_torch
from nnviz.predict import DigitClassifier



@pytest.fixture(scope="module")
def shipped():
    """digits-numpy as a NumPy network."""
    return from_torch(DigitClassifier("digits-numpy").model)


@pytest.fixture(scope="module")
def digit(mnist_test, mnist_test_pixels):
    """Test image #3 (a 0): normalised ``(784,)`` float64 and its picture ``(28, 28)`` in [0, 1]."""
    x, _ = as_arrays(*mnist_test)
    return x[3].astype(np.float64), mnist_test_pixels[0][3] / 255.0


def neuron_traces(fig) -> dict:
    return {t.name: t for t in fig.data if t.name in ("layer 1", "layer 2", "output")}


def test_diagram_colours_are_the_activations_it_shows(shipped, digit):
    x, image = digit
    fig = network_diagram(shipped, x, image, highlight=(1, 4))
    fp = forward(shipped, x[None, :])
    traces = neuron_traces(fig)
    assert set(traces) == {"layer 1", "layer 2", "output"}
    np.testing.assert_allclose(traces["layer 1"].marker.color, fp.activations[1][0], rtol=1e-12)
    np.testing.assert_allclose(traces["layer 2"].marker.color, fp.activations[2][0], rtol=1e-12)
    np.testing.assert_allclose(traces["output"].marker.color, softmax(fp.logits[0]), rtol=1e-12)
    # hover data: neuron index, z, b, activation
    custom = np.asarray(traces["layer 2"].customdata)
    np.testing.assert_allclose(custom[:, 1], fp.zs[1][0])
    np.testing.assert_allclose(custom[:, 2], shipped.biases[1])
    assert traces["output"].text[0].startswith("0 ") and max(traces["output"].marker.color) == traces["output"].marker.color[0]
    assert traces["layer 1"].marker.line.width[4] == 3  # the chosen neuron is ringed
    np.testing.assert_allclose(fig.data[0].z[::-1], image)  # the input layer is the image, top row on top
    edges = [t for t in fig.data if t.name.startswith("edges")]
    n_segments = sum(len(t.x) // 3 for t in edges)
    assert n_segments == 3 * (16 + 16 + 10)
    for t in edges:  # colour says the weight's sign
        assert t.line.color == ("#1c7ed6" if "+" in t.name else "#e03131")


@pytest.mark.parametrize("layer, j, k", [(1, 5, 300), (2, 3, 7), (3, 7, 2)])
def test_learning_step_numbers_equal_autograd(shipped, digit, layer, j, k):
    x, _ = digit
    before = [w.copy() for w in shipped.weights]
    eta, label = 0.01, 7
    step = learning_step(shipped, x, label, eta, neuron=(layer, j), weight=(layer, j, k))
    model = MLP(hidden=[16, 16], activation="relu").double()
    model.load_state_dict({n: torch.from_numpy(v.astype(np.float64)) for n, v in state_dict(shipped).items()})
    xt = torch.from_numpy(x).view(1, 1, 28, 28)
    logits = model(xt)
    loss = F.cross_entropy(logits, torch.tensor([label]))
    loss.backward()
    grad = getattr(model, f"fc{layer}").weight.grad[j, k].item()
    g = step.weight
    assert step.loss == pytest.approx(loss.item(), rel=1e-9)
    assert g.gradient == pytest.approx(grad, rel=1e-9, abs=1e-15)
    assert g.upstream * g.slope * g.input == pytest.approx(grad, rel=1e-9, abs=1e-15)  # the factors multiply out
    w = getattr(model, f"fc{layer}").weight[j, k].item()
    assert g.weight == pytest.approx(w) and g.new_weight == pytest.approx(w - eta * grad)
    # the neuron's weighted sum: the terms shown, the rest and the bias add up to z
    n = step.neuron
    assert sum(t.product for t in n.terms) + n.rest + n.bias == pytest.approx(n.z, abs=1e-9)
    # a whole SGD step in torch gives the same prediction after
    with torch.no_grad():
        for p in model.parameters():
            p -= eta * p.grad
        after = torch.softmax(model(xt), 1)[0].numpy()
    np.testing.assert_allclose(step.probabilities_after, after, rtol=1e-9, atol=1e-15)
    assert all(np.array_equal(a, b) for a, b in zip(before, shipped.weights))  # never modified


def test_diagram_refuses_a_network_too_wide_to_draw(digit):
    with pytest.raises(ValueError, match="too many"):
        network_diagram(init_mlp((784, 512, 10)), *digit)


def test_page_renders_the_network_for_an_injected_drawing(mnist_test_pixels, shipped, open_page, canvas):
    pixels, labels = mnist_test_pixels
    at = open_page("app_pages/under_the_hood.py")
    assert any("test image #" in i.value for i in at.info)  # no drawing yet: a shipped test image, said so
    at.session_state["drawing"] = canvas(pixels[3])  # a 0
    at.run()
    assert not at.exception, at.exception
    assert not at.info or all("test image" not in i.value for i in at.info)
    assert any("your drawing" in m.value and "answers **0**" in m.value for m in at.markdown)
    diagram = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "layer 1" in c.proto.spec)
    output = next(t for t in diagram["data"] if t.get("name") == "output")
    assert np.argmax(output["marker"]["color"]) == 0 and "0 " in output["text"][0]
    latex = " ".join(l.value for l in at.latex)
    assert r"\sum_k w_k a_k + b" in latex and r"\frac{\partial L}" in latex and r"\leftarrow" in latex
    assert {m.label for m in at.metric} >= {"Loss"}
    from nnviz.glossary import GLOSSARY
    glossary = " ".join(m.value for m in at.markdown)
    assert all(f"**{t.word}** — {t.meaning}" in glossary for t in GLOSSARY) and len(GLOSSARY) == 18
    assert {link.proto.page for link in at.get("page_link")} == {"draw", "inspect", "train", "under-the-hood"}
    at.selectbox(key="hood_label").set_value(3).run()  # teach it a wrong label: the loss is large
    assert not at.exception, at.exception
    loss = next(m for m in at.metric if m.label == "Loss")
    assert float(loss.delta) < 0  # one small step lowers the loss on that example


def test_digits_numpy_works_on_the_draw_and_inspect_pages(mnist_test_pixels, open_page, canvas):
    """The network trained by the NumPy code is an ordinary checkpoint: Draw and Inspect use it unchanged."""
    pixels, labels = mnist_test_pixels
    at = open_page("app_pages/draw.py", timeout=180, drawing=canvas(pixels[0]))  # a 7
    at.radio(key="draw_model").set_value("digits-numpy").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Prediction"] == str(labels[0])
    at.switch_page("app_pages/inspect.py").run()
    at.radio(key="inspect_model").set_value("digits-numpy").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Prediction"] == str(labels[0])
    assert at.radio(key="inspect_layer").options == ["flatten", "fc1", "relu1", "fc2", "relu2", "fc3"]


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_plot_shows_the_derivative_of_its_curve(name):
    from nnviz.figures.activation_functions import activation_figure, loss_figure
    fig = activation_figure(name, z=1.5)
    z, f, f_prime = np.asarray(fig.data[0].x), np.asarray(fig.data[0].y), np.asarray(fig.data[1].y)
    slope = np.gradient(f, z)
    away_from_kink = np.abs(z) > 0.2  # ReLU has no derivative at 0
    np.testing.assert_allclose(slope[away_from_kink][1:-1], f_prime[away_from_kink][1:-1], atol=2e-3)
    assert fig.data[2].x[0] == 1.5
    loss = loss_figure(0.25)
    assert loss.data[2].y[0] == pytest.approx(-np.log(0.25)) and loss.data[2].y[1] == pytest.approx(0.75 ** 2)
