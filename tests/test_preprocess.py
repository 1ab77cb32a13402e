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
