"""Real photos for the Photos tests: the shared animal photos and CIFAR-10 JPEGs (extracted once
into the data cache, never into ``shared/``), and small zips built from them."""

from __future__ import annotations

import csv
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from nnviz.data import CIFAR10_ANIMALS as CIFAR_ANIMALS

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
ANIMALS = SHARED / "animals"


def animal_labels() -> list[dict[str, str]]:
    """Rows of ``animals/labels.csv`` (filename, label, conservision_class, …)."""
    with open(ANIMALS / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


def cifar_images(split: str, per_class: int, classes=CIFAR_ANIMALS, start: int = 0) -> dict[str, list[Path]]:
    """``{class: [paths]}``: images ``start`` … ``start + per_class - 1`` of each class of the
    CIFAR-10 ``split`` ("train" or "test"), extracted on first use into ``data/cifar10/``."""
    from nnviz.data import data_root

    dest = data_root() / "cifar10"
    wanted = {c: [dest / split / c / f"{i:04d}.jpg" for i in range(start, start + per_class)] for c in classes}
    missing = {str(p.relative_to(dest)) for ps in wanted.values() for p in ps if not p.is_file()}
    if missing:
        with tarfile.open(SHARED / "cifar10" / f"cifar10_{split}_jpg.tar.gz") as tar:
            for member in tar:
                if member.name in missing and member.isfile():
                    tar.extract(member, dest, filter="data")
    return wanted


def class_folder_zip(images: dict[str, list[Path]], wrapper: str = "photos") -> bytes:
    """A zip with one folder per class (inside a wrapper folder, as zipping a folder makes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for cls, paths in images.items():
            for p in paths:
                z.write(p, f"{wrapper}/{cls}/{p.name}")
    return buf.getvalue()


def submission_zip(paths: list[Path], extra: dict[str, bytes] | None = None) -> tuple[bytes, list[str]]:
    """A zip of unlabelled photos with ``test_features.csv`` (id, filepath, site); returns the zip
    and the ids in CSV order. ``extra`` adds files (name → bytes) that are listed too."""
    buf = io.BytesIO()
    rows, ids = ["id,filepath,site"], []
    with zipfile.ZipFile(buf, "w") as z:
        items = [(f"ZJ{i:04d}", f"test_features/{p.parent.name}_{p.name}", p.read_bytes()) for i, p in enumerate(paths)]
        items += [(f"ZX{i:04d}", f"test_features/{name}", data) for i, (name, data) in enumerate((extra or {}).items())]
        for i, (id_, path, data) in enumerate(items):
            z.writestr(path, data)
            rows.append(f"{id_},{path},S{i % 4:04d}")
            ids.append(id_)
        z.writestr("test_features.csv", "\n".join(rows) + "\n")
    return buf.getvalue(), ids


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run these tests' forward passes on one CPU thread, as the app's pages do: on a shared,
    busy 2-core machine two OpenMP threads wait on each other (measured 1.3 s against 0.03 s per
    photo). The previous setting is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
