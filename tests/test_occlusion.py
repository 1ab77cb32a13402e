"""Occlusion (captum's Occlusion) and the cascading-randomisation sanity check on real MNIST digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnviz import occlusion as occ
from nnviz.attribution import grad_cam, saliency

BLANK = -0.1307 / 0.3081


def test_covering_the_ink_lowers_the_answer_more_than_covering_the_background(cnn, mnist_test):
    model, _ = cnn
    images, labels = mnist_test
    pixels = images * 0.3081 + 0.1307
    wins = 0
    for i in range(20):
        drop, target = occ.occlusion(model, images[i:i + 1], baseline=BLANK)
        assert drop.shape == (28, 28) and target == int(model(images[i:i + 1]).argmax())
        ink, background = pixels[i, 0] > 0.5, pixels[i, 0] < 0.01
        wins += drop[ink.numpy()].mean() > drop[background.numpy()].mean()
    assert wins >= 19


def test_occlusion_is_captums(cnn, mnist_test, monkeypatch):
    model, _ = cnn
    images, _ = mnist_test
    calls = []
    real = occ.Occlusion

    class Spy(real):
        def attribute(self, *args, **kwargs):
            calls.append(kwargs)
            return super().attribute(*args, **kwargs)

    monkeypatch.setattr(occ, "Occlusion", Spy)
    drop, target = occ.occlusion(model, images[:1], target=3, baseline=BLANK, window=8, stride=4)
    assert calls and calls[0]["sliding_window_shapes"] == (1, 8, 8) and calls[0]["target"] == 3
    # the map is a probability drop, p(3) − p(3 | covered): at most p(3), at least p(3) − 1
    with torch.no_grad():
        p3 = float(torch.softmax(model(images[:1]), 1)[0, 3])
    assert target == 3 and p3 - 1 - 1e-6 <= drop.min() and drop.max() <= p3 + 1e-6


def test_cascading_randomisation_changes_the_maps_and_not_the_model(cnn, mnist_test):
    model, _ = cnn
    images, _ = mnist_test
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = images[:1]
    check = occ.cascading_randomization(model, x, lambda net, inp, t: saliency(net, inp, t)[0].numpy())
    assert check.layers == ["fc2", "fc1", "conv2", "conv1"]
    assert check.maps.shape == (5, 28, 28)
    assert max(check.correlations) < 0.9 and check.correlations[-1] < check.correlations[0]
    cam = occ.cascading_randomization(model, x, lambda net, inp, t: grad_cam(net, "relu2", inp, t)[0].numpy())
    assert max(abs(c) for c in cam.correlations) < 0.9
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_occlusion_rejects_a_batch_and_an_oversized_patch(cnn, mnist_test):
    model, _ = cnn
    images, _ = mnist_test
    with pytest.raises(ValueError, match="one input"):
        occ.occlusion(model, images[:2])
    with pytest.raises(ValueError, match="does not fit"):
        occ.occlusion(model, images[:1], window=40)
