"""What a student reads: numbers with the digits that matter (never "-0" or "nan"), a one-step view
that shows a step, diverged runs named as such, and messages that match what is on screen."""

from __future__ import annotations

import io
import math
import re
import zipfile

import numpy as np
import pytest

HOOD = "app_pages/under_the_hood.py"


# --- number formatting ---------------------------------------------------------------------------

def test_numbers_never_read_minus_zero_or_nan():
    from nnviz.formatting import latex_number, number, percent, probability, signed

    for v in (0.0, -0.0, -1e-300 * 1e-300):
        assert number(v) == "0" and latex_number(v) == "0" and signed(v) == "0"
    assert number(float("nan")) == "undefined" and "nan" not in percent(float("nan")).lower()
    assert number(4.683e-6) == "4.683×10⁻⁶" and latex_number(-0.25) == "(-0.25)"
    assert probability(0.99999532) == "0.99999532" and percent(0.99999532) == "99.999532%"
    assert probability(0.6858) == "0.6858" and percent(0.6858) == "68.6%"


@pytest.mark.parametrize("p", [0.6858, 0.97, 0.9995, 0.99999532, 1 - 3e-9])
def test_a_shown_loss_agrees_with_the_shown_probability(p):
    from nnviz.formatting import loss, probability

    shown = float(probability(p))
    assert shown != 1.0
    assert loss(-math.log(p)) == loss(-math.log(shown))  # −log of what is shown gives what is shown


def test_a_sure_answers_loss_stays_positive():
    from nnviz.learning_step import loss_of

    assert loss_of(np.array([50.0, 0.0, -3.0]), 0) > 0  # −log(p) would round to exactly 0 here
    z = np.array([1.0, 2.0, 3.0])
    for y in range(3):
        assert loss_of(z, y) == pytest.approx(-math.log(np.exp(z[y]) / np.exp(z).sum()))


# --- Under the hood --------------------------------------------------------------------------------

def shown_text(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "latex") for e in getattr(at, kind)]
    parts += [f"{m.value} {m.delta}" for m in at.metric]
    return "\n".join(parts)


def test_the_one_step_view_changes_the_probability_on_its_default_input(open_page):
    at = open_page(HOOD)
    [prob] = [m for m in at.metric if m.label.startswith("Probability of")]
    before = float(re.search(r"probability (0\.\d+)", at.info[0].value).group(1))
    after = float(prob.value.rstrip("%")) / 100
    assert after - before > 0.05, (before, after)  # visibly: several points, not "+0.00"
    assert prob.delta.startswith("+") and float(prob.delta.split()[0]) > 5


@pytest.mark.parametrize("eta", [1.0, 0.3])
def test_wrong_labels_and_large_rates_never_show_minus_zero_or_nan(open_page, eta):
    at = open_page(HOOD)
    at.select_slider(key="hood_eta").set_value(eta).run()
    for label in range(10):
        at.selectbox(key="hood_label").set_value(label).run()
        assert not at.exception, at.exception
        text = shown_text(at)
        assert not re.search(r"(?<![\d.])-0(?![.\d])", text), (label, text)
        assert "nan" not in text.lower().replace("nnviz", ""), (label, text)


# --- diverged runs ---------------------------------------------------------------------------------

def test_a_numpy_run_at_learning_rate_100_is_named_diverged():
    from nnviz.divergence import Diverged
    from nnviz.numpy_mlp import NumpyTrainConfig
    from nnviz.numpy_runs import new_numpy_mlp, train_numpy_model

    # Without the blow-up rule this run ends its epoch at a loss of ~10¹⁴ and reports "finished".
    config = NumpyTrainConfig(epochs=1, batch_size=64, learning_rate=100, learning_rate_decay=1.0, train_size=3200)
    with pytest.raises(Diverged, match=r"^Training stopped: the loss (blew up|became) .* at batch [\d,]+ of the run "
                                       r"\(in epoch 1\)\. .*learning rate \(100\) is too high"):
        train_numpy_model(new_numpy_mlp(), config)


def test_answers_that_are_not_numbers_are_never_counted_right():
    from nnviz.figures.training_curves import answers_html
    from nnviz.jobs.live_run import Preview

    pixels = np.zeros((3, 28, 28, 3), np.uint8)
    preview = Preview(pixels, np.array([0, 1, 2]), np.array([0, 0, 2]), np.array([np.nan, np.nan, 0.9]),
                      tuple(str(d) for d in range(10)))
    assert preview.correct == 1
    html = answers_html(preview)
    assert "nan" not in html.lower() and "1 of 3 right" in html and html.count("no answer") == 2


def test_an_exploding_loss_axis_keeps_few_ticks():
    from nnviz.figures.training_curves import MAX_LOG_TICKS, batch_loss_figure

    losses = [2.4, 1.7e4, 3.4e13, 3.5e8, 34.5, 35.5]
    fig = batch_loss_figure(range(1, 7), losses, losses, 100, 1, zoom_to_data=True)
    ticks = fig.layout.yaxis.tickvals
    assert len(ticks) <= MAX_LOG_TICKS + 1
    assert min(ticks) <= 2.4 and max(ticks) >= 3.4e13 / 10 ** 3  # the whole curve in view


def test_progress_and_divergence_count_batches_alike():
    from nnviz.divergence import divergence_message
    from nnviz.events import BatchEnd
    from nnviz.jobs.live_run import progress_text
    from nnviz.training import TrainConfig

    progress = progress_text(BatchEnd(2, 958, 2814, 0.3, 0.01, 61_312, 900.0, 12.0), 3)
    said = divergence_message(float("nan"), TrainConfig(learning_rate=100), 1, 6)
    assert "batch 958 of 2,814 in the run" in progress and "at batch 6 of the run (in epoch 1)" in said


# --- messages -------------------------------------------------------------------------------------

@pytest.mark.parametrize("signal", ["features", "feature_maps", "energy"])
def test_not_a_digit_names_the_network_that_checks(signal):
    from nnviz.unsure import Doubt

    message = Doubt("not a digit", signal, 1.0, 0.0).message
    # The checking network is the shipped CNN, whichever network answers (an MLP has no filters).
    assert "CNN" in message and "its convolution" not in message


def test_the_feature_map_caption_matches_its_colour_scales():
    from nnviz.figures.layers import EXPLAIN
    from nnviz.figures.style import DIVERGING, SEQUENTIAL

    caption = EXPLAIN["feature_maps"]
    assert DIVERGING == "RdBu_r" and SEQUENTIAL == "Viridis"  # the scales the caption describes
    assert "red" in caption and "blue" in caption and "yellow" in caption and "bright" not in caption


def test_a_junk_zip_is_refused_without_internal_folders_or_fake_photos(tmp_path):
    from nnviz.archives import extract_zip
    from nnviz.photos.labelled import DatasetError, find_labelled_photos, is_image_file

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("cats/a.jpg", b"this is not a photo at all")
        z.writestr("dogs/b.jpg", b"\x00" * 100)
    folder = tmp_path / "tmpx8k2q_upload"
    files = extract_zip(buf.getvalue(), folder)
    assert not any(is_image_file(f) for f in files)
    with pytest.raises(DatasetError) as err:
        find_labelled_photos(folder)
    assert "found 0 class folder(s) with photos" in str(err.value) and folder.name not in str(err.value)
