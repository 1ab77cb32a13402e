"""The from-scratch NumPy network is proved against PyTorch: the same logits as the torch MLP on
the same weights, every gradient equal to autograd's (float64), a finite-difference check, a
gradient step that lowers the loss, and a short SGD run on real MNIST that clearly beats chance."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnviz.models import MLP
from nnviz.numpy_mlp import (NumpyTrainConfig, backprop, cross_entropy, evaluate, fit, forward,
                             gradient_descent_step, init_mlp, softmax, state_dict)
from nnviz.numpy_runs import as_arrays, from_torch, to_torch
from nnviz.events import BatchEnd, EpochEnd
from numerics import accuracy_tolerance


def torch_twin(mlp) -> MLP:
    """The torch MLP holding ``mlp``'s weights in float64, parameters requiring gradients."""
    widths = mlp.widths
    model = MLP(hidden=widths[1:-1], activation=mlp.activation, in_features=widths[0],
                num_classes=widths[-1]).double()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict(mlp).items()})
    return model


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-12))


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(1)
    return rng.standard_normal((8, 784)), rng.integers(0, 10, 8)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_forward_equals_the_torch_mlp(batch, activation):
    x, _ = batch
    mlp = init_mlp((784, 16, 16, 10), activation, seed=3)
    expected = torch_twin(mlp)(torch.from_numpy(x).view(-1, 1, 28, 28)).detach().numpy()
    assert relative_error(forward(mlp, x).logits, expected) < 1e-12
    np.testing.assert_allclose(softmax(forward(mlp, x).logits), torch.softmax(torch.from_numpy(expected), 1).numpy(),
                               rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_every_gradient_equals_autograd(batch, activation):
    x, y = batch
    mlp = init_mlp((784, 16, 16, 10), activation, seed=4)
    mlp.biases = [np.random.default_rng(5).standard_normal(b.shape) * 0.1 for b in mlp.biases]
    model = torch_twin(mlp)
    loss = F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    grads = backprop(mlp, x, y)
    assert abs(grads.loss - loss.item()) < 1e-12
    mine = {}
    for l, (dW, db) in enumerate(zip(grads.weights, grads.biases), start=1):
        mine[f"fc{l}.weight"], mine[f"fc{l}.bias"] = dW, db
    torch_grads = {name: p.grad.numpy() for name, p in model.named_parameters()}
    assert set(mine) == set(torch_grads) == {f"fc{l}.{p}" for l in (1, 2, 3) for p in ("weight", "bias")}
    for name, g in torch_grads.items():
        assert mine[name].shape == g.shape, name
        assert relative_error(mine[name], g) < 1e-6, name


def test_finite_differences_agree_with_backprop(batch):
    x, y = batch
    mlp = init_mlp((784, 16, 16, 10), "sigmoid", seed=6)
    grads = backprop(mlp, x, y)
    rng = np.random.default_rng(7)
    eps = 1e-6
    for layer in range(3):
        for params, analytic in ((mlp.weights, grads.weights), (mlp.biases, grads.biases)):
            p = params[layer]
            for _ in range(5):
                i = tuple(rng.integers(0, s) for s in p.shape)
                saved = p[i]
                p[i] = saved + eps
                plus = cross_entropy(forward(mlp, x).logits, y)
                p[i] = saved - eps
                minus = cross_entropy(forward(mlp, x).logits, y)
                p[i] = saved
                numeric = (plus - minus) / (2 * eps)  # central difference, error O(eps²)
                assert abs(numeric - analytic[layer][i]) <= 1e-6 * max(1.0, abs(numeric)) + 1e-9


def test_one_small_step_lowers_the_loss(batch):
    x, y = batch
    mlp = init_mlp((784, 16, 16, 10), "sigmoid", seed=8)
    grads = backprop(mlp, x, y)
    gradient_descent_step(mlp, grads, learning_rate=0.01)
    assert cross_entropy(forward(mlp, x).logits, y) < grads.loss


def test_weights_round_trip_through_torch(batch):
    x, _ = batch
    mlp = init_mlp((784, 16, 16, 10), "tanh", seed=9)
    back = from_torch(to_torch(mlp))
    assert back.activation == "tanh" and back.widths == [784, 16, 16, 10]
    np.testing.assert_allclose(forward(back, x).logits, forward(mlp, x).logits, rtol=1e-5, atol=1e-5)


def test_from_torch_refuses_a_cnn():
    from nnviz.models import CNN
    with pytest.raises(ValueError, match="not an MLP"):
        from_torch(CNN())


def test_short_sgd_run_on_real_mnist_beats_chance(mnist_test):
    from nnviz.data import load_tensors
    x_train, y_train = as_arrays(*load_tensors("mnist", train=True))
    x_test, y_test = as_arrays(*mnist_test)
    mlp = init_mlp((784, 16, 16, 10), "sigmoid", seed=0, dtype=np.float32)
    config = NumpyTrainConfig(epochs=3, batch_size=32, learning_rate=0.5, train_size=5000)
    events = list(fit(mlp, config, (x_train, y_train), (x_test[:2000], y_test[:2000])))
    batches = [e for e in events if isinstance(e, BatchEnd)]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert len(batches) == 3 * 157 and batches[-1].total_steps == 471 and batches[-1].samples_seen == 15000
    assert len(epochs) == 3 and epochs[2].train_loss < epochs[0].train_loss
    assert epochs[-1].test_accuracy > 0.8  # chance is 0.10
    assert evaluate(mlp, x_test[:2000], y_test[:2000])[0] == epochs[-1].test_accuracy


def test_stopping_by_not_iterating_keeps_the_weights_so_far(batch):
    x, y = batch
    mlp = init_mlp((784, 4, 10), "relu", seed=0)
    before = mlp.weights[0].copy()
    events = fit(mlp, NumpyTrainConfig(epochs=100, batch_size=4, learning_rate=0.1, dtype="float64"), (x, y), (x, y))
    first = next(events)
    events.close()
    assert first.step == 1 and not np.array_equal(before, mlp.weights[0])


def test_shipped_digits_numpy_was_trained_by_the_numpy_code_and_reads_digits(mnist_test):
    from nnviz.predict import DigitClassifier
    classifier = DigitClassifier("digits-numpy")
    card = classifier.card
    assert "NumPy" in card["trained_by"] and card["dataset"] == "mnist"
    assert card["architecture"]["hidden"] == [16, 16] and card["split"]["n_train"] == 60000
    assert card["metrics"]["test_accuracy"] >= 0.95 and "validation" in card["recipe_selection"]
    x, y = as_arrays(*mnist_test)
    mlp = from_torch(classifier.model)
    with torch.no_grad():
        logits = classifier.model(mnist_test[0][:500]).numpy()
    np.testing.assert_allclose(forward(mlp, x[:500].astype(np.float64)).logits, logits, rtol=1e-4, atol=1e-4)
    # the card was written on another CPU: only predictions within float32 noise of a tie may differ
    tolerance = accuracy_tolerance(classifier.model, mnist_test[0])
    assert evaluate(mlp, x, y)[0] == pytest.approx(card["metrics"]["test_accuracy"], abs=tolerance)
