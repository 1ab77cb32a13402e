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

from nnviz.files import atomic_write_bytes


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

# CIFAR-10 (Krizhevsky 2009): 32×32 colour photos, 5,000 train + 1,000 test per class. Read from
# JPEG re-encodings of the official images (``cifar10_{train,test}_jpg.tar.gz``, folders
# ``<split>/<class>/NNNN.jpg``); decoded once into ``<data root>/cifar10/cifar10-<split>.npz``.
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_ANIMALS = ("bird", "cat", "deer", "dog", "frog", "horse")
CIFAR10_FILES = ("cifar10_train_jpg.tar.gz", "cifar10_test_jpg.tar.gz")
# Per-channel (R, G, B) mean and std of the decoded JPEG training images of the classes used,
# pixels in [0, 1], computed with nnviz.data.channel_stats (for all ten classes close to the usual
# 0.4914/0.4822/0.4465 and 0.2470/0.2435/0.2616 of the official binary files).
DATASETS["cifar10-animals"] = DatasetInfo(
    "cifar10-animals", "CIFAR-10 animals (6 classes, colour photos)", CIFAR10_ANIMALS,
    (0.4879, 0.4660, 0.3995), (0.2364, 0.2315, 0.2407), (3, 32, 32), "cifar10", CIFAR10_FILES)
DATASETS["cifar10"] = DatasetInfo(
    "cifar10", "CIFAR-10 (10 classes, colour photos)", CIFAR10_CLASSES,
    (0.4913, 0.4821, 0.4465), (0.2452, 0.2428, 0.2606), (3, 32, 32), "cifar10", CIFAR10_FILES)


# Images in each training split, known without loading it (the official split sizes).
TRAIN_SIZES = {"mnist": 60_000, "fashion-mnist": 60_000, "cifar10": 50_000, "cifar10-animals": 30_000}


class DatasetUnavailable(RuntimeError):
    """The dataset's files are neither in the data root nor downloadable (e.g. offline).

    ``str(exc)`` names the folder and files (for the server's log and the command line);
    ``exc.plain`` is one sentence for a student's page (:func:`missing_sentence`)."""

    def __init__(self, message: str, plain: str | None = None):
        super().__init__(message)
        self.plain = plain or message


def missing_sentence(name: str) -> str:
    """One plain sentence saying that dataset ``name`` is missing and how to get it."""
    title = DATASETS[name].title if name in DATASETS else name
    return f"The {title} dataset is not on this server: run `python -m nnviz data {name}` to download it."


def is_available(name: str, root: Path | None = None) -> bool:
    """Whether dataset ``name``'s files are in the data root (nothing is downloaded or decoded):
    for MNIST and Fashion-MNIST the four official files (gzipped or not) in ``<folder>/raw/``,
    for the CIFAR-10 sets the decoded cache or a JPEG tarball of each split."""
    info = dataset_info(name)
    root = Path(root) if root is not None else data_root()
    if info.folder == "cifar10":
        return all((root / "cifar10" / f"cifar10-{split}.npz").is_file()
                   or any((d / f"cifar10_{split}_jpg.tar.gz").is_file() for d in _cifar10_sources(root))
                   for split in ("train", "test"))
    raw = root / info.folder / "raw"
    return all((raw / f).is_file() or (raw / f.removesuffix(".gz")).is_file() for f in info.files)


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


def train_set_size(name: str) -> int:
    """Images in ``name``'s training split: :data:`TRAIN_SIZES` for the built-in datasets (no
    loading), else counted by loading it.

    Raises:
        DatasetUnavailable, ValueError: as :func:`load_tensors`, for a dataset not in the table.
    """
    n = TRAIN_SIZES.get(name)
    return n if n is not None else len(load_tensors(name, train=True)[1])


def load_torchvision_dataset(name: str, train: bool, root: Path | None = None):
    """The torchvision dataset object (PIL images, int labels) for ``name``'s train or test split.

    Raises:
        DatasetUnavailable: the files are missing and could not be downloaded; the message names
            the folder and the files to put there.
        ValueError: unknown dataset name.
    """
    from torchvision import datasets

    info = dataset_info(name)
    if info.folder == "cifar10":
        raise ValueError(f"{name} has no torchvision dataset here; use load_tensors({name!r}, train) "
                         "or load_cifar10_pixels(train)")
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
            f"(or set NNVIZ_DATA_DIR to a folder that has {info.folder}/raw/ with them).",
            missing_sentence(name)) from exc


_TENSOR_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
_TENSOR_LOCK = threading.Lock()


