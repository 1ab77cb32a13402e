"""What each channel looks for: activation maximisation and dataset examples.

Two answers to "what makes this channel fire?", after Olah, Mordvintsev & Schubert 2017,
"Feature Visualization" (Distill, https://distill.pub/2017/feature-visualization/):

* **Optimisation** (:func:`visualize`): start from a random image and follow the gradient of the
  channel's objective with respect to the pixels, uphill. The objective is the spatial mean of the
  layer's output for that channel (a feature map is ``(C, H, W)``: the mean over ``H × W``); for a
  layer without rows and columns (the last layer's logits, a hidden unit of an MLP) it is that
  unit's value. Left alone, gradient ascent finds high-frequency noise that no digit looks like;
  Olah et al.'s usual regularisers keep the picture readable: the pixels are a sigmoid of free
  parameters, so they stay in [0, 1] (normalised with MNIST's mean and standard deviation only
  before the network); each step sees the image moved by a random jitter of up to 2 pixels
  (transformation robustness); and a total-variation penalty (the mean absolute difference
  between neighbouring pixels) discourages noise.
* **Dataset examples** (:func:`dataset_examples`): the nine test images with the highest objective,
  and where in each the channel fires (the position of the feature map's maximum, drawn as that
  unit's receptive field: the box of input pixels it can see).

Why a convolution's channel is shown *after its ReLU* in the app (:func:`channel_layers`): the
spatial mean of a convolution's raw output is a linear function of the pixels, the same kernel sum
for every pixel away from the border, so the image that maximises it is a flat white (or black)
square whatever the kernel. The rectified map the next layer reads keeps only where the pattern
matches, which gives the familiar stripes and textures. Any layer can still be asked for by name.

What is stored for a network (:class:`LayerViews`, keyed by the card's ``weights_sha256`` as
:mod:`nnviz.test_set_views` does): shipped networks in ``trained/<name>.channels.npz``
(``python -m nnviz precompute``), others in ``$NNVIZ_CACHE_DIR/channels/<sha>-<layer>.npz``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnviz.data import dataset_info
from nnviz.files import atomic_write_bytes, cache_dir

FORMAT = 1
SUFFIX = ".channels.npz"
EXAMPLES = 9
STEPS = 256
LEARNING_RATE = 0.1
JITTER = 2  # pixels, in each direction
# Total-variation weight relative to the objective (which is divided by its own size each step, so
# the weight means the same for every channel). Chosen by eye on the shipped CNN: the logits need a
# stronger penalty to give strokes rather than texture (each image still excites its channel 1.5–3×
# more than the best test image).
TV_WEIGHT = {"feature_map": 1.0, "unit": 1.5}
LEAK = 0.05  # slope below 0 of the leaky ReLU climbed in place of a ReLU layer (see visualize)
STARTS = (-1.5, 0.0)  # random starts per channel, as sigmoid parameters' means (see visualize)
BATCH = 500  # test images per forward pass for the dataset examples
Progress = Callable[[float, str], None]
log = logging.getLogger(__name__)


# --- which layers and channels -------------------------------------------------------------------


def _children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"feature visualisation walks an nn.Sequential's layers; got {type(model).__name__}")
    return list(model.named_children())


def _head(model: nn.Module, layer: str) -> list[nn.Module]:
    """The model's layers up to and including ``layer``.

    Raises:
        ValueError: no such layer.
    """
    children = _children(model)
    names = [n for n, _ in children]
    if layer not in names:
        raise ValueError(f"the model has no layer {layer!r}; layers: {', '.join(names)}")
    return [m for _, m in children[:names.index(layer) + 1]]


_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh)


def channel_layers(model: nn.Module) -> list[str]:
    """The layers the app shows channel by channel: for each convolution, the activation layer after
    it (skipping batch normalisation and pooling in between: ``relu1``, ``relu2`` in the CNN), or the
    convolution itself when none follows; then the last layer (the class logits). An MLP gives only
    its last layer."""
    children = _children(model)
    names = [n for n, _ in children]
    chosen = []
    for i, (name, module) in enumerate(children):
        if not isinstance(module, nn.Conv2d):
            continue
        pick = name
        for later_name, later in children[i + 1:]:
            if isinstance(later, _ACTIVATIONS):
                pick = later_name
                break
            if not isinstance(later, (nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d, nn.Dropout)):
                break
        chosen.append(pick)
    return chosen + [names[-1]]


def conv_of(model: nn.Module, layer: str) -> str | None:
    """The convolution whose channels ``layer`` carries (``"conv1"`` for ``"relu1"``), the layer
    itself for a convolution, or None for a layer after the last convolution."""
    children = _children(model)
    names = [n for n, _ in children]
    conv = None
    for name, module in children[:names.index(layer) + 1]:
        if isinstance(module, nn.Conv2d):
            conv = name
        elif isinstance(module, (nn.Linear, nn.Flatten)):
            conv = None
    return conv


def _input_shape(model: nn.Module) -> tuple[int, int, int]:
    for _, m in _children(model):
        if isinstance(m, nn.Conv2d):
            return (m.in_channels, 28, 28)
        if isinstance(m, nn.Linear):
            return (1, 28, 28) if m.in_features == 784 else (m.in_features, 1, 1)
    return (1, 28, 28)


def channel_count(model: nn.Module, layer: str) -> int:
    """Number of channels (or units) of ``layer``'s output. Raises ValueError for an unknown layer."""
    device = next(model.parameters()).device
    with torch.no_grad():
        return int(_run(_head(model, layer), torch.zeros((1, *_input_shape(model)), device=device)).shape[1])


