"""The training loop on real MNIST: it learns, repeats exactly with a seed, can be stopped, and
explains a diverging run in plain words."""

import itertools
import re

import pytest
import torch

from nnviz.data import load_tensors
from nnviz.models import build_model
from nnviz.events import BatchEnd, EpochEnd
from nnviz.training import Diverged, TrainConfig, fit

SMALL_MLP = {"kind": "mlp", "hidden": [64], "activation": "relu"}


@pytest.fixture(scope="module")
def subset():
    x, y = load_tensors("mnist", train=True)
    xt, yt = load_tensors("mnist", train=False)
    return (x[:2000], y[:2000]), (xt[:1000], yt[:1000])


def run(config, subset, arch=SMALL_MLP):
    torch.manual_seed(config.seed)
    model = build_model(arch)
    events = list(fit(model, config, *subset))
    return model, events


def test_loss_falls_and_test_accuracy_is_far_above_chance(subset):
    _, events = run(TrainConfig(epochs=2, batch_size=64, learning_rate=3e-3), subset)
    losses = [e.loss for e in events if isinstance(e, BatchEnd)]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert len(epochs) == 2 and len(losses) == 2 * 32
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10
    assert epochs[-1].test_accuracy > 0.85


def test_the_same_seed_gives_the_same_model(subset):
    config = TrainConfig(epochs=1, batch_size=100, augment=True, seed=7)
    a, _ = run(config, subset)
    b, _ = run(config, subset)
    c, _ = run(TrainConfig(epochs=1, batch_size=100, augment=True, seed=8), subset)
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.state_dict()["fc1.weight"], c.state_dict()["fc1.weight"])


def test_closing_the_generator_stops_and_keeps_the_model(subset):
    torch.manual_seed(0)
    model = build_model(SMALL_MLP)
    before = model.state_dict()["fc1.weight"].clone()
    events = fit(model, TrainConfig(epochs=3, batch_size=64), *subset)
    seen = list(itertools.islice(events, 5))
    events.close()
    assert [e.step for e in seen] == [1, 2, 3, 4, 5]
    assert not torch.equal(model.state_dict()["fc1.weight"], before)  # five steps of learning are kept


def test_a_run_of_a_few_batches_trains_with_a_constant_rate(subset):
    (x, y), test = subset
    _, events = run(TrainConfig(epochs=1, batch_size=128, schedule="onecycle"), ((x[:500], y[:500]), test))
    steps = [e for e in events if isinstance(e, BatchEnd)]
    assert len(steps) == 4 and {e.learning_rate for e in steps} == {3e-3}


def test_a_huge_learning_rate_is_stopped_with_a_plain_explanation(subset):
    # 1000 is the largest rate allowed (nnviz.divergence.MAX_LEARNING_RATE); its loss may blow up before it is NaN.
    with pytest.raises(Diverged, match=r"^Training stopped: the loss (became (NaN|infinite)|blew up to [\d.e+]+ \(a "
                                       r"network that only guesses scores 2\.30\)) at batch [\d,]+ of the run \(in epoch 1\)\. The "
                                       r"weights grew out of control, which almost always means the learning rate "
                                       r"\(1000\) is too high for this model and optimizer\. Try a smaller "
                                       r"learning rate, e\.g\. 100\.$"):  # the largest selectable rate ≤ 100
        run(TrainConfig(epochs=1, batch_size=64, learning_rate=1e3, optimizer="sgd", schedule="constant"), subset)


@pytest.mark.parametrize("bad, message", [
    (dict(epochs=0), "epochs must be at least 1, got 0"),
    (dict(batch_size=0), "batch size must be at least 1, got 0"),
    (dict(learning_rate=-1.0), "learning rate must be a positive number, got -1.0"),
    (dict(learning_rate=float("nan")), "learning rate must be a positive number, got nan"),
    (dict(optimizer="rmsprop"), "unknown optimizer 'rmsprop'; choose one of ('sgd', 'momentum', 'adam')"),
    (dict(schedule="cosine"), "unknown schedule 'cosine'; choose one of ('onecycle', 'constant')"),
    (dict(train_size=0), "training-set size must be at least 1, got 0")])
def test_invalid_settings_are_named(bad, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TrainConfig(**bad).validate()
