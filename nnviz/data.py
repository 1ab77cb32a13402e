"""Datasets: where they live on disk, how they are loaded, and how they are normalised.

Loading goes through torchvision's dataset classes with ``download=True``: torchvision uses
local files whose MD5 matches its list and downloads only what is missing, so the same code
works offline (files already in the data root) and on a user's machine with internet.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class DatasetInfo:
    """What the app needs to know about a dataset: classes, image shape and normalisation."""

    name: str
    title: str
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_shape: tuple[int, int, int]
    folder: str
    files: tuple[str, ...]


DATASETS = {
    # Mean and std of the 60,000 training images, pixels scaled to [0, 1] (the values used by
    # pytorch/examples mnist/main.py).
    "mnist": DatasetInfo(
        "mnist", "MNIST handwritten digits", tuple(str(d) for d in range(10)),
        (0.1307,), (0.3081,), (1, 28, 28), "MNIST",
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ),
    # Mean and std of the 60,000 Fashion-MNIST training images (Xiao et al. 2017), pixels in [0, 1].
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", "Fashion-MNIST clothing",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
         "Ankle boot"),
        (0.2860,), (0.3530,), (1, 28, 28), "FashionMNIST",
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ),
}


class DatasetUnavailable(RuntimeError):
    """The dataset's files are neither in the data root nor downloadable (e.g. offline)."""


def data_root() -> Path:
    """The folder datasets are read from and downloaded to: ``$NNVIZ_DATA_DIR``, else ``./data``."""
    return Path(os.environ.get("NNVIZ_DATA_DIR") or "data").expanduser().resolve()


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name``.

    Raises:
        ValueError: unknown dataset name.
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}") from None


def load_torchvision_dataset(name: str, train: bool, root: Path | None = None):
    """The torchvision dataset object (PIL images, int labels) for ``name``'s train or test split.

    Raises:
        DatasetUnavailable: the files are missing and could not be downloaded; the message names
            the folder and the files to put there.
        ValueError: unknown dataset name.
    """
    from torchvision import datasets

    info = dataset_info(name)
    root = Path(root) if root is not None else data_root()
    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[name]
    try:
        root.mkdir(parents=True, exist_ok=True)
        return cls(root=str(root), train=train, download=True)
    except Exception as exc:  # URLError, RuntimeError, OSError: all mean "files not here"
        raw = root / info.folder / "raw"
        raise DatasetUnavailable(
            f"{info.title} is not available: could not find or download it "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}). "
            f"Put the four official files {', '.join(info.files)} into {raw} "
            f"(or set NNVIZ_DATA_DIR to a folder that has {info.folder}/raw/ with them)."
        ) from exc


_TENSOR_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
_TENSOR_LOCK = threading.Lock()


def load_tensors(name: str, train: bool, root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole split as normalised tensors, cached per process.

    Returns:
        images ``(N, 1, 28, 28)`` float32, ``(pixel/255 - mean) / std``; labels ``(N,)`` int64.
        For MNIST N is 60,000 (train) or 10,000 (test). The tensors are shared: do not modify them.

    Raises:
        DatasetUnavailable, ValueError: as :func:`load_torchvision_dataset`.
    """
    root = Path(root) if root is not None else data_root()
    key = (name, train, str(root))
    with _TENSOR_LOCK:
        if key not in _TENSOR_CACHE:
            info = dataset_info(name)
            ds = load_torchvision_dataset(name, train, root)
            # The dataset keeps all images as one uint8 tensor; converting it at once is ~100×
            # faster than the per-item PIL transform, and gives the same values as ToTensor+Normalize.
            pixels = ds.data.to(torch.float32).div_(255.0).unsqueeze(1)
            images = (pixels - info.mean[0]) / info.std[0]
            _TENSOR_CACHE[key] = (images.contiguous(), ds.targets.to(torch.int64).clone())
        return _TENSOR_CACHE[key]


def raw_pixels(images: torch.Tensor, name: str) -> torch.Tensor:
    """Undo the normalisation: ``(N, C, H, W)`` float32 → pixels in [0, 1], same shape."""
    info = dataset_info(name)
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    return (images * std + mean).clamp_(0.0, 1.0)
