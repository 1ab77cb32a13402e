"""Receptive fields (nnviz.receptive_field): the theoretical box from the layers' kernels, strides
and paddings, and the effective field (the gradient) on a real digit, which is nonzero only inside
it; and the `receptive-field` command."""

import json

import numpy as np
import pytest
import torch

from nnviz.cli import main
from nnviz.models import CNN
from nnviz.receptive_field import receptive_field_box, unit_value_and_gradient


@pytest.fixture(scope="module")
def digit(mnist_test):
    return mnist_test[0][0:1]  # a 7


@pytest.mark.parametrize("r, c", [(0, 0), (0, 13), (10, 10), (27, 27), (26, 1)])
def test_a_conv1_unit_sees_the_kernels_box_clipped_at_the_border(cnn, r, c):
    box = receptive_field_box(cnn[0], "conv1", (4, r, c))
    assert (box.top, box.left, box.bottom, box.right) == (max(r - 2, 0), max(c - 2, 0), min(r + 2, 27), min(c + 2, 27))
    assert box.unclipped == (r - 2, c - 2, r + 2, c + 2)


def test_deeper_units_see_more(cnn):
    model = cnn[0]
    # pool1 unit (i, j) reads conv1 rows 2i, 2i+1: rows 2i−2 … 2i+3 of the input (6 pixels)
    assert receptive_field_box(model, "pool1", (0, 5, 5)).to_list() == [8, 8, 13, 13]
    # conv2 unit (i, j) reads pool1 units i−2 … i+2: input rows 2i−6 … 2i+7 (14 pixels)
    assert receptive_field_box(model, "conv2", (0, 7, 7)).to_list() == [8, 8, 21, 21]
    assert receptive_field_box(model, "relu2", (0, 7, 7)) == receptive_field_box(model, "conv2", (0, 7, 7))
    assert receptive_field_box(model, "pool2", (0, 3, 3)).to_list() == [6, 6, 21, 21]


@pytest.mark.parametrize("layer, unit", [("fc1", (0,)), ("fc1", (127,)), ("relu3", (5,)), ("fc2", (9,))])
def test_a_fully_connected_unit_covers_the_image(cnn, mlp, layer, unit):
    assert receptive_field_box(cnn[0], layer, unit).to_list() == [0, 0, 27, 27]
    assert receptive_field_box(mlp[0], "fc1", (3,)).to_list() == [0, 0, 27, 27]


@pytest.mark.parametrize("layer, unit", [("conv1", (3, 14, 14)), ("conv1", (7, 0, 27)), ("relu1", (0, 12, 9)),
                                         ("pool1", (5, 6, 4)), ("conv2", (10, 7, 7)), ("conv2", (2, 0, 0)),
                                         ("pool2", (1, 3, 3)), ("fc1", (17,)), ("fc2", (7,))])
def test_effective_field_is_the_gradient_and_stays_inside_the_box(cnn, digit, layer, unit):
    model = cnn[0]
    box = receptive_field_box(model, layer, unit)
    value, grad = unit_value_and_gradient(model, digit, layer, unit)
    assert grad.shape == (1, 28, 28) and grad.dtype == np.float32
    assert not np.any(grad[0][~box.mask(28, 28)]), f"{layer} {unit}: gradient outside {box}"
    # the same gradient as autograd's on the whole model
    x = digit.clone().requires_grad_(True)
    y = x
    for name, m in model.named_children():
        y = m(y)
        if name == layer:
            break
    y[(0, *unit)].backward()
    assert np.allclose(grad, x.grad[0].numpy(), atol=1e-7)
    assert value == pytest.approx(float(y[(0, *unit)]))
    if layer in ("conv1", "conv2", "fc2"):  # no ReLU in front of the unit to cut it off
        assert np.any(grad), f"{layer} {unit}: an all-zero effective field"


def test_the_effective_field_of_a_conv1_unit_is_its_kernel(cnn, digit):
    """A convolution is linear in its input: ∂ conv1(c, r, k) / ∂ pixel is the kernel itself."""
    model = cnn[0]
    _, grad = unit_value_and_gradient(model, digit, "conv1", (6, 10, 12))
    assert np.allclose(grad[0, 8:13, 10:15], model.conv1.weight[6, 0].detach().numpy())


def test_batch_norm_networks_too():
    torch.manual_seed(0)
    model = CNN(channels=(4, 6), hidden=16, batch_norm=True, pool_before_norm=True).eval()
    box = receptive_field_box(model, "bn1", (0, 3, 3))  # after pool1 in this order
    assert box.to_list() == [4, 4, 9, 9]
    _, grad = unit_value_and_gradient(model, torch.randn(1, 1, 28, 28), "conv2", (1, 5, 5))
    assert np.any(grad) and not np.any(grad[0][~receptive_field_box(model, "conv2", (1, 5, 5)).mask(28, 28)])


@pytest.mark.parametrize("layer, unit, words", [
    ("conv9", (0, 0, 0), "no layer 'conv9'"), ("conv1", (32, 0, 0), "channel 32"), ("pool1", (0, 14, 0), "row 14"),
    ("fc1", (0, 1, 1), "one index"), ("conv2", (3,), "a channel, a row and a column"), ("fc2", (10,), "unit 10")])
def test_bad_units_are_clear_value_errors(cnn, digit, layer, unit, words):
    with pytest.raises(ValueError, match=words):
        receptive_field_box(cnn[0], layer, unit)
    with pytest.raises(ValueError, match=words):
        unit_value_and_gradient(cnn[0], digit, layer, unit)


def test_the_command_prints_the_librarys_box_and_gradient(cnn, digit, capsys):
    assert main(["receptive-field", "--model", "digits-cnn", "--layer", "conv2", "--channel", "5", "--row", "0",
                 "--col", "6", "mnist:0", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["box"] == receptive_field_box(cnn[0], "conv2", (5, 0, 6)).to_list() == [0, 6, 7, 19]
    value, grad = unit_value_and_gradient(cnn[0], digit, "conv2", (5, 0, 6))
    assert np.array(report["effective_field"]).shape == (28, 28)
    assert np.array_equal(np.array(report["effective_field"], np.float32), grad[0])
    assert report["value"] == value
    assert main(["receptive-field", "--model", "digits-cnn", "--layer", "fc1", "--channel", "3", "mnist:0",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["box"] == [0, 0, 27, 27]


@pytest.mark.parametrize("argv, words", [
    (["--layer", "conv2", "--channel", "5", "mnist:0"], "a channel, a row and a column"),
    (["--layer", "conv2", "--channel", "5", "--row", "3", "mnist:0"], "both --row and --col"),
    (["--layer", "fc1", "--channel", "500", "mnist:0"], "0…127")])
def test_the_command_rejects_bad_units_with_status_2(argv, words, capsys):
    assert main(["receptive-field", "--model", "digits-cnn", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
