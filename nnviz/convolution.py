"""One convolution worked through: how one number of a feature map is computed, on one input.

A convolution layer's output at channel ``c``, position ``(r, k)`` is the sum, over every input
channel and every cell of the kernel, of *input pixel × kernel weight*, plus the channel's bias
(Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning", §2: the kernel
slides over the input; the cells outside the image are the zero padding). What follows the
convolution (ReLU, max pooling, batch normalisation) is then followed, in the network's own
order, up to the number the next layer reads.

Every number here is the network's own: the layer's input and every later value are the
activations of the forward pass (:func:`nnviz.inspection.capture_activations`), the kernel and
bias are the stored parameters. The sum of the products is computed only to be shown beside the
layer's real output (they agree to float32 rounding; :attr:`WorkedConvolution.sum_error`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from nnviz.inspection import capture_activations


@dataclass
class WorkedConvolution:
    """One output number of a convolution layer, worked through.

    Attributes:
        layer: the convolution layer's name, e.g. ``"conv2"``.
        channel: output channel ``c`` (0 … out_channels − 1).
        row, col: position ``(r, k)`` in the layer's output (0-based).
        top, left: the input row and column under the kernel's top-left cell (negative, or past
            the edge, where the kernel overhangs the zero padding).
        patch: ``(in_channels, k, k)`` float32, the layer's real input under the kernel (0 in the
            padding).
        kernel: ``(in_channels, k, k)`` float32, the stored weights of channel ``c``.
        products: ``(in_channels, k, k)`` float32, ``patch × kernel`` element by element.
        bias: the channel's bias (0.0 for a convolution without bias, as before a batch norm).
        output: the layer's output at ``(c, r, k)`` from the forward pass.
        sum_of_products: Σ products + bias, summed here in float64 (equals ``output`` to float32
            rounding).
        steps: the operations after the convolution up to the next layer, in the network's order:
            ``{"name", "value", "layer", …}`` (see :func:`follow_steps`).
        feature_map: ``(H_out, W_out)`` float32, the layer's whole output for channel ``c`` (for
            the animation that fills the feature map).
        layer_input: ``(in_channels, H, W)`` float32, the layer's whole input.
    """

    layer: str
    channel: int
    row: int
    col: int
    top: int
    left: int
    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    bias: float
    output: float
    sum_of_products: float
    steps: list[dict] = field(default_factory=list)
    feature_map: np.ndarray | None = None
    layer_input: np.ndarray | None = None

    @property
    def kernel_size(self) -> int:
        return int(self.kernel.shape[-1])

    @property
    def sum_error(self) -> float:
        """|Σ products + bias − output|: float32 rounding only (about 1e-6 of the terms' size)."""
        return abs(self.sum_of_products - self.output)

    @property
    def channel_sums(self) -> np.ndarray:
        """``(in_channels,)`` float32: each input channel's share of the sum (Σ of its products)."""
        return self.products.reshape(len(self.products), -1).sum(1)

    def to_dict(self) -> dict:
        """The command line's JSON: ``patch``, ``kernel``, ``products`` (``[in_channels][k][k]``),
        ``bias``, ``output``, ``steps``, plus ``layer``, ``channel``, ``row``, ``col``, ``window``
        (the covered input rows and columns, ``[top, left, bottom, right]`` inclusive, in the
        layer's input) and ``sum_of_products``. Numbers are Python floats of the float32 values."""
        k = self.kernel_size
        return {"layer": self.layer, "channel": self.channel, "row": self.row, "col": self.col,
                "window": [self.top, self.left, self.top + k - 1, self.left + k - 1],
                "patch": self.patch.tolist(), "kernel": self.kernel.tolist(), "products": self.products.tolist(),
                "bias": self.bias, "output": self.output, "sum_of_products": self.sum_of_products,
                "steps": [dict(s) for s in self.steps]}


def _children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"the worked convolution walks an nn.Sequential's layers; got {type(model).__name__}")
    return list(model.named_children())


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def conv_padding(conv: nn.Conv2d) -> tuple[int, int]:
    """The zero padding ``(rows, columns)`` on the top and left of ``conv``'s input, in pixels
    (``padding="same"`` resolved as PyTorch does: the extra pixel of an even total goes right).

    Raises:
        ValueError: a padding mode other than zeros (the patch would not be zero outside).
    """
    if conv.padding_mode != "zeros":
        raise ValueError(f"only zero padding is worked through; this convolution pads with {conv.padding_mode!r}")
    if conv.padding == "valid":
        return 0, 0
    if conv.padding == "same":
        k, d = _pair(conv.kernel_size), _pair(conv.dilation)
        return tuple(d[i] * (k[i] - 1) // 2 for i in range(2))
    return _pair(conv.padding)


def kernel_window(conv: nn.Conv2d, row: int, col: int) -> tuple[int, int]:
    """``(top, left)``: the input row and column under the top-left kernel cell when the kernel
    sits at output position ``(row, col)`` (Dumoulin & Visin 2016, relation 6: ``top = row ×
    stride − padding``); negative where the kernel overhangs the zero padding."""
    (sr, sc), (pr, pc) = _pair(conv.stride), conv_padding(conv)
    return row * sr - pr, col * sc - pc


def kernel_positions(height: int, width: int) -> list[tuple[int, int]]:
    """The kernel's positions in the order it slides (row by row, left to right), as output
    ``(row, col)`` pairs of a ``height × width`` feature map: the animation's frames."""
    return [(r, c) for r in range(height) for c in range(width)]


def extract_patch(layer_input: np.ndarray, top: int, left: int, size: int, dilation: int = 1) -> np.ndarray:
    """``(C, size, size)`` float32: the cells of ``layer_input`` ``(C, H, W)`` under a kernel whose
    top-left cell is at ``(top, left)``, cells ``dilation`` pixels apart; 0 outside the input
    (zero padding)."""
    c, h, w = layer_input.shape
    patch = np.zeros((c, size, size), np.float32)
    rows = top + dilation * np.arange(size)
    cols = left + dilation * np.arange(size)
    ri, ci = np.flatnonzero((rows >= 0) & (rows < h)), np.flatnonzero((cols >= 0) & (cols < w))
    patch[:, ri[:, None], ci[None, :]] = layer_input[:, rows[ri][:, None], cols[ci][None, :]]
    return patch


def _check_position(what: str, value: int, size: int, axis: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{what} {value} is outside {axis} (0…{size - 1})")
    return int(value)


def follow_steps(model: nn.Module, activations: OrderedDict[str, torch.Tensor], layer: str, channel: int,
                 row: int, col: int) -> list[dict]:
    """The operations after convolution ``layer`` applied to its output at ``(channel, row, col)``,
    in the network's own order, up to (not including) the next layer with weights (a convolution
    or a fully connected layer) or the flattening before it.

    Each step is a dict with ``name`` (the operation: ``"ReLU"``, ``"max pooling"``, ``"batch
    normalisation"``, or the layer's class name), ``layer`` (its name), ``value`` (the captured
    output at the followed position, a float), ``input`` (the value it received) and
    ``position`` (``[row, col]`` of that output), plus for max pooling ``window`` (the 2×2 — or
    k×k — input values, row-major lists), ``window_top_left``, ``max``, ``wins`` (whether
    the followed value is the one that wins) and ``ties`` (how many cells hold the maximum), and for batch normalisation ``running_mean``,
    ``running_var``, ``eps``, ``gamma`` (weight) and ``beta`` (bias): ``value = (input − mean) /
    sqrt(var + eps) × γ + β``. Dropout layers are skipped (off at inference).

    Args:
        activations: every layer's output for one input, as :func:`capture_activations` returns
            them (batch of 1).

    Raises:
        ValueError: ``layer`` is not in the model.
    """
    children = _children(model)
    names = [n for n, _ in children]
    if layer not in names:
        raise ValueError(f"model has no layer {layer!r}; layers: {', '.join(names)}")
    steps: list[dict] = []
    value = float(activations[layer][0, channel, row, col])
    previous = activations[layer][0]
    for name, module in children[names.index(layer) + 1:]:
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.Flatten)):
            break
        if isinstance(module, nn.Dropout):
            continue
        out = activations[name][0]
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            (kh, kw), (sh, sw) = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
            ph, pw = _pair(module.padding)
            r, c = (row + ph) // sh, (col + pw) // sw
            r, c = min(r, out.shape[1] - 1), min(c, out.shape[2] - 1)
            top, left = r * sh - ph, c * sw - pw
            window = extract_patch(previous[channel:channel + 1].numpy(), top, left, max(kh, kw))[0][:kh, :kw]
            inside = (row - top, col - left)
            new = float(out[channel, r, c])
            step = {"name": "max pooling" if isinstance(module, nn.MaxPool2d) else "average pooling",
                    "layer": name, "input": value, "value": new, "position": [r, c],
                    "window": window.tolist(), "window_top_left": [top, left], "in_window": list(inside)}
            if isinstance(module, nn.MaxPool2d):
                # Ties (several zeros after a ReLU) all hold the winning value; ``ties`` says so.
                step["max"] = float(window.max())
                step["wins"] = bool(window[inside] == window.max())
                step["ties"] = int((window == window.max()).sum())
            row, col = r, c
        elif isinstance(module, nn.BatchNorm2d):
            new = float(out[channel, row, col])
            value_in = float(previous[channel, row, col])
            step = {"name": "batch normalisation", "layer": name, "input": value_in, "value": new,
                    "position": [row, col], "running_mean": float(module.running_mean[channel]),
                    "running_var": float(module.running_var[channel]), "eps": float(module.eps),
                    "gamma": float(module.weight[channel].detach()) if module.weight is not None else 1.0,
                    "beta": float(module.bias[channel].detach()) if module.bias is not None else 0.0}
        else:
            new = float(out[channel, row, col])
            kind = "ReLU" if isinstance(module, nn.ReLU) else type(module).__name__
            step = {"name": kind, "layer": name, "input": float(previous[channel, row, col]), "value": new,
                    "position": [row, col]}
        steps.append(step)
        value, previous = new, out
    return steps


