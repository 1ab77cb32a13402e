"""Train: failures you can see, fair comparisons, and the code behind a run (issue 12).

Runs use real MNIST images and small networks so that each test takes a few seconds on 2 cores.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from nnviz.codegen import standalone_script
from nnviz.data import data_root
from nnviz.divergence import LEARNING_RATES, Diverged, smaller_learning_rate
from nnviz.figures.training_curves import batch_loss_figure, comparison_figure
from nnviz.jobs.live_run import RunRecord, TrainJob, overlay_labels, verdict
from nnviz.jobs.metrics import DIVERGED, FINISHED
from nnviz.jobs.worker import TrainingWorker
from nnviz.models import architecture_for
from nnviz.events import EpochEnd
from nnviz.training import QUICK_CNN, QUICK_CONFIG, TrainConfig, dead_relu_fraction, new_model, train_model

SMALL = dict(batch_size=64, train_size=1000, epochs=1, device="cpu", num_threads=1)


def test_learning_rate_100_gives_a_readable_chart_and_no_success(workers):
    """The teacher's first demo: the Train page's defaults with the learning rate at 100."""
    config = TrainConfig(**{**QUICK_CONFIG.to_dict(), **SMALL, "learning_rate": 100.0})
    job = TrainJob(dict(QUICK_CNN), "mnist", config)
    worker = TrainingWorker(job).start()
    workers.append(worker)
    assert worker.join(60)
    snap = worker.snapshot()
    assert snap.status == DIVERGED and "blew up" in snap.message
    assert "e.g. 10." in snap.message and 10.0 in LEARNING_RATES  # a rate the slider can select
    figure = batch_loss_figure(snap.steps, snap.losses, snap.smoothed, 16, 1)
    low, high = figure.layout.yaxis.range
    assert figure.layout.yaxis.type == "log"
    assert low <= math.log10(min(snap.losses)) and high >= math.log10(max(snap.losses)) > math.log10(100)
    said = verdict(snap.status, snap.message, snap.epochs, 10, config.learning_rate)
    assert said.level == "error" and said.text == snap.message


def test_a_finished_run_at_chance_is_a_warning_with_a_selectable_rate():
    guessing = (EpochEnd(1, 2.3, 0.1, 2.3, 0.098, 5.0),)
    said = verdict(FINISHED, "Finished.", guessing, 10, 1.0)
    assert said.level == "warning" and "did not learn" in said.text and "guessing" in said.text
    assert "e.g. 0.03." in said.text  # 1.0 / 30 → the largest selectable rate below: 0.03
    learned = (EpochEnd(1, 0.2, 0.95, 0.1, 0.97, 5.0),)
    said = verdict(FINISHED, "Finished.", learned, 10, 1e-3)
    assert said.level == "success" and "97.00%" in said.text
    assert smaller_learning_rate(100.0) == 10.0 and smaller_learning_rate(3e-5, 30) == 1e-5


def test_a_run_stuck_at_chance_with_dead_relus_is_named():
    """Adam at 0.3 kills most ReLU units of an MLP in the first updates: the run stops, saying so."""
    arch = architecture_for("mlp", "mnist", hidden=[256, 256])
    config = TrainConfig(**{**QUICK_CONFIG.to_dict(), "train_size": 5000, "learning_rate": 0.3, "num_threads": 1,
                            "epochs": 2, "batch_size": 128, "mixed_precision": False})  # the same on any CPU
    model = new_model(arch, config.seed)
    with pytest.raises(Diverged, match=r"stuck at chance .* of its ReLU units output 0 for every test image") as err:
        train_model(model, arch, "mnist", config)
    assert "e.g. 0.01." in str(err.value)  # 0.3 / 30 → a selectable rate
    from nnviz.data import load_tensors
    assert dead_relu_fraction(model, load_tensors("mnist", train=False)[0][:500]) >= 0.9


def test_dead_relu_fraction_counts_units_that_never_fire():
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0], [0, 0, 0, 0]]))
        net[0].bias.zero_()
    x = torch.tensor([[1.0, 0, 0, 0], [2.0, 0, 0, 0]])  # unit 0 fires, 1 is negative, 2 is always 0
    assert dead_relu_fraction(net, x) == pytest.approx(2 / 3)


def test_a_replayed_run_starts_from_identical_weights_and_data_order():
    """Same seed, one setting changed: the same starting weights and the same first batches."""
    arch = architecture_for("mlp", "mnist", hidden=[32])
    first = TrainConfig(**{**QUICK_CONFIG.to_dict(), **SMALL, "learning_rate": 1e-3})
    replay = TrainConfig(**{**first.to_dict(), "learning_rate": 1e-2})
    a, b = new_model(arch, first.seed), new_model(arch, replay.seed)
    for (name, ta), tb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(ta, tb), name
    assert not torch.equal(new_model(arch, 1).state_dict()["fc1.weight"], a.state_dict()["fc1.weight"])
    losses = {}
    for config in (first, replay):
        seen = []
        train_model(new_model(arch, config.seed), arch, "mnist", config, on_event=seen.append,
                    should_stop=lambda: len(seen) >= 1)
        losses[config.learning_rate] = seen[0].loss
    assert losses[1e-3] == losses[1e-2]  # the first batch: same weights, same images, before any update


def record(number: int, lr: float, epochs=(), steps=(), **config) -> RunRecord:
    c = {**QUICK_CONFIG.to_dict(), "learning_rate": lr, **config}
    return RunRecord(number, "label", "mnist", dict(QUICK_CNN), c, "finished", "", tuple(steps),
                     tuple(0.5 for _ in steps), 10, tuple(epochs), 1.0)


def test_overlay_labels_are_unique_and_name_the_differing_setting():
    runs = [record(1, 1e-3), record(2, 1e-2), record(3, 1e-2)]
    labels = overlay_labels(runs)
    assert labels == ["#1 · lr 0.001", "#2 · lr 0.01", "#3 · lr 0.01"]
    assert overlay_labels([record(4, 1e-3), record(5, 1e-3)]) == ["#4 · same settings", "#5 · same settings"]
    assert overlay_labels([record(6, 1e-3, batch_size=128), record(7, 1e-3, batch_size=32)]) == ["#6 · batch 128",
                                                                                                "#7 · batch 32"]


def test_failed_or_empty_runs_never_break_the_comparison_axes():
    failed = record(1, 100.0)  # no batch, no epoch
    good = record(2, 1e-3, epochs=[EpochEnd(1, 0.3, 0.9, 0.1, 0.97, 5.0)], steps=range(1, 11))
    fig = comparison_figure([failed, good], labels=overlay_labels([failed, good]))
    assert list(fig.layout.yaxis2.range) == [0.95, 1.0]  # accuracy: around the data, not −100 % to 400 %
    alone = comparison_figure([failed])
    assert list(alone.layout.yaxis2.range) == [0.0, 1.0]
    low, high = alone.layout.yaxis.range
    assert low < math.log10(0.01) and high > math.log10(3)  # an empty log axis still spans 0.01–3


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
def test_the_generated_script_runs_and_starts_from_the_runs_weights(kind, tmp_path):
    arch = dict(QUICK_CNN) if kind == "cnn" else architecture_for("mlp", "mnist", hidden=[64, 32])
    config = QUICK_CONFIG if kind == "cnn" else TrainConfig(optimizer="momentum", schedule="constant", augment=True,
                                                            train_size=2000, seed=3)
    script = tmp_path / "train_nnviz.py"
    script.write_text(standalone_script(arch, "mnist", config, "a test run"))
    out = subprocess.run([sys.executable, str(script), "--epochs", "1", "--max-batches", "5",
                          "--data", str(data_root())], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "epoch 1 batch 0: loss" in out.stdout and "test: loss" in out.stdout and "accuracy" in out.stdout
    # The script's network, seeded as the app seeds its run, has the same layers and starting weights.
    namespace: dict = {"__name__": "generated"}
    exec(compile(script.read_text(), str(script), "exec"), namespace)
    torch.manual_seed(config.seed)
    their_net = namespace["make_net"]()
    our_net = new_model(arch, config.seed)
    theirs, ours = their_net.state_dict(), our_net.state_dict()
    assert list(theirs) == list(ours)
    assert all(torch.equal(theirs[k], ours[k]) for k in ours)
    # Same layers in the same order (pooling has no weights): the same function of a batch.
    batch = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(their_net.train()(batch), our_net.train()(batch), atol=1e-5)


def test_the_numpy_network_races_on_the_train_page_machinery(workers):
    """The from-scratch network as a live job: the same events, live answers, and a saveable model."""
    from nnviz.jobs.live_run import LiveRun
    from nnviz.jobs.numpy_job import NumpyJob

    arch = {**architecture_for("mlp", "mnist", hidden=[16, 16]), "kind": "numpy-mlp"}
    config = TrainConfig(**{**QUICK_CONFIG.to_dict(), **SMALL, "optimizer": "sgd", "learning_rate": 0.1,
                            "epochs": 2})
    run = LiveRun.start(1, NumpyJob(arch, "mnist", config), preview_every_s=0.0)
    workers.append(run.worker)
    assert run.worker.join(60)
    snap = run.worker.snapshot()
    assert snap.status == FINISHED and len(snap.epochs) == 2 and len(snap.steps) == 2 * 16
    assert snap.epochs[-1].test_accuracy > 0.5  # 1,000 images, 2 epochs of plain SGD: well above chance
    # The live answers are the network's own: the final preview equals the trained model's predictions.
    with torch.no_grad():
        logits = run.job.model(run.job._preview_x)
    assert snap.preview is not None and snap.preview.predicted.tolist() == logits.argmax(1).tolist()
    assert snap.preview.confidence == pytest.approx(torch.softmax(logits, 1).max(1).values.numpy(), abs=1e-5)
    assert "NumPy" in run.label and run.job.card["trained_by"].startswith("nnviz.numpy_mlp")
    assert run.job.model.fc1.weight.shape == (16, 784)
