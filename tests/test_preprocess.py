"""MNIST-style preprocessing of drawings: shape, range, centring, polarity, blank handling."""

import numpy as np
import pytest

from nnviz.preprocess import BlankDrawing, center_of_mass, is_blank, mnist_style, to_ink


@pytest.mark.parametrize("size", [100, 280, 513])
def test_shape_range_and_centre_of_mass(mnist_test_pixels, canvas, size):
    pixels, _ = mnist_test_pixels
    for i in range(20):
        digit = mnist_style(canvas(pixels[i], size, offset=(size // 10, -size // 12))).image
        assert digit.shape == (28, 28) and digit.dtype == np.float32
        assert digit.min() >= 0.0 and digit.max() <= 1.0 and digit.max() > 0.75
        cy, cx = center_of_mass(digit)
        assert abs(cy - 13.5) < 0.5 and abs(cx - 13.5) < 0.5
        rows = np.flatnonzero((digit > 0.2).any(1))
        cols = np.flatnonzero((digit > 0.2).any(0))
        # the longer side of the ink box is about 20 px, as in MNIST
        assert 18 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21


def test_both_polarities_give_the_same_input(mnist_test_pixels, canvas):
    pixels, _ = mnist_test_pixels
    white_on_black = canvas(pixels[0])
    black_on_white = white_on_black.copy()
    black_on_white[..., :3] = 255 - black_on_white[..., :3]
    a = mnist_style(white_on_black).image
    b = mnist_style(black_on_white).image
    np.testing.assert_allclose(a, b, atol=1e-5)
    # grey-scale and RGB arrays are read the same way
    np.testing.assert_allclose(mnist_style(white_on_black[..., 0]).image, a, atol=1e-5)


def test_transparent_background_uses_alpha_as_ink():
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[40:160, 90:110] = (20, 20, 200, 255)  # a blue stroke on a transparent canvas
    digit = mnist_style(rgba).image
    assert digit.max() > 0.9
    assert abs(center_of_mass(digit)[1] - 13.5) < 0.5


def test_the_result_matches_the_mnist_digit_it_came_from(mnist_test_pixels, canvas):
    pixels, _ = mnist_test_pixels
    original = pixels[3].astype(np.float32) / 255
    restored = mnist_style(canvas(pixels[3])).image
    # the same digit after a round trip through a 10× canvas: close, not identical (resampling)
    assert np.corrcoef(original.ravel(), restored.ravel())[0, 1] > 0.9


@pytest.mark.parametrize("image", [
    np.zeros((280, 280, 4), np.uint8) + np.array([0, 0, 0, 255], np.uint8),  # black canvas
    np.full((280, 280, 3), 255, np.uint8),  # white paper
    np.zeros((280, 280, 4), np.uint8),  # fully transparent
])
def test_blank_drawings_are_refused(image):
    assert is_blank(to_ink(image))
    with pytest.raises(BlankDrawing, match="Draw a digit"):
        mnist_style(image)


def test_a_stray_dot_is_almost_blank():
    canvas = np.zeros((280, 280, 3), np.uint8)
    canvas[140:146, 140:146] = 255
    with pytest.raises(BlankDrawing, match="Draw a digit"):
        mnist_style(canvas)


@pytest.mark.parametrize("shape", [(5,), (0, 280), (2, 3, 4, 4)])
def test_not_an_image_is_refused(shape):
    with pytest.raises(ValueError, match=r"expected an \(H, W\) or \(H, W, C\) image, got shape") as refused:
        mnist_style(np.zeros(shape, np.uint8))
    assert type(refused.value) is ValueError  # not BlankDrawing, which is a ValueError too


def _seven(scale: float, left: float, top: float) -> list:
    """A pen-drawn 7 (flat [x0, y0, …] strokes) ``scale`` × 180 px tall, its top-left at (left, top)."""
    shape = [(0.0, 0.0), (1.0, 0.0), (0.75, 0.33), (0.5, 0.66), (0.3, 1.0)]
    return [[v for x, y in shape for v in (left + 180 * scale * x, top + 180 * scale * y)]]


def _stroke_width(image: np.ndarray) -> float:
    """Ink per unit of centre-line length, px: total ink over the inked rows (a 7 is mostly tall strokes)."""
    return float(image.sum() / max((image > 0.5).any(axis=1).sum(), 1))


def test_strokes_reach_the_network_with_one_pen_width_whatever_the_drawing_size():
    from nnviz.preprocess import digit_from_strokes, render_strokes

    large, small = _seven(1.0, 50, 50), _seven(0.4, 185, 10)
    matched = [digit_from_strokes(s).image for s in (large, small)]
    brushed = [mnist_style(render_strokes(s, 280, 18)).image for s in (large, small)]
    # The fixed 18 px brush makes the small drawing's strokes far thicker after scaling; redrawn
    # with the matched pen both are alike (and close to a large drawing's look).
    assert _stroke_width(brushed[1]) > 1.6 * _stroke_width(brushed[0])
    assert abs(_stroke_width(matched[1]) / _stroke_width(matched[0]) - 1) < 0.15
    assert np.abs(matched[0] - matched[1]).mean() < 0.5 * np.abs(brushed[0] - brushed[1]).mean()
    for image in matched:
        assert image.shape == (28, 28) and image.dtype == np.float32 and image.max() <= 1.0
        assert np.allclose(center_of_mass(image), (13.5, 13.5), atol=0.1)


def test_strokes_are_blank_or_not_as_the_student_sees_them():
    from nnviz.preprocess import digit_from_strokes, render_strokes

    with pytest.raises(BlankDrawing):
        digit_from_strokes([[100, 100, 101, 100]])  # a click: an 18 px dot
    with pytest.raises(BlankDrawing):
        digit_from_strokes([])
    short = digit_from_strokes([[100, 100, 130, 100]])  # a 30 px dash is visible, so it is an input
    assert short.image.max() > 0.9
    # The page passes the image it already drew; the answer is the same as drawing it here.
    seven = _seven(1.0, 50, 50)
    kept = digit_from_strokes(seven, drawn=render_strokes(seven, 280, 18)).image
    assert np.array_equal(kept, digit_from_strokes(seven).image)
    with pytest.raises(BlankDrawing):
        digit_from_strokes([[100, 100, 101, 100]], drawn=render_strokes([[100, 100, 101, 100]], 280, 18))