def _run(modules: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    for m in modules:
        x = m(x)
    return x


def _per_channel(output: torch.Tensor) -> torch.Tensor:
    return output.mean((2, 3)) if output.ndim == 4 else output.flatten(1)


def layer_means(model: nn.Module, layer: str, inputs: torch.Tensor) -> torch.Tensor:
    """The objective of every channel of ``layer`` for each input.

    Args:
        model: an ``nn.Sequential`` digit network in eval mode (not changed).
        layer: a layer's name (``"conv1"``, ``"relu2"``, ``"fc2"``).
        inputs: ``(N, 1, 28, 28)`` float32, normalised as the model expects.

    Returns:
        ``(N, C)`` float32: each channel's spatial mean (for a layer with feature maps) or each unit's
        value; detached.

    Raises:
        ValueError: unknown layer.
    """
    with torch.no_grad():
        return _per_channel(_run(_head(model, layer), inputs)).float()


# --- optimisation --------------------------------------------------------------------------------


@dataclass
class Visualization:
    """Optimised inputs: ``images`` ``(n, 28, 28)`` uint8 (0–255 = pixel 0–1 before normalisation),
    ``activations`` ``(n,)`` float32, each channel's objective for its uint8 image (what is shown is
    what is measured), ``channels`` the channel indices."""

    channels: np.ndarray
    images: np.ndarray
    activations: np.ndarray


def pixels_to_inputs(pixels: np.ndarray | torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """``(n, 28, 28)`` uint8 0–255 (or float in [0, 1]) → ``(n, 1, 28, 28)`` float32 normalised."""
    t = torch.from_numpy(np.array(pixels))  # a copy: PIL and np.load give read-only arrays
    t = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
    return ((t - mean) / std)[:, None]


def _total_variation(images: torch.Tensor) -> torch.Tensor:
    return ((images[..., 1:, :] - images[..., :-1, :]).abs().mean((1, 2, 3))
            + (images[..., :, 1:] - images[..., :, :-1]).abs().mean((1, 2, 3)))


def visualize(model: nn.Module, layer: str, channels: list[int] | np.ndarray, *, mean: float | None = None,
              std: float | None = None, steps: int = STEPS, seed: int = 0, init: np.ndarray | None = None,
              on_progress: Progress | None = None) -> Visualization:
    """Activation maximisation (Olah et al. 2017): for each channel, a 28×28 image that excites it.

    All channels are optimised together, one image per channel, in one batch. Each of ``steps``
    Adam steps (learning rate 0.1) moves every image by one random jitter (up to ``JITTER`` pixels,
    wrapping round), normalises it, runs the network up to ``layer`` and climbs
    ``objective / |objective| − TV_WEIGHT · total variation`` (the objective divided by its own
    size so the penalty weighs the same for weak and strong channels; for an activation layer the
    ReLU climbed is a leaky one, slope ``LEAK`` below 0, so a channel that is 0 everywhere at the
    start still has a gradient). Pixels are
    ``sigmoid(parameters)``, so always in [0, 1]. Each channel climbs from a dark and a grey
    random start (and ``init`` if given) and keeps the image that excites it most.

    Args:
        model: an ``nn.Sequential`` digit network, in eval mode; its parameters are not changed and
            their ``.grad`` is not written (gradients are taken with ``torch.autograd.grad``).
        layer: the layer's name; channels: indices into its output's channels (or units).
        mean, std: the model's input normalisation (default: MNIST's 0.1307 and 0.3081, from the
            training set).
        steps: gradient steps (256 takes ~0.3 s per channel of ``relu2`` on a 2-core CPU).
        seed: the random start and jitter, so a result can be reproduced.
        init: optional ``(n, 28, 28)`` uint8, one more start per channel (e.g. its best test image
            from :func:`dataset_examples`); the image kept is still the one exciting it most.
        on_progress: called with (fraction done in [0, 1], a sentence) every 32 steps.

    Returns:
        a :class:`Visualization`.

    Raises:
        ValueError: unknown layer, a channel out of range, or ``init`` of the wrong shape.
    """
    info = dataset_info("mnist")
    mean = info.mean[0] if mean is None else float(mean)
    std = info.std[0] if std is None else float(std)
    head = _head(model, layer)
    count = channel_count(model, layer)
    chans = torch.as_tensor(np.asarray(channels, dtype=np.int64)).reshape(-1)
    if chans.numel() == 0 or int(chans.min()) < 0 or int(chans.max()) >= count:
        raise ValueError(f"layer {layer!r} has channels 0…{count - 1}; got {chans.tolist()}")
    device = next(model.parameters()).device
    n = chans.numel()
    is_unit = _run(head, torch.zeros((1, *_input_shape(model)), device=device)).ndim != 4
    tv_weight = TV_WEIGHT["unit" if is_unit else "feature_map"]
    generator = torch.Generator().manual_seed(seed)
    # Each channel climbs from STARTS random images, one dark and one grey (sigmoid(-1.5) ≈ 0.18,
    # sigmoid(0) = 0.5), and keeps the better: a kernel that sums to less than 0 (it wants dark
    # around its strokes) can get stuck on a sparse pattern from grey, while the logits give
    # stroke-like digits from dark. A few weak channels of conv1 (a negative bias, fed by a rare
    # configuration of ink) are still best found from a real image: ``init``, their best test
    # image, is then a third start (as Nguyen et al. 2016, "Multifaceted Feature Visualization",
    # start from real images). One batch of n × starts images.
    starts = torch.tensor(STARTS).repeat_interleave(n).view(-1, 1, 1, 1)
    params = torch.randn((n * len(STARTS), 1, 28, 28), generator=generator) * 0.5 + starts
    if init is not None:
        if np.shape(init) != (n, 28, 28):
            raise ValueError(f"init must hold one 28×28 image per channel, shape ({n}, 28, 28); got {np.shape(init)}")
        start_pixels = torch.as_tensor(np.asarray(init, np.float32) / 255.0).clamp(0.02, 0.98)[:, None]
        params = torch.cat([params, torch.logit(start_pixels)])
    tries = len(params) // n
    rows = torch.arange(len(params), device=device)
    chans = chans.repeat(tries).to(device)
    params = params.to(device).requires_grad_(True)
    optimiser = torch.optim.Adam([params], lr=LEARNING_RATE)
    body, last = head[:-1], head[-1]
    # A ReLU passes no gradient where it is 0, so a channel that fires at no position of the random
    # start would never move, and one that fires at one position only grows there. Climbing a leaky
    # ReLU instead (slope LEAK below 0) pulls every position towards firing; what is measured and
    # returned is still the real ReLU's output.
    leak = isinstance(last, nn.ReLU) and len(head) > 1
    with torch.enable_grad():
        for step in range(steps):
            images = torch.sigmoid(params)
            dy, dx = torch.randint(-JITTER, JITTER + 1, (2,), generator=generator).tolist()
            moved = torch.roll(images, (dy, dx), (2, 3))
            before = _run(body, (moved - mean) / std)
            after = F.leaky_relu(before, LEAK) if leak else last(before)
            objective = _per_channel(after)[rows, chans]
            loss = (-objective / (objective.detach().abs() + 1e-3) + tv_weight * _total_variation(images)).sum()
            (grad,) = torch.autograd.grad(loss, params)
            optimiser.zero_grad(set_to_none=True)
            params.grad = grad
            optimiser.step()
            if on_progress is not None and (step + 1) % 32 == 0:
                on_progress((step + 1) / steps, f"{layer}: gradient step {step + 1} of {steps}")
    pixels = np.round(torch.sigmoid(params.detach()).cpu().numpy()[:, 0] * 255).astype(np.uint8)
    with torch.no_grad():
        measured = _per_channel(_run(head, pixels_to_inputs(pixels, mean, std).to(device)))[rows, chans]
    measured = measured.float().cpu().numpy().reshape(tries, n)
    best = measured.argmax(0)
    keep = best * n + np.arange(n)
    return Visualization(chans[:n].cpu().numpy(), pixels[keep], measured[best, np.arange(n)])


def objective(model: nn.Module, layer: str, channel: int, pixels: np.ndarray, mean: float | None = None,
              std: float | None = None) -> float:
    """The objective of ``channel`` of ``layer`` for one image ``(28, 28)`` uint8 (or float in
    [0, 1]); float32 precision. Raises ValueError for an unknown layer or channel."""
    info = dataset_info("mnist")
    mean = info.mean[0] if mean is None else float(mean)
    std = info.std[0] if std is None else float(std)
    count = channel_count(model, layer)
    if not 0 <= int(channel) < count:
        raise ValueError(f"layer {layer!r} has channels 0…{count - 1}; got {channel}")
    device = next(model.parameters()).device
    return float(layer_means(model, layer, pixels_to_inputs(np.asarray(pixels)[None], mean, std).to(device))[0, channel])


# --- dataset examples ----------------------------------------------------------------------------


def _receptive_box(model: nn.Module, layer: str, row: int, col: int, side: int = 28) -> tuple[int, int, int, int]:
    """The input pixels unit ``(row, col)`` of ``layer``'s feature map can see: ``(top, left,
    bottom, right)``, inclusive, clipped to the ``side``×``side`` image (the whole image for a layer
    after a flatten or a fully connected layer).

    Composed layer by layer from each convolution's and pooling's kernel size ``k``, stride ``s``
    and padding ``p`` (dilation 1): a unit ``i`` sees input rows ``[i·J + offset, i·J + offset +
    R − 1]`` with ``J ← J·s``, ``offset ← offset − p·J``, ``R ← R + (k − 1)·J`` (Araujo et al. 2019,
    "Computing Receptive Fields of Convolutional Neural Networks", Distill). For the CNN's ``conv2``
    after a 2×2 pooling this gives rows ``2r − 6 … 2r + 7``.
    """
    jump, offset, size = 1, 0, 1
    for module in _head(model, layer):
        if isinstance(module, (nn.Linear, nn.Flatten)):
            return 0, 0, side - 1, side - 1
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            def first(v):
                return int(v[0]) if isinstance(v, (tuple, list)) else int(v)
            k, s, p = first(module.kernel_size), first(module.stride or module.kernel_size), first(module.padding)
            offset -= p * jump
            size += (k - 1) * jump
            jump *= s
    def clip(v):
        return min(max(v, 0), side - 1)
    return (clip(row * jump + offset), clip(col * jump + offset),
            clip(row * jump + offset + size - 1), clip(col * jump + offset + size - 1))


@dataclass
class DatasetExamples:
    """The test images that excite each channel most, highest first: ``indices`` ``(C, 9)`` int64
    into the 10,000 test images, ``activations`` ``(C, 9)`` float32 (the objective),
    ``boxes`` ``(C, 9, 4)`` int64 ``(top, left, bottom, right)`` inclusive pixel rows and columns of
    the receptive field around where the feature map peaks (the whole image for units)."""

    indices: np.ndarray
    activations: np.ndarray
    boxes: np.ndarray


def dataset_examples(model: nn.Module, layer: str, images: torch.Tensor, count: int = EXAMPLES,
                     on_progress: Progress | None = None) -> DatasetExamples:
    """The ``count`` test images with the highest objective for every channel of ``layer``.

    Args:
        images: ``(N, 1, 28, 28)`` float32 normalised (the 10,000 MNIST test images: ~2 s for
            ``relu2`` on a 2-core CPU, in batches of 500 so memory stays small).
        on_progress: called with (fraction done, a sentence) after each batch.

    Ties are broken by the lower index (a stable sort), so the result is reproducible.

    Raises:
        ValueError: unknown layer, or fewer than ``count`` images.
    """
    if len(images) < count:
        raise ValueError(f"need at least {count} images, got {len(images)}")
    head = _head(model, layer)
    device = next(model.parameters()).device
    means, peaks = [], []
    with torch.no_grad():
        for start in range(0, len(images), BATCH):
            out = _run(head, images[start:start + BATCH].to(device))
            means.append(_per_channel(out).float().cpu())
            if out.ndim == 4:
                peaks.append(out.flatten(2).argmax(2).cpu())  # (n, C) flat position of each map's maximum
            if on_progress is not None:
                on_progress(min(start + BATCH, len(images)) / len(images), f"{layer}: the test images' activations")
    all_means = torch.cat(means)  # (N, C)
    order = torch.from_numpy(np.argsort(-all_means.numpy(), axis=0, kind="stable")[:count].T.copy())  # (C, count)
    channels = torch.arange(all_means.shape[1])[:, None]
    activations = all_means[order, channels]
    boxes = np.zeros((*order.shape, 4), np.int64)
    if peaks:
        width = out.shape[-1]
        flat = torch.cat(peaks)[order, channels]
        for c, k in np.ndindex(*order.shape):
            boxes[c, k] = _receptive_box(model, layer, int(flat[c, k]) // width, int(flat[c, k]) % width)
    else:
        boxes[...] = (0, 0, 27, 27)
    return DatasetExamples(order.numpy().astype(np.int64), activations.numpy().astype(np.float32), boxes)


# --- what is stored ------------------------------------------------------------------------------


@dataclass
class LayerViews:
    """Everything the app shows for one layer: the optimised ``images`` ``(C, 28, 28)`` uint8 and
    their ``activations`` ``(C,)`` float32, the :class:`DatasetExamples` and their pixels
    ``example_pixels`` ``(C, 9, 28, 28)`` uint8 (so the views need no dataset)."""

    layer: str
    images: np.ndarray
    activations: np.ndarray
    examples: DatasetExamples
    example_pixels: np.ndarray


def compute_layer(model: nn.Module, layer: str, images: torch.Tensor, pixels: np.ndarray, *,
                  mean: float | None = None, std: float | None = None, chunk: int = 16,
                  on_progress: Progress | None = None) -> LayerViews:
    """Compute ``layer``'s views: the dataset examples (from ``images``, normalised, and their
    ``pixels`` ``(N, 28, 28)`` uint8), then the optimised images ``chunk`` channels at a time.
    ``on_progress(fraction, sentence)`` follows the whole."""
    count = channel_count(model, layer)
    report = on_progress or (lambda f, s: None)
    examples = dataset_examples(model, layer, images, on_progress=lambda f, s: report(0.2 * f, s))
    parts = []
    for start in range(0, count, chunk):
        chans = list(range(start, min(start + chunk, count)))
        def inner(f, s, start=start, n=len(chans)):
            report(0.2 + 0.8 * (start + f * n) / count,
                   f"{layer}: channels {start + 1}–{start + n} of {count}, gradient ascent {f:.0%}")
        parts.append(visualize(model, layer, chans, mean=mean, std=std, on_progress=inner,
                               init=np.asarray(pixels)[examples.indices[chans, 0]]))
    report(1.0, f"{layer}: done")
    return LayerViews(layer, np.concatenate([p.images for p in parts]),
                      np.concatenate([p.activations for p in parts]), examples,
                      np.asarray(pixels)[examples.indices])


def to_bytes(views: dict[str, LayerViews], weights_sha256: str) -> bytes:
    """The ``.npz`` file's bytes (compressed, numpy arrays only). Each test image used as an example
    is stored once (``pixel_indices``, ``pixels``) however many channels it excites."""
    used = np.unique(np.concatenate([v.examples.indices.ravel() for v in views.values()]))
    pixels = {}
    for v in views.values():
        for i, p in zip(v.examples.indices.ravel(), v.example_pixels.reshape(-1, 28, 28)):
            pixels[int(i)] = p
    arrays = {"format": np.int64(FORMAT), "weights_sha256": np.str_(weights_sha256),
              "layers": np.array(list(views), dtype=np.str_), "pixel_indices": used.astype(np.int32),
              "pixels": np.stack([pixels[int(i)] for i in used]).astype(np.uint8)}
    for name, v in views.items():
        arrays[f"{name}/images"] = v.images.astype(np.uint8)
        arrays[f"{name}/activations"] = v.activations.astype(np.float32)
        arrays[f"{name}/indices"] = v.examples.indices.astype(np.int32)
        arrays[f"{name}/example_activations"] = v.examples.activations.astype(np.float32)
        arrays[f"{name}/boxes"] = v.examples.boxes.astype(np.int8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def read(path: str | Path, weights_sha256: str) -> dict[str, LayerViews] | None:
    """The layers' views stored in ``path``, or None when the file is missing, unreadable, of
    another format, or for other weights."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["format"]) != FORMAT or str(f["weights_sha256"]) != weights_sha256:
                log.info("ignoring %s: made for other weights or another format", path)
                return None
            where = {int(i): k for k, i in enumerate(f["pixel_indices"])}
            pixels = f["pixels"]
            out = {}
            for name in (str(n) for n in f["layers"]):
                indices = f[f"{name}/indices"].astype(np.int64)
                examples = DatasetExamples(indices, f[f"{name}/example_activations"],
                                           f[f"{name}/boxes"].astype(np.int64))
                out[name] = LayerViews(name, f[f"{name}/images"], f[f"{name}/activations"], examples,
                                       pixels[np.vectorize(where.__getitem__, otypes=[np.int64])(indices)])
            return out
    except (OSError, KeyError, ValueError) as exc:
        log.info("cannot read %s (%s)", path, exc)
        return None


def shipped_path(checkpoint: str | Path) -> Path:
    """``trained/<name>.channels.npz`` for checkpoint ``trained/<name>.safetensors`` (or ``.json``)."""
    p = Path(checkpoint)
    return p.with_name(p.name.split(".")[0] + SUFFIX)


def cache_path(weights_sha256: str, layer: str) -> Path:
    """``$NNVIZ_CACHE_DIR/channels/<weights_sha256>-<layer>.npz`` (default ``~/.cache/nnviz``)."""
    return cache_dir() / "channels" / f"{weights_sha256}-{layer}.npz"


def stored_layer(weights_sha256: str, layer: str, checkpoint: str | Path | None = None) -> LayerViews | None:
    """``layer``'s views from the file shipped beside ``checkpoint`` or from the disk cache, or None."""
    candidates = ([shipped_path(checkpoint)] if checkpoint is not None else []) + [cache_path(weights_sha256, layer)]
    for path in candidates:
        views = read(path, weights_sha256) if path.is_file() else None
        if views is not None and layer in views:
            return views[layer]
    return None


def load_or_compute(model: nn.Module, weights_sha256: str, layer: str, test_set: Callable[[], tuple],
                    checkpoint: str | Path | None = None, mean: float | None = None, std: float | None = None,
                    on_progress: Progress | None = None) -> LayerViews:
    """``layer``'s views: shipped file, else disk cache, else computed (``test_set()`` is called only
    then, returning ``(images (N, 1, 28, 28) normalised, pixels (N, 28, 28) uint8)``; about 3 s plus
    0.1–0.3 s per channel on a 2-core CPU) and written to the disk cache (a cache that cannot be
    written only costs time later).

    Raises:
        ValueError: unknown layer; whatever ``test_set`` raises (e.g. DatasetUnavailable).
    """
    views = stored_layer(weights_sha256, layer, checkpoint)
    if views is not None:
        return views
    images, pixels = test_set()
    views = compute_layer(model, layer, images, pixels, mean=mean, std=std, on_progress=on_progress)
    try:
        atomic_write_bytes(cache_path(weights_sha256, layer), to_bytes({layer: views}, weights_sha256), durable=False)
    except OSError as exc:
        log.warning("cannot cache the channel views in %s (%s)", cache_path(weights_sha256, layer), exc)
    return views


def write_shipped(name: str, images: torch.Tensor, pixels: np.ndarray, layers: list[str] | None = None,
                  on_progress: Progress | None = None) -> Path:
    """Compute the views of checkpoint ``name`` (``layers``, default :func:`channel_layers` plus each
    convolution's raw output) and write them beside it; returns the path.

    Raises:
        nnviz.checkpoints.CheckpointError: no such checkpoint.
    """
    from nnviz.checkpoints import load_checkpoint, resolve_checkpoint

    model, card = load_checkpoint(name)
    norm = card.get("normalization", {})
    mean = norm.get("mean", [None])[0]
    std = norm.get("std", [None])[0]
    if layers is None:
        convs = [n for n, m in _children(model) if isinstance(m, nn.Conv2d)]
        layers = list(dict.fromkeys(convs + channel_layers(model)))
    views = {layer: compute_layer(model, layer, images, pixels, mean=mean, std=std, chunk=64, on_progress=on_progress)
             for layer in layers}
    path = shipped_path(resolve_checkpoint(name))
    atomic_write_bytes(path, to_bytes(views, card["weights_sha256"]))
    return path
