"""Figures of the Train page: learning curves, live prediction grid, run comparison."""

from __future__ import annotations

import numpy as np

from nnviz.figures.training_curves import (MAX_POINTS, batch_loss_figure, comparison_figure, epoch_figure,
                                           prediction_grid_html)
from nnviz.jobs.live_run import RunRecord, chance_hint, describe_run
from nnviz.events import EpochEnd
from nnviz.training import TrainConfig


def epochs(n):
    return [EpochEnd(e, 1.0 / e, 0.9 + e / 100, 1.1 / e, 0.9 + e / 110, 5.0 * e) for e in range(1, n + 1)]


def test_batch_loss_figure_thins_long_runs_and_spans_planned_epochs():
    steps = np.arange(1, 5001)
    losses = 2.3 * np.exp(-steps / 1000)
    fig = batch_loss_figure(steps, losses, losses, steps_per_epoch=469, epochs=11)
    raw, smooth = fig.data
    assert len(raw.x) <= MAX_POINTS + 1 and raw.x[-1] == 5000 / 469  # the newest point is always drawn
    assert len(smooth.x) == len(raw.x) and smooth.y[-1] == losses[-1]
    assert fig.layout.xaxis.range == (0, 11) and fig.layout.yaxis.type == "log"
    assert fig.layout.title.text == "Training loss per batch" and fig.layout.xaxis.title.text == "epoch"
    assert fig.layout.yaxis.title.text == "cross-entropy loss (log scale)"
    assert [t.name for t in fig.data] == ["batch loss", "smoothed"]


def test_epoch_figure_train_and_test_with_elapsed_seconds():
    fig = epoch_figure(epochs(3), total_epochs=5)
    names = [(t.name, t.xaxis) for t in fig.data]
    assert names == [("train", "x"), ("train", "x2"), ("test", "x"), ("test", "x2")]
    test_acc = fig.data[3]
    assert list(test_acc.x) == [1, 2, 3] and [c[0] for c in test_acc.customdata] == [5.0, 10.0, 15.0]
    assert [a.text for a in fig.layout.annotations] == ["Loss per epoch", "Accuracy per epoch"]
    assert fig.layout.xaxis.range == (0, 5.2) and fig.layout.xaxis2.range == (0, 5.2)  # the 5 planned epochs
    empty = epoch_figure([], total_epochs=2)
    assert [a.text for a in empty.layout.annotations] == ["Loss per epoch", "Accuracy per epoch",
                                                          "the first points appear<br>when epoch 1 ends"]
    note = empty.layout.annotations[2]  # inside the loss panel, not spilling into the accuracy panel
    assert (note.xref, note.yref, note.x) == ("x domain", "y domain", 0.5)
    assert empty.layout.yaxis2.range[1] > 1.0  # the "100.0%" tick label clear of the panel's title
    assert empty.layout.xaxis.range == (0, 2.2)


def test_prediction_grid_marks_right_and_wrong_answers():
    pixels = np.zeros((3, 28, 28, 3), np.uint8)
    html = prediction_grid_html(pixels, [0, 1, 2], [0, 7, 2], [0.9, 0.6, 0.55], [str(d) for d in range(10)])
    assert html.count("<img") == 3 and html.count("✓") == 2 and html.count("✗") == 1
    assert "✗ 7</span>" in html and "is 1</div>" in html and "60%" in html  # the wrong answer, the truth
    assert html.count("is ") == 1
    before = prediction_grid_html(pixels, [0, 1, 2], None, None, [str(d) for d in range(10)])
    assert before.count("<img") == 3 and before.count(">?</span>") == 3
    assert "✓" not in before and "✗" not in before and "%" not in before


def test_comparison_overlays_runs_and_chance_hint():
    config = TrainConfig(learning_rate=0.1)
    a = RunRecord(1, describe_run({"kind": "cnn", "channels": [16, 32]}, "mnist", config), "mnist", {}, config.to_dict(),
                  "finished", "", (1, 2, 3), (2.0, 1.0, 0.5), 3, tuple(epochs(1)), 3.0)
    b = RunRecord(2, "MLP", "mnist", {}, config.to_dict(), "finished", "", (1, 2), (2.0, 1.5), 2, (), 2.0)
    fig = comparison_figure([a, b])
    assert [t.name for t in fig.data] == [a.label, a.label, b.label, b.label]
    assert "CNN 16→32 ch · Adam lr 0.1 · batch 128 · mnist" == a.label
    guessing = [EpochEnd(1, 2.3, 0.1, 2.3, 0.1135, 5.0)]
    assert [a.text for a in fig.layout.annotations] == ["Training loss (smoothed, log scale)",
                                                        "Test accuracy after each epoch"]
    assert list(fig.data[1].y) == [epochs(1)[0].test_accuracy] and list(fig.data[3].y) == []
    # The suggested rates are ones the Train page's slider can select (nnviz.divergence.LEARNING_RATES).
    assert chance_hint(guessing, 10, 0.1) == (
        "The network is only guessing: 11.3% right is what picking one of 10 classes at random gives. A learning "
        "rate of 0.1 makes every update so large that the weights jump past anything they learned. Try a smaller "
        "learning rate, e.g. 0.003.")
    assert chance_hint(guessing, 10, 1e-4) == ("The network is only guessing: 11.3% right is about chance for 10 "
                                               "classes. It has not learned yet: try more epochs or a larger "
                                               "learning rate, e.g. 0.001.")
    assert chance_hint(epochs(1), 10, 0.1) is None


def test_a_run_that_ended_early_is_shown_whole():
    """Six batches of a 938-batch epoch that blew up: the x axis ends after them, not at epoch 1."""
    blown = [2.3, 5.0, 40.0, 533.0, 2e3, 1e4]
    fig = batch_loss_figure(range(1, 7), blown, blown, 938, 1, zoom_to_data=True)
    assert fig.layout.xaxis.range == (0, 6 / 938 * 1.05)
    assert batch_loss_figure(range(1, 7), blown, blown, 938, 1).layout.xaxis.range == (0, 1)


def test_the_smoothed_loss_of_a_few_batches_per_epoch_follows_its_batches():
    """A head on 40 photos trains 2 batches per epoch: its moving average spans about one epoch,
    so the smoothed curve stays among the batch losses instead of lagging far above them."""
    from nnviz.jobs.metrics import SMOOTHING, LiveMetrics, smoothing_for
    from nnviz.events import BatchEnd

    assert smoothing_for(938) == SMOOTHING and smoothing_for(2) == 0.5 and smoothing_for(1) == 0.0
    losses = [2.0 * 0.8 ** i for i in range(60)]  # falling steadily, 2 batches per epoch for 30 epochs
    slow, fitting = LiveMetrics(), LiveMetrics(smoothing_for(2))
    for i, loss in enumerate(losses, start=1):
        for metrics in (slow, fitting):
            metrics.record(BatchEnd(1 + (i - 1) // 2, i, 60, loss, 1e-3, i * 20, 100.0, i / 10))
    assert slow.snapshot().smoothed[-1] > 20 * losses[-1]  # the old factor: an average of many epochs ago
    assert fitting.snapshot().smoothed[-1] < 1.5 * losses[-1]
