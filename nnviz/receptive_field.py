"""Receptive fields: which input pixels a unit can see, and how much each one matters to it.

* The **theoretical receptive field** of a unit is the box of input pixels that can change it at
  all. It follows from the kernel sizes, strides and paddings of the layers up to the unit
  (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning"; the recurrence
  as in Araujo et al. 2019, "Computing Receptive Fields of Convolutional Neural Networks"): with
  ``jump`` the distance in input pixels between neighbouring units and ``size`` the field's side,
  a layer of kernel ``k``, stride ``s``, padding ``p`` gives ``size ← size + (k − 1) × jump``,
  ``first ← first − p × jump``, ``jump ← jump × s``. Element-wise layers (ReLU, batch norm,
  dropout) change nothing; a fully connected unit sees every unit of the layer before it, so the
  whole image.
* The **effective receptive field** (Luo et al. 2016, "Understanding the Effective Receptive
  Field in Deep Convolutional Neural Networks") is the gradient of the unit with respect to each
  input pixel, on a real input: usually concentrated in the middle of the box, and zero outside it.

The model is only read: the gradient is taken with ``torch.autograd.grad`` on a private copy of
the input, which never writes the parameters' ``.grad``, so a shared (cached) model is safe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnviz.inspection import capture_activations

ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.ELU, nn.GELU, nn.SiLU, nn.Dropout,
               nn.BatchNorm2d, nn.BatchNorm1d, nn.Identity)


@dataclass(frozen=True)
class Geometry:
    """How a layer's units sit on the input, along one axis (rows and columns are alike here).

    ``jump``: input pixels between neighbouring units; ``size``: side of one unit's field in
    input pixels; ``first``: the input row (or column) where unit 0's field starts (negative in
    the padding); ``flat``: the layer's units no longer sit on a grid (after a flatten / fully
    connected layer: every unit sees the whole input).
    """

    jump: int
    size: int
    first: int
    flat: bool = False


@dataclass(frozen=True)
class Box:
    """A box of input pixels, ``top``…``bottom`` rows and ``left``…``right`` columns, inclusive,
    clipped to the image. ``unclipped`` is the box before clipping ``(top, left, bottom, right)``
    (it overhangs the image where the kernels reach into the zero padding)."""

    top: int
    left: int
    bottom: int
    right: int
    unclipped: tuple[int, int, int, int]

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    def mask(self, height: int, width: int) -> np.ndarray:
        """``(height, width)`` bool: True inside the box."""
        m = np.zeros((height, width), bool)
        m[self.top:self.bottom + 1, self.left:self.right + 1] = True
        return m

    def to_list(self) -> list[int]:
        """``[top, left, bottom, right]``, inclusive input pixels."""
        return [self.top, self.left, self.bottom, self.right]


def _children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"receptive fields walk an nn.Sequential's layers; got {type(model).__name__}")
    return list(model.named_children())


def _first(v) -> int:
    return int(v if isinstance(v, int) else v[0])


def _padding(module: nn.Module) -> int:
    pad = module.padding
    if pad == "valid":
        return 0
    if pad == "same":
        return _first(module.dilation) * (_first(module.kernel_size) - 1) // 2
    return _first(pad)


def layer_geometry(model: nn.Module) -> dict[str, Geometry]:
    """``{layer name: Geometry}`` for every layer of ``model``, in order (square kernels,
    strides and paddings assumed, as in :class:`nnviz.models.CNN`).

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential``.
        ValueError: a layer this recurrence does not know (named in the message).
    """
    g = Geometry(1, 1, 0)
    out: dict[str, Geometry] = {}
    for name, module in _children(model):
        if g.flat or isinstance(module, (nn.Flatten, nn.Linear)):
            g = Geometry(g.jump, g.size, g.first, flat=True)
        elif isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = _first(module.kernel_size)
            s = _first(module.stride) if module.stride is not None else k
            d = _first(getattr(module, "dilation", 1))
            k = d * (k - 1) + 1
            g = Geometry(g.jump * s, g.size + (k - 1) * g.jump, g.first - _padding(module) * g.jump)
        elif not isinstance(module, ELEMENTWISE):
            raise ValueError(f"layer {name!r} ({type(module).__name__}): its receptive field is not worked out here")
        out[name] = g
    return out


def _unit_shape(model: nn.Module, layer: str, image_shape: tuple[int, int, int]) -> tuple[int, ...]:
    device = next(model.parameters()).device
    return tuple(capture_activations(model, torch.zeros((1, *image_shape), device=device), [layer])[layer].shape[1:])


def check_unit(model: nn.Module, layer: str, unit: tuple[int, ...], image_shape: tuple[int, int, int] = (1, 28, 28),
               shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """``unit`` as a tuple of ints, checked against ``layer``'s output shape: ``(channel, row,
    col)`` for a layer of feature maps ``(C, H, W)``, ``(index,)`` for a layer of ``N`` units.

    Args:
        shape: the layer's output shape without the batch dimension, if known (else one blank
            forward pass finds it).

    Raises:
        ValueError: unknown layer (the message lists the layers), wrong number of indices, or an
            index out of range (the message gives the range).
    """
    names = [n for n, _ in _children(model)]
    if layer not in names:
        raise ValueError(f"model has no layer {layer!r}; layers: {', '.join(names)}")
    shape = tuple(shape) if shape is not None else _unit_shape(model, layer, image_shape)
    unit = tuple(unit)
    if len(unit) != len(shape):
        want = "a channel, a row and a column" if len(shape) == 3 else "one index (no row or column)"
        raise ValueError(f"{layer}'s output is {'×'.join(map(str, shape))}: a unit there is given by {want}; "
                         f"got {list(unit)}")
    words = ("channel", "row", "column") if len(shape) == 3 else ("unit",)
    checked = []
    for word, i, n in zip(words, unit, shape):
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise ValueError(f"{word} must be a whole number, got {i!r}")
        if not 0 <= i < n:
            raise ValueError(f"{word} {i} is outside {layer}'s range 0…{n - 1}")
        checked.append(int(i))
    return tuple(checked)


def receptive_field_box(model: nn.Module, layer: str, unit: tuple[int, ...],
                        image_shape: tuple[int, int, int] = (1, 28, 28)) -> Box:
    """The theoretical receptive field of ``unit`` of ``layer``: the input pixels that can change it.

    Args:
        model: an ``nn.Sequential`` network (e.g. :class:`nnviz.models.CNN`).
        layer: a layer name (``conv1``, ``relu1``, ``pool1``, ``conv2``, ``pool2``, ``fc1``, ``fc2`` …).
        unit: ``(channel, row, col)`` for feature maps, ``(index,)`` for a fully connected layer.
        image_shape: the input ``(channels, rows, columns)``.

    Returns:
        A :class:`Box` in input pixels, clipped to the image; a fully connected unit's box is the
        union of the fields of every unit before the flattening (the whole image for the CNN).

    Raises:
        ValueError: see :func:`check_unit` and :func:`layer_geometry`.
    """
    shape = _unit_shape(model, layer, image_shape) if layer in dict(_children(model)) else ()
    unit = check_unit(model, layer, unit, image_shape, shape)
    g = layer_geometry(model)[layer]
    h, w = image_shape[1:]
    if g.flat:
        # Every unit of the last layer on a grid feeds this one: the union of their fields.
        geometry = layer_geometry(model)
        grid = [name for name, v in geometry.items() if not v.flat]
        if grid:
            last = geometry[grid[-1]]
            rows, cols = _unit_shape(model, grid[-1], image_shape)[-2:]
            top, left = last.first, last.first
            bottom, right = top + (rows - 1) * last.jump + last.size - 1, left + (cols - 1) * last.jump + last.size - 1
        else:  # an MLP: the first layer already reads every pixel
            top, left, bottom, right = 0, 0, h - 1, w - 1
    else:
        r, c = unit[1], unit[2]
        top, left = g.first + r * g.jump, g.first + c * g.jump
        bottom, right = top + g.size - 1, left + g.size - 1
    return Box(max(top, 0), max(left, 0), min(bottom, h - 1), min(right, w - 1), (top, left, bottom, right))


def unit_value_and_gradient(model: nn.Module, inputs: torch.Tensor, layer: str,
                            unit: tuple[int, ...]) -> tuple[float, np.ndarray]:
    """``(value, gradient)``: ``layer``'s ``unit`` for ``inputs`` and its effective receptive
    field, ∂ unit / ∂ input pixel (Luo et al. 2016), by autograd.

    Args:
        model: an ``nn.Sequential`` network in eval mode; only read (shared models are fine).
        inputs: ``(1, C, H, W)`` float32, normalised.
        layer, unit: as for :func:`receptive_field_box`.

    Returns:
        ``value`` (a float, the unit's activation) and ``gradient`` ``(C, H, W)`` float32, signed,
        per normalised input value (0 everywhere when a ReLU has cut the unit off, or the path
        runs through max-pooling windows this input does not win).

    Raises:
        ValueError: ``inputs`` is not one image, or a bad layer/unit (see :func:`check_unit`).
    """
    if inputs.ndim != 4 or inputs.shape[0] != 1:
        raise ValueError(f"the effective receptive field takes one image of shape (1, C, H, W), got {tuple(inputs.shape)}")
    children = _children(model)
    names = [n for n, _ in children]
    if layer not in names:
        raise ValueError(f"model has no layer {layer!r}; layers: {', '.join(names)}")
    x = inputs.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        y = x
        for name, module in children:
            y = module(y)
            if name == layer:
                break
        unit = check_unit(model, layer, unit, tuple(inputs.shape[1:]), tuple(y.shape[1:]))
        value = y[(0, *unit)]
        (grad,) = torch.autograd.grad(value, x)
    return float(value.detach()), grad[0].detach().cpu().numpy().astype(np.float32)


def effective_receptive_field(model: nn.Module, inputs: torch.Tensor, layer: str, unit: tuple[int, ...]) -> np.ndarray:
    """``(C, H, W)`` float32: ∂ unit / ∂ input pixel for ``inputs`` (see
    :func:`unit_value_and_gradient`, whose errors it raises)."""
    return unit_value_and_gradient(model, inputs, layer, unit)[1]
