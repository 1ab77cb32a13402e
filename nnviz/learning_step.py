"""One step of learning with the numbers plugged in: for one input and its label, the forward pass
of a chosen neuron term by term, softmax, the loss, the chain rule for one chosen weight factor by
factor, and the gradient-descent update — and the prediction before and after a whole step.

Everything comes from :mod:`nnviz.numpy_mlp` (Nielsen, "Neural Networks and Deep Learning", ch. 2):
for the weight ``w = W^l_jk`` from neuron k of layer l−1 to neuron j of layer l,

    ∂L/∂w = ∂L/∂a^l_j · σ'(z^l_j) · a^(l−1)_k     (hidden layer l < L)
    ∂L/∂w = (p_j − [j = y]) · a^(L−1)_k            (output layer: softmax + cross-entropy)

where ``∂L/∂a^l_j = Σ_i W^(l+1)_ij δ^(l+1)_i`` gathers the errors δ of the layer above (BP2).
Layers are numbered 1 … L as in the textbook; neurons and inputs 0-based.
The network passed in is never modified: the step is taken on a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnviz.numpy_mlp import ACTIVATIONS, NumpyMLP, backprop, forward, gradient_descent_step, softmax


@dataclass
class Term:
    """One term ``w_k · a_k`` of a weighted sum: input index ``k``, weight, input value, product."""

    k: int
    weight: float
    input: float
    product: float


@dataclass
class NeuronSum:
    """``z = Σ_k w_k a_k + b`` of neuron ``j`` of layer ``layer`` for one input, with its largest
    terms (by |w_k a_k|, largest first), the sum of the rest, the bias, z and the activation
    ``a = σ(z)`` (for the output layer, the probability ``softmax(z)_j`` instead)."""

    layer: int
    j: int
    terms: list[Term]
    rest: float
    n_inputs: int
    bias: float
    z: float
    activation: float


@dataclass
class WeightGradient:
    """The chain rule for ``W^layer_jk``: ``gradient = upstream · slope · input``.

    ``upstream`` is ∂L/∂a^l_j (hidden layer) or ``p_j − [j = y]`` (output layer, where ``slope`` is 1
    because softmax + cross-entropy fold into BP1); ``slope`` σ'(z^l_j); ``input`` a^(l−1)_k (a
    normalised pixel for layer 1). ``new_weight = weight − learning_rate · gradient``."""

    layer: int
    j: int
    k: int
    weight: float
    upstream: float
    slope: float
    input: float
    gradient: float
    learning_rate: float
    new_weight: float


@dataclass
class LearningStep:
    """What one gradient-descent step on one example does.

    ``probabilities``/``probabilities_after`` ``(K,)`` softmax before and after the step (every
    weight and bias moved, on a copy of the network); ``loss``/``loss_after`` the cross-entropy
    ``−log p_y`` in nats before and after; ``label`` the right class y."""

    label: int
    learning_rate: float
    logits: np.ndarray
    probabilities: np.ndarray
    loss: float
    neuron: NeuronSum
    weight: WeightGradient
    probabilities_after: np.ndarray
    loss_after: float


def loss_of(logits: np.ndarray, label: int) -> float:
    """Cross-entropy ``−log softmax(z)_y`` in nats of one input's logits ``(K,)``, computed as
    ``log(1 + Σ_{j≠y} e^(z_j − z_y))`` with ``log1p`` when y has the largest logit: a sure answer's
    loss stays a small positive number (4.7×10⁻²⁰) instead of rounding to 0 or "-0" as
    ``−log p`` does once p rounds to 1."""
    z = np.asarray(logits, dtype=np.float64)
    others = np.delete(z - z[label], label)  # z_j − z_y for j ≠ y
    top = max(float(others.max()), 0.0)
    return float(top + np.log1p(np.expm1(-top) + np.exp(others - top).sum())) if top > 0 else \
        float(np.log1p(np.exp(others).sum()))


def neuron_sum(mlp: NumpyMLP, x: np.ndarray, layer: int, j: int, top: int = 5) -> NeuronSum:
    """The weighted sum of neuron ``j`` of ``layer`` (1 … L) for one input ``x`` ``(n_0,)``.

    Raises:
        IndexError: no such layer or neuron.
    """
    if not 1 <= layer <= len(mlp.weights) or not 0 <= j < mlp.weights[layer - 1].shape[0]:
        raise IndexError(f"no neuron {j} in layer {layer} of a {mlp.widths} network")
    fp = forward(mlp, x[None, :])
    a_prev = fp.activations[layer - 1][0]  # a^(l−1): what this neuron receives
    w = mlp.weights[layer - 1][j]
    products = w * a_prev  # w_k a_k
    order = np.argsort(-np.abs(products))[:top]
    terms = [Term(int(k), float(w[k]), float(a_prev[k]), float(products[k])) for k in order]
    z = float(fp.zs[layer - 1][0, j])
    if layer == len(mlp.weights):
        out = float(softmax(fp.logits[0])[j])
    else:
        out = float(fp.activations[layer][0, j])
    return NeuronSum(layer, j, terms, float(products.sum() - products[order].sum()), len(w),
                     float(mlp.biases[layer - 1][j]), z, out)


def weight_gradient(mlp: NumpyMLP, x: np.ndarray, label: int, layer: int, j: int, k: int,
                    learning_rate: float) -> WeightGradient:
    """The chain rule for the weight from neuron ``k`` of layer ``layer − 1`` to neuron ``j`` of
    ``layer``, for one input ``x`` ``(n_0,)`` with right class ``label``.

    Raises:
        IndexError: no such weight.
    """
    W = mlp.weights[layer - 1] if 1 <= layer <= len(mlp.weights) else None
    if W is None or not (0 <= j < W.shape[0] and 0 <= k < W.shape[1]):
        raise IndexError(f"no weight ({j}, {k}) in layer {layer} of a {mlp.widths} network")
    grads = backprop(mlp, x[None, :], np.array([label]))
    fp = grads.forward
    a_in = float(fp.activations[layer - 1][0, k])
    if layer == len(mlp.weights):
        upstream, slope = float(grads.deltas[-1][0, j]), 1.0  # p_j − [j = y]   (BP1)
    else:
        upstream = float(grads.deltas[layer][0] @ mlp.weights[layer][:, j])  # ∂L/∂a_j = Σ_i W^(l+1)_ij δ^(l+1)_i
        slope = float(ACTIVATIONS[mlp.activation][1](fp.zs[layer - 1][0, j]))  # σ'(z_j)
    gradient = float(grads.weights[layer - 1][j, k])
    weight = float(W[j, k])
    return WeightGradient(layer, j, k, weight, upstream, slope, a_in, gradient, learning_rate,
                          weight - learning_rate * gradient)


def learning_step(mlp: NumpyMLP, x: np.ndarray, label: int, learning_rate: float,
                  neuron: tuple[int, int], weight: tuple[int, int, int], top: int = 5) -> LearningStep:
    """One SGD step on the single example ``(x, label)``, explained.

    Args:
        mlp: the network; not modified.
        x: one input ``(n_0,)``, normalised pixels (``(pixel − 0.1307) / 0.3081`` for MNIST).
        label: the right class, 0 … K−1.
        learning_rate: η > 0.
        neuron: ``(layer, j)`` whose weighted sum to write out.
        weight: ``(layer, j, k)`` whose gradient and update to write out.
        top: how many of the largest terms of the weighted sum to list.

    Raises:
        ValueError: label out of range or η not positive. IndexError: no such neuron or weight.
    """
    n_classes = mlp.weights[-1].shape[0]
    if not 0 <= label < n_classes:
        raise ValueError(f"label must be 0 … {n_classes - 1}, got {label}")
    if not learning_rate > 0:
        raise ValueError(f"learning rate must be positive, got {learning_rate}")
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    mlp = mlp.astype(np.float64)  # a copy, in float64 so the numbers shown are the exact maths
    grads = backprop(mlp, x[None, :], np.array([label]))
    probabilities = softmax(grads.forward.logits[0])
    step = mlp.copy()
    gradient_descent_step(step, grads, learning_rate)  # w ← w − η ∂L/∂w, every weight and bias
    logits_after = forward(step, x[None, :]).logits[0]
    return LearningStep(label, learning_rate, grads.forward.logits[0], probabilities, grads.loss,
                        neuron_sum(mlp, x, *neuron, top=top), weight_gradient(mlp, x, label, *weight, learning_rate),
                        softmax(logits_after), loss_of(logits_after, label))


# A right answer given with less than this probability leaves room for one step to show: on the
# shipped digits-numpy, test image #8 (a 5, p = 0.69) rises to 0.98 after one step at η = 0.003.
HESITANT = 0.8


def teaching_example(mlp: NumpyMLP, x: np.ndarray, labels: np.ndarray) -> int:
    """Which of the inputs ``x`` ``(N, n_0)`` (normalised, e.g. the shipped sample digits) with
    right classes ``labels`` ``(N,)`` to open the one-step view on: the first one the network gets
    right with a probability below :data:`HESITANT` — one step then visibly raises it — else the
    one whose right class it finds least likely (a mistake, to be corrected)."""
    p = softmax(forward(mlp, np.asarray(x, dtype=np.float64)).logits)
    right = p[np.arange(len(labels)), labels]
    hesitant = np.flatnonzero((p.argmax(1) == labels) & (right < HESITANT))
    return int(hesitant[0]) if len(hesitant) else int(right.argmin())
