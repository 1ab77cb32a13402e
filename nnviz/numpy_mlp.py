"""A multi-layer perceptron written from scratch in NumPy: forward pass, softmax, cross-entropy,
backpropagation and gradient descent — small enough to read in one sitting.

Notation of Nielsen, "Neural Networks and Deep Learning", ch. 1–2
(http://neuralnetworksanddeeplearning.com/chap2.html). Layer ``l`` has weights ``W^l`` of shape
``(n_l, n_{l-1})`` and biases ``b^l`` of shape ``(n_l,)``; its weighted input is
``z^l = W^l a^{l-1} + b^l`` and its activation ``a^l = σ(z^l)``. The last layer has no σ: its
``z^L`` are the *logits*; softmax turns them into probabilities, cross-entropy scores them against
the label. Backpropagation is Nielsen's four equations, with BP1 in its softmax + cross-entropy form:

    δ^L = softmax(z^L) − onehot(y)          (BP1)
    δ^l = (δ^{l+1} W^{l+1}) ⊙ σ'(z^l)        (BP2)
    ∂C/∂b^l = δ^l                           (BP3)
    ∂C/∂W^l = δ^l (a^{l-1})ᵀ                 (BP4)

A batch is a matrix with one example per row, so ``z = a Wᵀ + b`` computes every example at once
and the gradients are averaged over the rows (the cost ``C`` is the batch's mean loss).

The default shape 784 → 16 → 16 → 10 is the network of 3Blue1Brown's "But what is a neural
network?" (2017). Weights follow PyTorch's ``nn.Linear`` convention — ``W`` of shape (out, in) —
and :func:`state_dict` names them ``fc1.weight``, ``fc1.bias``, … like :class:`nnviz.models.MLP`,
so a network trained here loads into the torch model and works on every page of the app
(see :mod:`nnviz.numpy_runs`). This module uses no torch at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np

from nnviz.divergence import Diverged, check_run_settings, divergence_message
from nnviz.events import BatchEnd, EpochEnd

# ---------------------------------------------------------------------------------------------
# Activation functions σ and their derivatives σ'. Arrays of any shape, elementwise.


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) = 1 / (1 + e^(−z)), written without overflow


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    s = sigmoid(z)
    return s * (1.0 - s)  # σ'(z) = σ(z) (1 − σ(z))


def tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z)  # tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))


def tanh_prime(z: np.ndarray) -> np.ndarray:
    return 1.0 - np.tanh(z) ** 2  # tanh'(z) = 1 − tanh²(z)


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)  # ReLU(z) = max(0, z)


def relu_prime(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(z.dtype)  # ReLU'(z) = 1 if z > 0 else 0 (0 at z = 0, as torch does)


ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_prime), "tanh": (tanh, tanh_prime), "relu": (relu, relu_prime)}

# ---------------------------------------------------------------------------------------------
# The network


@dataclass
class NumpyMLP:
    """Weights ``W^l`` ``(n_l, n_{l-1})`` and biases ``b^l`` ``(n_l,)`` of every layer, l = 1 … L,
    and the hidden layers' activation (``"sigmoid"``, ``"tanh"`` or ``"relu"``). float32 or float64."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: str = "sigmoid"

    @property
    def widths(self) -> list[int]:
        """Layer sizes from input to output, e.g. ``[784, 16, 16, 10]``."""
        return [self.weights[0].shape[1]] + [W.shape[0] for W in self.weights]

    def copy(self) -> NumpyMLP:
        return NumpyMLP([W.copy() for W in self.weights], [b.copy() for b in self.biases], self.activation)

    def astype(self, dtype) -> NumpyMLP:
        return NumpyMLP([W.astype(dtype) for W in self.weights], [b.astype(dtype) for b in self.biases],
                        self.activation)


