"""The "not a digit / the network hesitates" warning of nnviz.unsure: it fires on a dash drawn in
a corner (which the CNN reads as a sure "0") and stays quiet on clear digits."""

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
    assert found is not None and found.kind == "not a digit" and found.distance > found.threshold


def test_a_clear_seven_and_real_test_digits_get_no_warning(likeness, classifier, canvas, mnist_test_pixels):
    seven = [[70, 60, 130, 58, 210, 60, 180, 120, 150, 180, 125, 240]]
    assert doubt(likeness, classifier, seven) is None
    pixels, _ = mnist_test_pixels
    warned = sum(doubt(likeness, classifier, canvas(p)) is not None for p in pixels[:200])
    assert warned <= 8  # chosen for ≤ 2 % false alarms on held-out training digits


def test_thresholds_are_stored_with_the_statistics(likeness):
    assert likeness.means.shape == (10, 128) and likeness.precision.shape == (128, 128)
    assert 0 < likeness.hesitation < 1 and likeness.threshold > 0
