"""Opening the network: its layer table, and every layer's output for one input.

The digit networks are ``nn.Sequential`` models with named layers (see :mod:`nnviz.models`), so
the activations are captured by running the layers one after another and keeping each output:
no forward hooks are registered, nothing is stored on the model, and many threads can inspect
the same (shared, cached) model at once, each getting exactly the activations of its own input.

:func:`inspect` bundles what the Inspect page shows for one input: all activations, the logits
and softmax probabilities, and where the network looks (Grad-CAM on the last convolution
layer's rectified output, input-gradient saliency) from :mod:`nnviz.attribution`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnviz.attribution import grad_cam, saliency

KINDS = {  # torch class → the word a student meets in a textbook
    nn.Conv2d: "convolution", nn.Linear: "fully connected", nn.MaxPool2d: "max pooling",
    nn.AvgPool2d: "average pooling", nn.ReLU: "activation (ReLU)", nn.Sigmoid: "activation (sigmoid)",
    nn.Tanh: "activation (tanh)", nn.Flatten: "flatten", nn.Dropout: "dropout (off at inference)",
    nn.BatchNorm2d: "batch normalisation",
}


@dataclass(frozen=True)
class LayerInfo:
    """One row of the architecture table.

    ``output_shape`` excludes the batch dimension, e.g. ``(32, 28, 28)`` (channels, rows, columns)
    for a convolution or ``(128,)`` for a fully connected layer; ``parameters`` counts weights and
    biases.
    """

    name: str
    type: str
    kind: str
    output_shape: tuple[int, ...]
    parameters: int

    @property
    def has_parameters(self) -> bool:
        return self.parameters > 0


def layer_kind(module: nn.Module) -> str:
    """Textbook name of a layer's operation, e.g. ``"convolution"``; the class name if unknown."""
    for cls, word in KINDS.items():
        if isinstance(module, cls):
            return word
    return type(module).__name__


def _children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"inspection walks an nn.Sequential's layers; got {type(model).__name__}")
    return list(model.named_children())


@torch.no_grad()
def capture_activations(model: nn.Module, inputs: torch.Tensor,
                        layers: Collection[str] | None = None) -> OrderedDict[str, torch.Tensor]:
    """Every layer's output for ``inputs``, in order, without hooks or any change to ``model``.

    Args:
        model: an ``nn.Sequential`` (e.g. :class:`nnviz.models.CNN`), in eval mode.
        inputs: ``(N, C, H, W)`` float32, normalised as the model expects.
        layers: only these layers' outputs (None: all); the run stops after the last of them,
            and the other outputs are not kept (for large batches).

    Returns:
        ``{layer name: output}``; each output keeps the batch dimension (``(N, 32, 28, 28)`` for
        ``conv1``, ``(N, 10)`` logits for the last layer), float32, detached.

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential``.
    """
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    wanted = None if layers is None else set(layers)
    x = inputs
    for name, layer in _children(model):
        x = layer(x)
        if wanted is None or name in wanted:
            out[name] = x
            if wanted is not None and len(out) == len(wanted):
                break
    return out


def layer_table(model: nn.Module, input_shape: tuple[int, ...] = (1, 28, 28)) -> list[LayerInfo]:
    """The architecture read from the model itself: one :class:`LayerInfo` per layer, in order.

    Output shapes come from running a blank input of ``input_shape`` (channels, rows, columns)
    through the layers, so they are the real ones, not recomputed by formula.

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential``.
    """
    device = next(model.parameters()).device
    acts = capture_activations(model, torch.zeros((1, *input_shape), device=device))
    return [LayerInfo(name, type(layer).__name__, layer_kind(layer), tuple(acts[name].shape[1:]),
                      sum(p.numel() for p in layer.parameters()))
            for name, layer in _children(model)]


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the model's convolution layers, in order (empty for an MLP)."""
    return [name for name, layer in _children(model) if isinstance(layer, nn.Conv2d)]


def last_conv_layer(model: nn.Module) -> str | None:
    """Name of the last convolution layer, or None for an MLP."""
    names = conv_layers(model)
    return names[-1] if names else None


def grad_cam_layer(model: nn.Module) -> str | None:
    """The layer Grad-CAM explains: the last convolution's *rectified* feature maps — the
    activation layer right after it when there is one (``relu2`` in the CNN), as in Selvaraju
    et al. 2017, who use the last convolutional layer's ReLU output. Using the convolution's raw
    output instead gives mostly negative maps whose weighted sum the final ReLU erases. None for
    a network without convolutions."""
    conv = last_conv_layer(model)
    if conv is None:
        return None
    children = _children(model)
    names = [n for n, _ in children]
    after = names.index(conv) + 1
    while after < len(children) and isinstance(children[after][1], nn.BatchNorm2d):
        after += 1  # a batch normalisation between the convolution and its ReLU
    if after < len(children) and isinstance(children[after][1], (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU)):
        return names[after]
    return conv