def init_mlp(widths=(784, 16, 16, 10), activation: str = "sigmoid", seed: int = 0, dtype=np.float64) -> NumpyMLP:
    """A fresh network: ``W^l ~ N(0, gain² / n_{l-1})``, ``b^l = 0``.

    The 1/√n_in scale keeps each z of order 1 (Nielsen ch. 3, "Weight initialization"); the gain is
    √2 for ReLU (He et al. 2015) and 1 otherwise.

    Raises:
        ValueError: unknown activation, fewer than two widths, or a non-positive width.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    if len(widths) < 2 or min(int(w) for w in widths) < 1:
        raise ValueError(f"need at least an input and an output width, all positive; got {list(widths)}")
    rng = np.random.default_rng(seed)
    gain = math.sqrt(2.0) if activation == "relu" else 1.0
    weights = [(rng.standard_normal((n_out, n_in)) * gain / math.sqrt(n_in)).astype(dtype)
               for n_in, n_out in zip(widths[:-1], widths[1:])]
    biases = [np.zeros(n_out, dtype) for n_out in widths[1:]]
    return NumpyMLP(weights, biases, activation)


def weighted_sum(W: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``z = W·a + b`` for every row ``a`` of the batch: ``(N, n_in)`` → ``(N, n_out)``."""
    return a @ W.T + b  # z_j = Σ_k W_jk a_k + b_j


@dataclass
class ForwardPass:
    """Everything the forward pass computed for a batch of N inputs.

    ``zs[l-1]`` is ``z^l`` ``(N, n_l)`` for l = 1 … L (``zs[-1]`` are the logits);
    ``activations[l]`` is ``a^l`` ``(N, n_l)`` for l = 0 … L−1 (``activations[0]`` is the input x).
    """

    zs: list[np.ndarray]
    activations: list[np.ndarray]

    @property
    def logits(self) -> np.ndarray:
        return self.zs[-1]


def forward(mlp: NumpyMLP, x: np.ndarray) -> ForwardPass:
    """Run ``x`` ``(N, n_0)`` (normalised pixels, one image per row) through the network."""
    sigma = ACTIVATIONS[mlp.activation][0]
    a, zs, activations = x, [], [x]
    for l, (W, b) in enumerate(zip(mlp.weights, mlp.biases), start=1):
        z = weighted_sum(W, b, a)  # z^l = W^l a^(l−1) + b^l
        zs.append(z)
        if l < len(mlp.weights):
            a = sigma(z)  # a^l = σ(z^l)
            activations.append(a)
    return ForwardPass(zs, activations)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities ``(N, K)`` summing to 1 per row from logits ``(N, K)`` (or ``(K,)``)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)  # softmax(z) = softmax(z − max z): no overflow
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)  # p_k = e^(z_k) / Σ_j e^(z_j)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy loss in nats, ``C = −(1/N) Σ_n log p_{y_n}``, of logits ``(N, K)`` and
    integer labels ``(N,)``; computed as log-sum-exp minus the right logit, which never takes log 0."""
    m = logits.max(axis=1, keepdims=True)
    log_sum_exp = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))  # log Σ_j e^(z_j)
    right = logits[np.arange(len(labels)), labels]  # z_y
    return float(np.mean(log_sum_exp - right))  # −log p_y = log Σ_j e^(z_j) − z_y


def one_hot(labels: np.ndarray, num_classes: int, dtype=np.float64) -> np.ndarray:
    """``(N,)`` integer labels → ``(N, num_classes)`` rows of 0s with a 1 at the label."""
    return np.eye(num_classes, dtype=dtype)[labels]


@dataclass
class Gradients:
    """The batch's mean loss ``C`` (nats), ``∂C/∂W^l`` and ``∂C/∂b^l`` (shapes of the weights and
    biases), the errors ``δ^l = ∂C/∂z^l`` ``(N, n_l)`` of every layer (each row is one example's
    δ divided by N, since C is the mean), and the forward pass they came from."""

    loss: float
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    deltas: list[np.ndarray]
    forward: ForwardPass


def backprop(mlp: NumpyMLP, x: np.ndarray, labels: np.ndarray) -> Gradients:
    """The gradient of the mean cross-entropy of ``x`` ``(N, n_0)`` with integer ``labels`` ``(N,)``
    with respect to every weight and bias: Nielsen's equations BP1–BP4 (ch. 2)."""
    sigma_prime = ACTIVATIONS[mlp.activation][1]
    fp = forward(mlp, x)
    n, L = len(x), len(mlp.weights)
    delta = (softmax(fp.logits) - one_hot(labels, fp.logits.shape[1], x.dtype)) / n  # BP1: δ^L = p − y (÷N: mean)
    deltas, grad_W, grad_b = [delta], [], []
    for l in range(L, 0, -1):  # from the output layer back to the first
        grad_W.append(delta.T @ fp.activations[l - 1])  # BP4: ∂C/∂W^l = δ^l (a^(l−1))ᵀ, summed over the batch
        grad_b.append(delta.sum(axis=0))  # BP3: ∂C/∂b^l = δ^l, summed over the batch
        if l > 1:
            delta = (delta @ mlp.weights[l - 1]) * sigma_prime(fp.zs[l - 2])  # BP2: δ^(l−1) = (W^l)ᵀ δ^l ⊙ σ'(z^(l−1))
            deltas.append(delta)
    return Gradients(cross_entropy(fp.logits, labels), grad_W[::-1], grad_b[::-1], deltas[::-1], fp)


