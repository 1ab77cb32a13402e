"""The handwriting augmentation (nnviz.augment) draws what it says on real MNIST digits, and the
shipped CNN reads the ways of writing it was taught, drawn on the canvas and preprocessed as the
page does."""

import math

import numpy as np
import pytest
import torch

from nnviz.augment import continental_ones, handwriting_batch, pen_width, slashed_zeros
from nnviz.codegen import standalone_script
from nnviz.data import load_tensors, raw_pixels
from nnviz.models import architecture_for
from nnviz.predict import DigitClassifier
from nnviz.preprocess import digit_from_strokes
from nnviz.training import TrainConfig, new_model, train_model


@pytest.fixture(scope="module")
def mnist():
    images, labels = load_tensors("mnist", train=True)
    return images[:2000], labels[:2000]


def ink_of(images, kind):
    """The first eight images of digit ``kind`` as ink (blank 0) in [0, 1], (8, 1, 28, 28)."""
    x, y = images
    return raw_pixels(x[y == kind][:8], "mnist")


def test_a_slash_crosses_the_middle_of_each_zero_and_stays_in_the_field(mnist):
    x, y = mnist
    zeros = raw_pixels(x[y == 0][:40], "mnist")
    middle = (slice(None), 0, slice(12, 16), slice(12, 16))
    zeros = zeros[zeros[middle].amax((1, 2)) < 0.3]  # round zeros, whose middle is empty...
    assert len(zeros) >= 20
    slashed = slashed_zeros(zeros, torch.Generator().manual_seed(0))
    assert (slashed[middle].amax((1, 2)) > 0.9).all()  # ...until the slash crosses it
    assert slashed.shape == zeros.shape and slashed.min() >= 0 and slashed.max() <= 1.0 + 1e-6
    border = torch.cat([slashed[:, 0, 0], slashed[:, 0, -1], slashed[:, 0, :, 0], slashed[:, 0, :, -1]], 1)
    assert (border.amax(1) < 0.3).all()  # the slash ends inside the field


def test_a_flag_leaves_the_top_of_a_one_to_its_left_and_a_foot_crosses_its_bottom():
    stem = torch.zeros(32, 1, 28, 28)
    stem[:, 0, 4:24, 13:15] = 1.0  # a plain upright one, 20 px tall
    cols = torch.arange(28, dtype=torch.float32)
    flagged = continental_ones(stem, torch.Generator().manual_seed(0), p_flag=1.0, p_foot=0.0)[:, 0]
    footed = continental_ones(stem, torch.Generator().manual_seed(0), p_flag=0.0, p_foot=1.0)[:, 0]
    upper_left, lower_left = [], []
    for image in flagged:
        bottom = image[18:23]
        stem_x = int((bottom.sum(0) * cols).sum() / bottom.sum())
        upper_left.append(float(image[:12, :stem_x - 1].sum()))
        lower_left.append(float(image[14:, :stem_x - 1].sum()))
        com_x, com_y = (image.sum(0) * cols).sum() / image.sum(), (image.sum(1) * cols).sum() / image.sum()
        assert math.hypot(com_x - 13.5, com_y - 13.5) < 0.75  # re-centred, as the MNIST recipe does
    assert np.mean(np.array(upper_left) > 0.5) > 0.8  # a flag up on the stem's left...
    assert max(lower_left) < 0.5  # ...and nothing added lower down
    for image in footed:
        inked_cols = (image[16:26] > 0.5).any(0).nonzero()[:, 0]
        assert inked_cols.max() - inked_cols.min() >= 5  # the foot spreads to both sides of the 2 px stem


def test_pen_width_keeps_full_strength_ink(mnist):
    digits = ink_of(mnist, 3)
    out = pen_width(digits, torch.Generator().manual_seed(1))
    assert torch.allclose(out.amax((1, 2, 3)), digits.amax((1, 2, 3)), atol=1e-5)
    assert not torch.allclose(out, digits)


def test_handwriting_batch_keeps_shape_and_background_and_is_seeded(mnist):
    x, y = mnist[0][:256], mnist[1][:256]
    background = float(x.min())
    a = handwriting_batch(x, y, torch.Generator().manual_seed(3), background)
    b = handwriting_batch(x, y, torch.Generator().manual_seed(3), background)
    assert a.shape == x.shape and a.dtype == torch.float32 and torch.equal(a, b)
    assert (a[:, 0, 0, :].amax(1) < background + 0.5).float().mean() > 0.9  # the top row stays mostly blank
    assert not torch.equal(a, x)


def test_handwriting_is_refused_outside_mnist_and_in_generated_scripts():
    config = TrainConfig(epochs=1, augment=True, handwriting=0.5)
    arch = architecture_for("mlp", "mnist", hidden=(512, 256), dropout=0.2)
    with pytest.raises(ValueError, match="for MNIST, not fashion-mnist"):
        train_model(new_model(arch, 0), arch, "fashion-mnist", config)
    with pytest.raises(ValueError, match="handwriting augmentation is not written into scripts"):
        standalone_script(arch, "mnist", config)


def stroke(points, n=12):
    """A straight or poly-line pen stroke through ``points``, sampled every few pixels as a pointer would."""
    out = []
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        out += [(x0 + (x1 - x0) * t / n, y0 + (y1 - y0) * t / n) for t in range(n)]
    return out + [points[-1]]


def oval(cx, cy, rx, ry, n=40):
    return [(cx + rx * math.cos(2 * math.pi * t / n), cy - ry * math.sin(2 * math.pi * t / n)) for t in range(n + 1)]


@pytest.mark.parametrize("size", [1.0, 0.45])
def test_the_shipped_cnn_reads_slashed_zeros_and_still_flagged_ones_and_sevens(size):
    """Drawn on the Draw page's canvas, large or small, and preprocessed as the page does: zeros
    slashed at 45–90°, the slash reaching the oval's edge or beyond (the CNN trained without the
    handwriting augmentation read the 45° ones as 8); ones whose flag leaves the stem at 30° or 45°,
    a quarter or 40 % of its height long; a plain seven. (A flag at 60° is read as a 7, as MNIST's
    writers draw sevens: the shipped recipe does not teach continental ones, see nnviz.augment.)"""
    clf = DigitClassifier("digits-cnn")
    place = (lambda p: (40 + 200 * size * p[0], 40 + 200 * size * p[1]))
    drawings = []
    for angle in (45, 60, 75, 90):
        for reach in (1.0, 1.25):
            a = math.radians(angle)
            dx, dy = 0.45 * reach * math.cos(a), 0.5 * reach * math.sin(a)
            slash = stroke([(0.5 - dx, 0.5 + dy), (0.5 + dx, 0.5 - dy)])
            drawings.append(("0", [[place(p) for p in oval(0.5, 0.5, 0.3, 0.45)], [place(p) for p in slash]]))
    for turn in (30, 45):
        for length in (0.25, 0.4):
            t = math.radians(turn)
            one = stroke([(0.6 - length * math.sin(t), length * math.cos(t)), (0.6, 0.0), (0.6, 1.0)])
            drawings.append(("1", [[place(p) for p in one]]))
    drawings.append(("7", [[place(p) for p in stroke([(0.2, 0.05), (0.8, 0.05), (0.4, 1.0)])]]))
    read = [(label, clf.predict_digit(digit_from_strokes(strokes)).label) for label, strokes in drawings]
    assert [r for r in read if r[0] != r[1]] == []