def next_layer(model: nn.Module, layer: str) -> str | None:
    """The name of the first layer with weights (or the flattening) after ``layer``: the layer
    that reads the number the steps end at; None if there is none."""
    children = _children(model)
    names = [n for n, _ in children]
    for name, module in children[names.index(layer) + 1:]:
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.Flatten)):
            return name
    return None


@torch.no_grad()
def worked_convolution(model: nn.Module, inputs: torch.Tensor, layer: str, channel: int, row: int, col: int,
                       activations: OrderedDict[str, torch.Tensor] | None = None) -> WorkedConvolution:
    """Work through convolution ``layer``'s output at channel ``channel``, position ``(row, col)``.

    Args:
        model: an ``nn.Sequential`` CNN (e.g. :class:`nnviz.models.CNN`) in eval mode; only read.
        inputs: ``(1, C, H, W)`` float32, normalised as the model expects (MNIST: ``(1, 1, 28, 28)``).
        layer: the name of an ``nn.Conv2d`` layer, e.g. ``"conv1"``.
        channel: output channel, 0 … out_channels − 1.
        row, col: position in the layer's output, 0 … H_out − 1 and 0 … W_out − 1.
        activations: the forward pass of ``inputs`` if already captured
            (:func:`nnviz.inspection.capture_activations`), to reuse it after a click.

    Returns:
        A :class:`WorkedConvolution`.

    Raises:
        ValueError: ``inputs`` is not one image, ``layer`` is not a convolution of the model
            (the message lists them), a grouped convolution, or ``channel``/``row``/``col`` out of
            range (the message gives the range).
        TypeError: ``model`` is not an ``nn.Sequential``.
    """
    if inputs.ndim != 4 or inputs.shape[0] != 1:
        raise ValueError(f"the worked convolution takes one image of shape (1, C, H, W), got {tuple(inputs.shape)}")
    children = _children(model)
    modules = dict(children)
    convs = [n for n, m in children if isinstance(m, nn.Conv2d)]
    if layer not in convs:
        raise ValueError(f"{layer!r} is not a convolution layer of this model; choose one of: {', '.join(convs)}"
                         if convs else f"{layer!r} is not a convolution layer: this network has no convolutions (an MLP?)")
    conv: nn.Conv2d = modules[layer]
    if conv.groups != 1:
        raise ValueError(f"{layer} is a grouped convolution (groups={conv.groups}); only groups=1 is worked through")
    if activations is None:
        activations = capture_activations(model, inputs)
    out = activations[layer][0]
    channel = _check_position("channel", channel, out.shape[0], f"{layer}'s {out.shape[0]} channels")
    row = _check_position("row", row, out.shape[1], f"{layer}'s output rows")
    col = _check_position("column", col, out.shape[2], f"{layer}'s output columns")

    names = [n for n, _ in children]
    index = names.index(layer)
    layer_input = (inputs if index == 0 else activations[names[index - 1]])[0].detach().cpu().numpy()
    top, left = kernel_window(conv, row, col)
    k, kw = _pair(conv.kernel_size)
    if k != kw:
        raise ValueError(f"{layer} has a {k}×{kw} kernel; only square kernels are worked through")
    patch = extract_patch(layer_input, top, left, k, _pair(conv.dilation)[0])
    kernel = conv.weight[channel].detach().cpu().numpy().astype(np.float32)
    products = patch * kernel
    bias = float(conv.bias[channel].detach()) if conv.bias is not None else 0.0
    total = float(products.astype(np.float64).sum() + bias)
    return WorkedConvolution(layer, channel, row, col, top, left, patch, kernel, products, bias,
                             float(out[channel, row, col]), total,
                             follow_steps(model, activations, layer, channel, row, col),
                             out[channel].cpu().numpy(), layer_input)