def gradient_descent_step(mlp: NumpyMLP, grads: Gradients, learning_rate: float) -> None:
    """Move every parameter a step down its gradient, in place: ``w ← w − η ∂C/∂w``."""
    for W, b, dW, db in zip(mlp.weights, mlp.biases, grads.weights, grads.biases):
        W -= learning_rate * dW  # W^l ← W^l − η ∂C/∂W^l
        b -= learning_rate * db  # b^l ← b^l − η ∂C/∂b^l


def predict_proba(mlp: NumpyMLP, x: np.ndarray) -> np.ndarray:
    """Softmax probabilities ``(N, K)`` of inputs ``x`` ``(N, n_0)``."""
    return softmax(forward(mlp, x).logits)


def evaluate(mlp: NumpyMLP, x: np.ndarray, labels: np.ndarray, batch_size: int = 2000) -> tuple[float, float]:
    """Accuracy (fraction in [0, 1]) and mean cross-entropy (nats) of ``mlp`` on ``x`` ``(N, n_0)``."""
    correct, loss_sum = 0, 0.0
    for first in range(0, len(x), batch_size):
        xb, yb = x[first:first + batch_size], labels[first:first + batch_size]
        logits = forward(mlp, xb).logits
        correct += int((logits.argmax(axis=1) == yb).sum())
        loss_sum += cross_entropy(logits, yb) * len(xb)
    return correct / len(x), loss_sum / len(x)


# ---------------------------------------------------------------------------------------------
# Mini-batch stochastic gradient descent


