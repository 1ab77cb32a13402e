"""The "not a digit / the network hesitates" warning of nnviz.unsure: it fires on a dash drawn in
a corner (which the CNN reads as a sure "0") and stays quiet on clear digits."""

import math

import numpy as np
import pytest

from nnviz.predict import DigitClassifier
from nnviz.preprocess import digit_from_strokes
from nnviz.unsure import DigitLikeness


@pytest.fixture(scope="module")
def likeness():
    return DigitLikeness()


@pytest.fixture(scope="module")
def classifier():
    return DigitClassifier("digits-cnn")


def doubt(likeness, classifier, drawing):
    """The warning for pen strokes (the Draw page's path) or an image of a digit."""
    if isinstance(drawing, list):
        prediction = classifier.predict_digit(digit_from_strokes(drawing))
    else:
        prediction = classifier.predict_image(drawing)
    return likeness.doubt(prediction.digit, prediction.confidence)


def test_a_dash_is_not_a_digit(likeness, classifier):
    dash = [[25, 30, 70, 32]]
    found = doubt(likeness, classifier, dash)
    assert found is not None and found.kind == "not a digit" and found.score > found.threshold


SPIRAL = [[round(140 + r * math.cos(t)), round(140 + r * math.sin(t))]
           for t, r in zip(np.linspace(0, 18, 80), np.linspace(5, 110, 80))]


@pytest.mark.parametrize("drawing", [
    [[60, 60, 220, 220], [220, 60, 60, 220]],  # an X, read as a "4"
    [[c for point in SPIRAL for c in point]],  # a spiral, read as a "0"
    [[40, 140, 70, 100, 100, 180, 130, 100, 160, 180, 190, 100, 220, 180, 250, 140]],  # a zigzag
], ids=["x", "spiral", "zigzag"])
def test_scribbles_the_penultimate_distance_misses_are_not_digits(likeness, classifier, drawing):
    """The penultimate features of these land near a digit's; the feature-map distance or the
    energy is what flags them."""
    found = doubt(likeness, classifier, drawing)
    assert found is not None and found.kind == "not a digit" and found.signal != "features"
    assert likeness.scores(digit_from_strokes(drawing))["features"] < likeness.thresholds["features"]


def test_a_clear_seven_and_real_test_digits_get_no_warning(likeness, classifier, canvas, mnist_test_pixels):
    seven = [[70, 60, 130, 58, 210, 60, 180, 120, 150, 180, 125, 240]]
    assert doubt(likeness, classifier, seven) is None
    pixels, _ = mnist_test_pixels
    warned = sum(doubt(likeness, classifier, canvas(p)) is not None for p in pixels[:200])
    assert warned <= 8  # chosen for ≤ 2 % false alarms on held-out training digits


def test_thresholds_are_stored_with_the_statistics(likeness):
    for name, width in (("features", 128), ("feature_maps", 64)):
        means, precision = likeness.gaussians[name]
        assert means.shape == (10, width) and precision.shape == (width, width)
        assert likeness.thresholds[name] > 0
    assert set(likeness.thresholds) == {"features", "feature_maps", "energy"}
    assert 0 < likeness.hesitation < 1
