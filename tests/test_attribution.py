"""Grad-CAM and saliency (captum) on the trained CNN: the input's size, non-negative, mostly on
the ink of real test digits, class-specific, and computed without touching the shared model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from captum.attr import LayerAttribution, LayerGradCam
from torch import nn

from nnviz.attribution import grad_cam, saliency, split_sequential
from nnviz.checkpoints import load_checkpoint
from nnviz.data import raw_pixels

N = 200  # real test digits checked for "mass on the ink"


def untouched(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
               for m in model.modules()) and all(p.grad is None for p in model.parameters())


def mass_inside(maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fraction of each map's total that lies where ``mask`` is true: ``(N, H, W)`` maps and a
    ``(N, H, W)`` bool mask → ``(N,)`` float32 in [0, 1] (0 for an all-zero map)."""
    maps = maps.clamp(min=0).flatten(1)
    total = maps.sum(1)
    inside = (maps * mask.flatten(1).to(maps.dtype)).sum(1)
    return torch.where(total > 0, inside / total.clamp(min=1e-12), torch.zeros_like(total))


def test_grad_cam_has_the_input_size_and_is_non_negative(cnn, mnist_test):
    model, _ = cnn
    x = mnist_test[0][:8]
    cam = grad_cam(model, "relu2", x)
    assert cam.shape == (8, 28, 28) and cam.dtype == torch.float32
    assert (cam >= 0).all() and (cam.flatten(1).amax(1) > 0).all()
    assert untouched(model)


def test_grad_cam_equals_captum_on_the_model_itself(cnn, mnist_test):
    """The hook-free split (head → private tap → tail) gives captum's own answer."""
    model, _ = cnn
    x = mnist_test[0][:4]
    ours = grad_cam(model, "relu2", x, target=3)
    private = load_checkpoint("digits-cnn")[0]
    ref = LayerGradCam(private, private.relu2).attribute(x.clone().requires_grad_(), target=3, relu_attributions=True)
    ref = LayerAttribution.interpolate(ref, (28, 28), interpolate_mode="bilinear")[:, 0]
    torch.testing.assert_close(ours, ref.detach(), rtol=1e-5, atol=1e-7)


def test_grad_cam_puts_most_of_its_mass_on_the_ink_of_real_digits(cnn, mnist_test):
    """relu2's maps are 14×14, so one map cell covers 2×2 pixels: "on the ink" means within
    2 pixels (one cell) of a stroke. A map spread evenly would put only the ink area's share
    there (≈40 %)."""
    model, _ = cnn
    images, _ = mnist_test
    x = images[:N]
    ink = raw_pixels(x, "mnist")[:, 0] > 0.2
    near_ink = F.max_pool2d(ink[:, None].float(), 5, 1, 2)[:, 0] > 0
    share = mass_inside(grad_cam(model, "relu2", x), near_ink)
    area = near_ink.float().mean((1, 2))
    assert float((share > 0.5).float().mean()) >= 0.7, f"median share {float(share.median()):.2f}"
    assert float(share.mean()) > 1.5 * float(area.mean())


def test_grad_cam_depends_on_the_target_class(cnn, mnist_test):
    model, _ = cnn
    x = mnist_test[0][:1]  # a 7
    assert not torch.allclose(grad_cam(model, "relu2", x, target=7), grad_cam(model, "relu2", x, target=1))
    torch.testing.assert_close(grad_cam(model, "relu2", x), grad_cam(model, "relu2", x, target=7))


def test_grad_cam_rejects_bad_arguments(cnn, mnist_test):
    model, _ = cnn
    layers = ", ".join(name for name, _ in model.named_children())
    with pytest.raises(ValueError, match=f"^model has no layer 'conv9'; layers: {layers}$"):
        grad_cam(model, "conv9", mnist_test[0][:1])
    with pytest.raises(ValueError, match="^target has 3 entries for 2 inputs$"):
        grad_cam(model, "relu2", mnist_test[0][:2], target=[1, 2, 3])
    with pytest.raises(ValueError, match=r"^layer 'fc1' gives no feature maps \(its output has no rows and columns\); "
                                         r"Grad-CAM needs feature maps$"):
        grad_cam(model, "fc1", mnist_test[0][:1])


def test_grad_cam_on_a_model_that_is_not_sequential(mnist_test):
    """The general path hooks the model (under a lock) and removes its hook afterwards."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

        def forward(self, x):
            return self.head(self.features(x))

    torch.manual_seed(0)
    net = Net().eval()
    cam = grad_cam(net, net.features, mnist_test[0][:2], target=0)
    assert cam.shape == (2, 28, 28) and (cam >= 0).all()
    assert untouched(net)


def test_split_sequential_reaches_into_nested_sequentials():
    inner = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    model = nn.Sequential(inner, nn.Flatten(), nn.LazyLinear(3))
    head, tail = split_sequential(model, "0.1")
    assert head == [inner[0], inner[1]] and tail == [model[1], model[2]]
    assert split_sequential(model, "7") is None


def test_saliency(cnn, mnist_test):
    model, _ = cnn
    x = mnist_test[0][:4]
    s = saliency(model, x)
    assert s.shape == (4, 28, 28) and (s >= 0).all() and untouched(model)