@dataclass
class NumpyTrainConfig:
    """A plain SGD recipe (defaults: the shipped digits-numpy's, for a ReLU 784 → 16 → 16 → 10): ``epochs`` passes over the training set in shuffled mini-batches of
    ``batch_size`` images, learning rate ``learning_rate`` multiplied by ``learning_rate_decay``
    after every epoch (1.0 keeps it constant); ``train_size`` keeps only that many images of a
    seeded shuffle (None: all); ``seed`` seeds the weights and the shuffling; ``dtype`` is
    ``"float32"`` (fast) or ``"float64"``."""

    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 0.05
    learning_rate_decay: float = 0.9
    train_size: int | None = None
    seed: int = 0
    dtype: str = "float32"

    def validate(self) -> None:
        """Raises ValueError naming the first setting that is out of range."""
        check_run_settings(self.epochs, self.batch_size, self.learning_rate, self.train_size)
        if not 0 < self.learning_rate_decay <= 1:
            raise ValueError(f"learning-rate decay must be in (0, 1], got {self.learning_rate_decay}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def fit(mlp: NumpyMLP, config: NumpyTrainConfig, train: tuple[np.ndarray, np.ndarray],
        test: tuple[np.ndarray, np.ndarray], should_stop: Callable[[], bool] | None = None
        ) -> Iterator[BatchEnd | EpochEnd]:
    """Train ``mlp`` in place by mini-batch SGD; yield a :class:`nnviz.training.BatchEnd` after every
    step and an :class:`nnviz.training.EpochEnd` after every epoch (same fields as the PyTorch loop).

    ``train`` and ``test`` are ``(images (N, n_0), labels (N,) int)``, images normalised and
    flattened (see :func:`nnviz.numpy_runs.as_arrays`). ``should_stop`` is asked after every
    step, as in :func:`nnviz.training.fit`; a caller can also stop the run by not iterating further.
    Either way ``mlp`` keeps the weights it has so far.

    Raises:
        ValueError: a setting out of range.
        nnviz.divergence.Diverged: the loss became NaN or infinite.
    """
    stop = should_stop or (lambda: False)
    config.validate()
    rng = np.random.default_rng(config.seed)
    x_train, y_train = train
    if config.train_size is not None and config.train_size < len(x_train):
        keep = rng.permutation(len(x_train))[:config.train_size]
        x_train, y_train = x_train[keep], y_train[keep]
    dtype = np.dtype(config.dtype)
    x_train, x_test = x_train.astype(dtype, copy=False), test[0].astype(dtype, copy=False)
    n = len(x_train)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps, step, seen = steps_per_epoch * config.epochs, 0, 0
    learning_rate = config.learning_rate
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        order = rng.permutation(n)
        loss_sum, correct = 0.0, 0
        for first in range(0, n, config.batch_size):
            idx = order[first:first + config.batch_size]
            x, y = x_train[idx], y_train[idx]
            grads = backprop(mlp, x, y)  # forward, loss, backward
            if not math.isfinite(grads.loss):
                raise Diverged(divergence_message(grads.loss, config, epoch, step + 1, mlp.widths[-1]))
            gradient_descent_step(mlp, grads, learning_rate)  # w ← w − η ∂C/∂w
            step += 1
            seen += len(idx)
            loss_sum += grads.loss * len(idx)
            correct += int((grads.forward.logits.argmax(axis=1) == y).sum())
            elapsed = time.perf_counter() - start
            yield BatchEnd(epoch, step, total_steps, grads.loss, learning_rate, seen, seen / max(elapsed, 1e-9), elapsed)
            if stop():
                return
        test_accuracy, test_loss = evaluate(mlp, x_test, test[1])
        yield EpochEnd(epoch, loss_sum / n, correct / n, test_loss, test_accuracy, time.perf_counter() - start)
        learning_rate *= config.learning_rate_decay


def state_dict(mlp: NumpyMLP) -> dict[str, np.ndarray]:
    """The parameters under :class:`nnviz.models.MLP`'s names: ``fc1.weight`` ``(n_1, n_0)``,
    ``fc1.bias`` ``(n_1,)``, ``fc2.weight`` …"""
    out = {}
    for l, (W, b) in enumerate(zip(mlp.weights, mlp.biases), start=1):
        out[f"fc{l}.weight"], out[f"fc{l}.bias"] = W, b
    return out


def from_state_dict(state: dict[str, np.ndarray], activation: str, dtype=np.float64) -> NumpyMLP:
    """The network whose parameters are ``state`` (names as :func:`state_dict`'s; arrays or
    anything ``np.asarray`` takes, e.g. CPU torch tensors).

    Raises:
        ValueError: the names are not ``fc1.weight``, ``fc1.bias``, … in sequence, or shapes do not chain.
    """
    L = len([k for k in state if k.endswith(".weight")])
    if set(state) != {f"fc{l}.{p}" for l in range(1, L + 1) for p in ("weight", "bias")}:
        raise ValueError(f"expected fc1.weight, fc1.bias, … fc{L}.bias; got {sorted(state)}")
    weights = [np.asarray(state[f"fc{l}.weight"], dtype=dtype) for l in range(1, L + 1)]
    biases = [np.asarray(state[f"fc{l}.bias"], dtype=dtype) for l in range(1, L + 1)]
    for l in range(1, L):
        if weights[l].shape[1] != weights[l - 1].shape[0]:
            raise ValueError(f"fc{l + 1}.weight takes {weights[l].shape[1]} inputs but fc{l} gives {weights[l - 1].shape[0]}")
    return NumpyMLP(weights, biases, activation)
