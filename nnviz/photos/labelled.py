"""Labelled photos as a student gives them, and which of them are held out.

Two layouts: one folder per class (``cats/…jpg``, ``dogs/…jpg``), or the Conser-vision layout
(DrivenData's camera-trap competition): ``train_features.csv`` (``id``, ``filepath``, ``site``) and
``train_labels.csv`` (``id`` and one 0/1 column per class). A competition's ``test_features.csv``
is read with the same CSV reader and the same path check (:func:`read_csv`, :func:`photo_path`).

The held-out split (:func:`split_photos`) is by ``site`` where one is given, so that no camera's
photos are on both sides: otherwise a classifier can score well by recognising the background,
which says nothing about new cameras.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")


class DatasetError(ValueError):
    """Labelled photos that cannot be used as given; the message says what to fix."""


@dataclass
class LabelledPhotos:
    """A labelled photo collection.

    Attributes:
        paths: image files, one per photo.
        labels: ``(N,)`` int64 class indices into ``classes``.
        classes: class names, in the order of the labels CSV's columns (or folder names, sorted).
        ids: one identifier per photo (the CSV's ``id``, else the path relative to the root).
        sites: camera site per photo (Conser-vision ``site``), or None when not given.
    """

    paths: list[Path]
    labels: np.ndarray
    classes: list[str]
    ids: list[str]
    sites: list[str] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def summary(self) -> str:
        """In words (Markdown): "**60 photos** in 3 classes: bird (20), cat (20), frog (20)." and
        the number of camera sites where given."""
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return (f"**{len(self)} photos** in {len(self.classes)} classes: "
                + ", ".join(f"{c} ({n})" for c, n in zip(self.classes, counts))
                + (f"; {len(set(self.sites))} camera sites." if self.sites else "."))

    def subset(self, keep: np.ndarray) -> LabelledPhotos:
        """The photos at indices ``keep`` (int array), same classes."""
        keep = np.asarray(keep, dtype=np.int64)
        return LabelledPhotos([self.paths[i] for i in keep], self.labels[keep], self.classes,
                              [self.ids[i] for i in keep], [self.sites[i] for i in keep] if self.sites else None)


def is_image_file(path: Path) -> bool:
    """Whether ``path`` is a photo: an image suffix, not hidden, and contents that Pillow recognises
    as an image (only the header is read), so that other bytes named ``.jpg`` are not counted."""
    if not (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")):
        return False
    try:
        with Image.open(path):
            return True
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def _unwrap(root: Path) -> Path:
    """Descend through lone wrapper folders (``photos.zip`` often holds ``photos/…``)."""
    while True:
        entries = [p for p in root.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        else:
            return root


def read_class_folders(root: str | Path) -> LabelledPhotos:
    """One sub-folder per class, its images inside (any depth below it).

    Raises:
        DatasetError: fewer than two class folders with images.
    """
    root = _unwrap(Path(root))
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX")))
    classes, paths, labels = [], [], []
    for folder in folders:
        files = sorted(p for p in folder.rglob("*") if is_image_file(p))
        if files:
            labels += [len(classes)] * len(files)
            classes.append(folder.name)
            paths += files
    if len(classes) < 2:
        raise DatasetError(f"found {len(classes)} class folder(s) with photos; a classifier needs at least two: put "
                           "each class's photos in its own folder (e.g. cats/, dogs/)")
    return LabelledPhotos(paths, np.array(labels, dtype=np.int64), classes,
                          [str(p.relative_to(root)) for p in paths])



def read_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a CSV file (UTF-8, with or without a byte-order mark) as ``{column: text}``.

    Raises:
        DatasetError: the file cannot be read or is not CSV.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read {path.name}: {exc}") from exc


def photo_path(root: Path, row: dict[str, str]) -> Path:
    """The absolute path of a CSV row's ``filepath`` (relative to ``root``), checked to stay inside ``root``.

    Raises:
        DatasetError: the path leaves ``root`` (``../x``, an absolute path, a link outside).
    """
    path = (root / row["filepath"]).resolve()
    if root.resolve() not in path.parents:
        raise DatasetError(f"{row['id']}: the file path {row['filepath']!r} leaves the data folder")
    return path


def read_conservision(features_csv: str | Path, labels_csv: str | Path, root: str | Path | None = None) -> LabelledPhotos:
    """The Conser-vision layout: ``train_features.csv`` with columns ``id``, ``filepath`` (relative
    to ``root``, default the CSV's folder) and optionally ``site``; ``train_labels.csv`` with ``id``
    and one 0/1 column per class (exactly one 1 per row).

    Raises:
        DatasetError: missing columns, ids without labels, rows without exactly one 1, missing files.
    """
    features_csv, labels_csv = Path(features_csv), Path(labels_csv)
    root = Path(root) if root is not None else features_csv.parent
    feats, labs = read_csv(features_csv), read_csv(labels_csv)
    if not feats or not {"id", "filepath"} <= set(feats[0]):
        raise DatasetError(f"{features_csv.name} needs the columns id and filepath (and optionally site)")
    if not labs or "id" not in labs[0] or len(labs[0]) < 3:
        raise DatasetError(f"{labels_csv.name} needs an id column and one 0/1 column per class (at least two)")
    classes = [c for c in labs[0] if c != "id"]
    by_id = {r["id"]: r for r in labs}
    paths, labels, ids, sites, problems = [], [], [], [], []
    for row in feats:
        lab = by_id.get(row["id"])
        if lab is None:
            problems.append(f"{row['id']}: no row in {labels_csv.name}")
            continue
        try:
            onehot = [float(lab[c]) for c in classes]
        except (TypeError, ValueError):
            problems.append(f"{row['id']}: labels are not numbers")
            continue
        if sum(v == 1.0 for v in onehot) != 1 or sum(onehot) != 1.0:
            problems.append(f"{row['id']}: needs exactly one class marked 1")
            continue
        try:
            path = photo_path(root, row)
        except DatasetError as exc:
            problems.append(str(exc))
            continue
        paths.append(path)
        labels.append(onehot.index(1.0))
        ids.append(row["id"])
        sites.append(row.get("site") or "")
    if problems and not paths:
        raise DatasetError("no usable rows: " + "; ".join(problems[:5]))
    if problems:
        raise DatasetError(f"{len(problems)} row(s) cannot be used: " + "; ".join(problems[:5]))
    return LabelledPhotos(paths, np.array(labels, dtype=np.int64), classes, ids,
                          sites if any(sites) else None)


def find_labelled_photos(root: str | Path) -> LabelledPhotos:
    """Read a folder in either layout: Conser-vision when ``train_features.csv`` and
    ``train_labels.csv`` are there (or in a lone wrapper folder), else one folder per class.

    Raises:
        DatasetError: neither layout fits.
    """
    root = _unwrap(Path(root))
    if (root / "train_features.csv").is_file() and (root / "train_labels.csv").is_file():
        return read_conservision(root / "train_features.csv", root / "train_labels.csv", root)
    return read_class_folders(root)


# --- the held-out split ------------------------------------------------------------------------


@dataclass
class Split:
    """Indices of the training and held-out photos, and how they were chosen (in words)."""

    train: np.ndarray
    test: np.ndarray
    description: str


def split_photos(labels: np.ndarray, sites: list[str] | None = None, test_fraction: float = 0.25,
                 seed: int = 0) -> Split:
    """Hold out about ``test_fraction`` of the photos for evaluation.

    With ``sites``: whole sites go to the held-out side (shuffled with ``seed``) until it holds at
    least ``test_fraction`` of the photos, so no camera is on both sides. Without (or with a single
    site): a random split stratified by class, at least one photo per class on each side where
    the class has two or more.

    Raises:
        ValueError: ``test_fraction`` outside (0, 1), or fewer than 2 photos.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if not 0 < test_fraction < 1:
        raise ValueError(f"the held-out fraction must be between 0 and 1, got {test_fraction}")
    if n < 2:
        raise ValueError("at least two photos are needed to hold some out")
    rng = np.random.default_rng(seed)
    if sites is not None and len(set(sites)) > 1:
        site_arr = np.asarray(sites)
        unique = np.array(sorted(set(sites)))
        rng.shuffle(unique)
        held, count = [], 0
        for s in unique[:-1]:  # always leave at least one site for training
            held.append(s)
            count += int((site_arr == s).sum())
            if count >= test_fraction * n:
                break
        test_mask = np.isin(site_arr, held)
        return Split(np.flatnonzero(~test_mask), np.flatnonzero(test_mask),
                     f"by camera site: {len(held)} of {len(unique)} sites held out ({test_mask.sum()} photos), "
                     "so no site is in both the training and the held-out photos")
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(test_fraction * len(idx)))
        k = min(max(k, 1), len(idx) - 1) if len(idx) >= 2 else 0
        test.extend(idx[:k].tolist())
    test_mask = np.zeros(n, bool)
    test_mask[test] = True
    return Split(np.flatnonzero(~test_mask), np.flatnonzero(test_mask),
                 f"random, stratified by class: {test_mask.sum()} of {n} photos held out"
                 + (" (no camera sites given)" if sites is None else " (only one camera site)"))