def load_tensors(name: str, train: bool, root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole split as normalised tensors, cached per process.

    Returns:
        images ``(N, 1, 28, 28)`` float32, ``(pixel/255 - mean) / std``; labels ``(N,)`` int64.
        For MNIST N is 60,000 (train) or 10,000 (test). The tensors are shared: do not modify them.
        For the CIFAR-10 sets images are ``(N, 3, 32, 32)``, normalised per channel; labels index
        ``dataset_info(name).classes`` (for ``cifar10-animals`` N is 30,000 or 6,000).

    Raises:
        DatasetUnavailable, ValueError: as :func:`load_torchvision_dataset`.
    """
    root = Path(root) if root is not None else data_root()
    key = (name, train, str(root))
    with _TENSOR_LOCK:
        if key not in _TENSOR_CACHE:
            info = dataset_info(name)
            if info.folder == "cifar10":
                _TENSOR_CACHE[key] = _cifar10_tensors(info, train, root)
                return _TENSOR_CACHE[key]
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


def _cifar10_sources(root: Path) -> list[Path]:
    """Folders that may hold the CIFAR-10 JPEG tarballs: the data root's ``cifar10/`` and
    ``$NNVIZ_CIFAR10_DIR`` (e.g. a development data folder)."""
    folders = [root / "cifar10"]
    if os.environ.get("NNVIZ_CIFAR10_DIR"):
        folders.append(Path(os.environ["NNVIZ_CIFAR10_DIR"]).expanduser())
    return folders


def load_cifar10_pixels(train: bool, root: Path | None = None):
    """All ten CIFAR-10 classes of one split as uint8 pixels, decoded once and cached on disk.

    Returns:
        ``(images, labels)``: numpy ``(N, 32, 32, 3)`` uint8 RGB and ``(N,)`` int64 indices into
        :data:`CIFAR10_CLASSES`; N is 50,000 (train) or 10,000 (test), ordered by class then file.

    The first call decodes the JPEG tarball (about 20 s for the training split on 2 cores) into
    ``<root>/cifar10/cifar10-<split>.npz``, written atomically; later calls read that file.

    Raises:
        DatasetUnavailable: no tarball in any of :func:`_cifar10_sources`.
    """
    import io
    import tarfile

    import numpy as np
    from PIL import Image

    root = Path(root) if root is not None else data_root()
    split = "train" if train else "test"
    cache = root / "cifar10" / f"cifar10-{split}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as f:
            return f["images"], f["labels"]
    name = f"cifar10_{split}_jpg.tar.gz"
    tarball = next((d / name for d in _cifar10_sources(root) if (d / name).is_file()), None)
    if tarball is None:
        return _cifar10_from_torchvision(train, root, name)
    found = []
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and len(parts) == 3 and parts[1] in CIFAR10_CLASSES and parts[2].endswith(".jpg"):
                with Image.open(io.BytesIO(tar.extractfile(member).read())) as img:
                    found.append((CIFAR10_CLASSES.index(parts[1]), parts[2], np.asarray(img.convert("RGB"))))
    found.sort(key=lambda t: (t[0], t[1]))
    images = np.stack([t[2] for t in found]).astype(np.uint8)
    labels = np.array([t[0] for t in found], dtype=np.int64)
    buffer = io.BytesIO()
    np.savez(buffer, images=images, labels=labels)
    atomic_write_bytes(cache, buffer.getvalue())
    return images, labels


def _cifar10_from_torchvision(train: bool, root: Path, tarball_name: str):
    """The official CIFAR-10 python batches through ``torchvision.datasets.CIFAR10(download=True)``
    (local files with the right MD5 first, download otherwise), as ``(N, 32, 32, 3)`` uint8 RGB
    and ``(N,)`` int64, for machines that have internet but not the JPEG tarballs.

    Raises:
        DatasetUnavailable: neither the tarball nor torchvision's files could be had.
    """
    import numpy as np
    from torchvision import datasets

    try:
        ds = datasets.CIFAR10(root=str(root / "cifar10"), train=train, download=True)
    except Exception as exc:  # URLError, RuntimeError, OSError: the files are not to be had
        raise DatasetUnavailable(
            f"CIFAR-10 is not available: {tarball_name} was not found in any of "
            f"{', '.join(str(d) for d in _cifar10_sources(root))}, and torchvision could not download it "
            f"({type(exc).__name__}). Put the JPEG tarballs there (or set NNVIZ_CIFAR10_DIR to their "
            "folder).", missing_sentence("cifar10")) from exc
    return np.asarray(ds.data, dtype=np.uint8), np.asarray(ds.targets, dtype=np.int64)


def _cifar10_tensors(info: DatasetInfo, train: bool, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """``info``'s classes of CIFAR-10 as normalised ``(N, 3, 32, 32)`` float32 and ``(N,)`` int64."""
    import numpy as np

    pixels, labels = load_cifar10_pixels(train, root)
    wanted = [CIFAR10_CLASSES.index(c) for c in info.classes]
    keep = np.isin(labels, wanted)
    remap = np.full(len(CIFAR10_CLASSES), -1, dtype=np.int64)
    remap[wanted] = np.arange(len(wanted))
    x = torch.from_numpy(pixels[keep]).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    return ((x - mean) / std).contiguous(), torch.from_numpy(remap[labels[keep]])


def channel_stats(pixels) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 ``(N, H, W, C)`` pixels scaled to [0, 1] (how the
    normalisation constants above were computed)."""
    x = torch.as_tensor(pixels).to(torch.float64).div_(255.0)
    dims = tuple(range(x.ndim - 1))
    return tuple(round(v, 4) for v in x.mean(dims).tolist()), tuple(round(v, 4) for v in x.std(dims).tolist())