def penultimate_layer(model: nn.Module) -> str:
    """Name of the layer whose output feeds the final (logits) layer: the learned features.

    Dropout layers are skipped (they pass values through unchanged at inference), so this is
    ``relu3`` for the CNN and ``relu2`` for the two-hidden-layer MLP.
    """
    children = _children(model)[:-1]
    while len(children) > 1 and isinstance(children[-1][1], nn.Dropout):
        children.pop()
    return children[-1][0]


def summary(t: torch.Tensor | np.ndarray) -> dict:
    """``{"shape", "min", "max", "mean", "fraction_zero"}`` of a tensor (Python numbers)."""
    a = torch.as_tensor(t).detach().float()
    return {"shape": list(a.shape), "min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()),
            "fraction_zero": float((a == 0).float().mean())}


@dataclass
class Inspection:
    """Everything the Inspect page shows for one input image.

    Attributes:
        inputs: ``(1, C, H, W)`` float32, the normalised network input.
        image: ``(H, W)`` float32 in [0, 1], the input as the student sees it (ink high).
        activations: ``{layer name: output without the batch dimension}`` float32.
        logits: ``(K,)`` float32, the last layer's output.
        probabilities: ``(K,)`` float32, softmax of the logits, summing to 1.
        predicted: index of the largest logit.
        target: the class the attributions explain (the prediction unless one was asked for).
        grad_cam: ``(H, W)`` float32 ≥ 0 on ``grad_cam_layer``, or None for a network without
            convolutions.
        grad_cam_layer: the layer Grad-CAM used (see :func:`grad_cam_layer`), or None.
        saliency: ``(H, W)`` float32 ≥ 0, |∂ logit_target / ∂ pixel|.
    """

    inputs: torch.Tensor
    image: np.ndarray
    activations: OrderedDict[str, torch.Tensor]
    logits: np.ndarray
    probabilities: np.ndarray
    predicted: int
    target: int
    grad_cam: np.ndarray | None
    grad_cam_layer: str | None
    saliency: np.ndarray


def inspect(model: nn.Module, inputs: torch.Tensor, image: np.ndarray | None = None, target: int | None = None,
            with_attribution: bool = True) -> Inspection:
    """Run one input through ``model`` and collect activations, prediction and attributions.

    Args:
        model: an ``nn.Sequential`` classifier in eval mode; shared models are fine (read only).
        inputs: ``(1, C, H, W)`` float32, normalised.
        image: the ``(H, W)`` [0, 1] picture to show; if None, ``inputs`` rescaled to [0, 1].
        target: class for Grad-CAM and saliency; None explains the predicted class.
        with_attribution: False skips Grad-CAM and saliency (both are then zero maps / None).

    Raises:
        ValueError: ``inputs`` is not a single image ``(1, C, H, W)`` or ``target`` is out of range.
        TypeError: ``model`` is not an ``nn.Sequential``.
    """
    if inputs.ndim != 4 or inputs.shape[0] != 1:
        raise ValueError(f"inspect takes one image of shape (1, C, H, W), got {tuple(inputs.shape)}")
    acts = capture_activations(model, inputs)
    logits = next(reversed(acts.values()))[0]
    probabilities = torch.softmax(logits, 0)
    predicted = int(logits.argmax())
    if target is not None and not 0 <= target < logits.numel():
        raise ValueError(f"target class must be in 0…{logits.numel() - 1}, got {target}")
    target = predicted if target is None else int(target)
    if image is None:
        x = inputs[0].amax(0)
        image = ((x - x.min()) / (x.max() - x.min()).clamp(min=1e-12)).numpy()
    layer = grad_cam_layer(model)
    cam = sal = None
    if with_attribution:
        sal = saliency(model, inputs, target)[0].cpu().numpy()
        if layer is not None:
            cam = grad_cam(model, layer, inputs, target)[0].cpu().numpy()
    else:
        sal = np.zeros(inputs.shape[-2:], np.float32)
    return Inspection(inputs, np.asarray(image, np.float32), OrderedDict((k, v[0]) for k, v in acts.items()),
                      logits.cpu().numpy(), probabilities.cpu().numpy(), predicted, target, cam, layer, sal)


def most_active_units(inspection: Inspection, layer: str, count: int) -> list[int]:
    """Indices of the ``count`` units of ``layer`` with the largest activation for this input,
    largest first (ties in unit order): the units worth looking at first."""
    values = inspection.activations[layer].flatten().numpy()
    return [int(i) for i in np.argsort(-values, kind="stable")[:count]]
