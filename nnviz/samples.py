"""A few real MNIST test digits shipped with the app, so that every page has an example input
without the dataset (a school without internet, or before ``python -m nnviz data``).

The file ``nnviz/sample_digits/mnist-test-samples.npz`` holds ~50 official MNIST *test* images,
exactly as in ``t10k-images-idx3-ubyte`` (uint8, 0 = background, 255 = ink), with their labels
and their indices among the 10,000 test images, so that ``mnist:INDEX`` means the same image with
or without the dataset. MNIST is by Yann LeCun and Corinna Cortes, licensed CC BY-SA 3.0 (see
``nnviz/sample_digits/README.md``). :func:`write_samples` made the file from the dataset.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

SAMPLES_FILE = Path(__file__).resolve().parent / "sample_digits" / "mnist-test-samples.npz"
FIRST = 10  # the first test images (0–9): the ones examples and the CLI's help name
PER_CLASS = 4  # and the first of each class
MISTAKES = 6  # and the first test images a shipped network gets wrong
# MNIST's training-set mean and std (as nnviz.data.DATASETS["mnist"]; repeated so that this module
# needs no dataset code).
MEAN, STD = 0.1307, 0.3081
DATA_HINT = "run `python -m nnviz data` to download them"


@dataclass(frozen=True)
class SampleDigits:
    """The shipped test digits: ``pixels`` ``(N, 28, 28)`` uint8 (ink high), ``labels`` ``(N,)``
    int64, ``indices`` ``(N,)`` int64 (their places among the 10,000 MNIST test images, ascending)."""

    pixels: np.ndarray
    labels: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def position(self, test_index: int) -> int | None:
        """Where test image ``test_index`` is among the samples, or None if it is not shipped."""
        at = int(np.searchsorted(self.indices, test_index))
        return at if at < len(self.indices) and int(self.indices[at]) == test_index else None

    def image(self, i: int) -> np.ndarray:
        """Sample ``i``'s pixels ``(28, 28)`` float32 in [0, 1]."""
        return self.pixels[i].astype(np.float32) / 255.0

    def tensor(self, i: int, mean: float = MEAN, std: float = STD) -> torch.Tensor:
        """Sample ``i`` as a network input ``(1, 1, 28, 28)`` float32, ``(pixel − mean) / std``."""
        return ((torch.from_numpy(self.image(i)) - mean) / std)[None, None]


@lru_cache(maxsize=1)
def sample_digits(path: Path = SAMPLES_FILE) -> SampleDigits:
    """The shipped samples (read once; never modify the arrays).

    Raises:
        FileNotFoundError: the file is missing from the installation.
    """
    with np.load(path, allow_pickle=False) as f:
        pixels, labels, indices = f["pixels"], f["labels"].astype(np.int64), f["indices"].astype(np.int64)
    for a in (pixels, labels, indices):
        a.setflags(write=False)
    return SampleDigits(pixels, labels, indices)


def not_shipped(test_index: int) -> str:
    """The plain sentence for a test image that needs the dataset: which images are shipped instead."""
    shipped = ", ".join(str(i) for i in sample_digits().indices[:12])
    return (f"test image #{test_index} is not among the {len(sample_digits())} test images shipped with the app "
            f"({shipped}, …), and the full MNIST test set is not here: {DATA_HINT}.")


def test_image(test_index: int, mean: float = MEAN, std: float = STD) -> tuple[torch.Tensor, np.ndarray, int]:
    """Official MNIST test image ``test_index``: ``(input (1, 1, 28, 28) float32 normalised, pixels
    (28, 28) float32 in [0, 1], label)``, from the full test set when it is in the data root, else
    from the shipped samples.

    Raises:
        IndexError: ``test_index`` is not in 0 … 9,999.
        LookupError: the dataset is missing and the image is not a shipped sample (the message
            says so in one sentence, with the command that downloads the dataset).
    """
    from nnviz.data import DatasetUnavailable, load_tensors, raw_pixels

    if not 0 <= test_index < 10_000:
        raise IndexError(f"MNIST has test images 0 … 9,999, not {test_index}")
    try:
        images, labels = load_tensors("mnist", train=False)
        x = images[test_index:test_index + 1]
        pixels = raw_pixels(x, "mnist")[0, 0].numpy()
        if (mean, std) != (MEAN, STD):  # a network normalised otherwise
            x = ((torch.from_numpy(pixels) - mean) / std)[None, None]
        return x, pixels, int(labels[test_index])
    except DatasetUnavailable:
        samples = sample_digits()
        at = samples.position(test_index)
        if at is None:
            sentence = not_shipped(test_index)
            raise LookupError(sentence[0].upper() + sentence[1:]) from None
        return samples.tensor(at, mean, std), samples.image(at), int(samples.labels[at])


def pick_indices(labels: np.ndarray, wrong: list[np.ndarray]) -> np.ndarray:
    """The test indices to ship, ascending: the first :data:`FIRST` test images, the first
    :data:`PER_CLASS` of each class, and the first :data:`MISTAKES` that each network of ``wrong``
    (boolean ``(10000,)`` masks of its mistakes) gets wrong."""
    picked = set(range(FIRST))
    for k in range(10):
        picked |= set(np.flatnonzero(labels == k)[:PER_CLASS].tolist())
    for mask in wrong:
        picked |= set(np.flatnonzero(mask)[:MISTAKES].tolist())
    return np.array(sorted(picked), dtype=np.int64)


def write_samples(path: Path = SAMPLES_FILE) -> SampleDigits:
    """Make the samples file from the MNIST test set in the data root and the shipped networks
    (digits-cnn, digits-mlp, digits-numpy): see :func:`pick_indices`. Written atomically.

    Raises:
        nnviz.data.DatasetUnavailable: the test set is not in the data root.
    """
    from nnviz.data import load_torchvision_dataset
    from nnviz.files import atomic_write_bytes
    from nnviz.predict import DigitClassifier

    ds = load_torchvision_dataset("mnist", train=False)
    pixels, labels = ds.data.numpy(), ds.targets.numpy()
    x = (torch.from_numpy(pixels).float().div(255)[:, None] - MEAN) / STD
    wrong = []
    for name in ("digits-cnn", "digits-mlp", "digits-numpy"):
        with torch.no_grad():
            wrong.append(DigitClassifier(name).model(x).argmax(1).numpy() != labels)
    idx = pick_indices(labels, wrong)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, pixels=pixels[idx].astype(np.uint8), labels=labels[idx].astype(np.uint8),
                        indices=idx.astype(np.int16))
    atomic_write_bytes(path, buffer.getvalue())
    sample_digits.cache_clear()
    return sample_digits(path)


if __name__ == "__main__":
    made = write_samples()
    print(f"wrote {len(made)} MNIST test images to {SAMPLES_FILE}: indices {made.indices.tolist()}")
