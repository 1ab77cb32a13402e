"""Transfer learning: a classifier of your own on top of a frozen ImageNet network.

The recipe of the dog-breed and camera-trap projects: run every labelled photo once through the
pretrained EfficientNet-Lite0 without its last layer, keep the 1280 pooled features of each
(cached per image, so a second run is instant), and train only a new linear layer — the *head* —
from those features to your classes. Training the head takes seconds on a CPU because the
expensive part, the backbone, never changes.

Labelled photos come as one folder per class (``cats/…jpg``, ``dogs/…jpg``) or in the
Conser-vision layout: ``train_features.csv`` (``id``, ``filepath``, ``site``) and
``train_labels.csv`` (``id`` and one 0/1 column per class). The held-out split is by ``site``
where one is given, so that no camera's photos are on both sides: otherwise the head can score
well by recognising the background, which says nothing about new cameras.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnviz import imagenet
from nnviz.files import atomic_write_bytes
from nnviz.evaluation import confusion_matrix
from nnviz.images import ImageReadError, open_image
from nnviz.models import build_model
from nnviz.training import EpochEnd, TrainConfig, run_fit

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
BACKBONE = "efficientnet-lite0"
# The head's recipe: AdamW with a one-cycle schedule over 30 epochs and a little weight decay.
# On 1280 features a linear layer converges in well under a second per epoch on a CPU.
HEAD_CONFIG = TrainConfig(epochs=30, batch_size=64, learning_rate=3e-3, optimizer="adam", schedule="onecycle",
                          weight_decay=1e-3)


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

    def subset(self, keep: np.ndarray) -> LabelledPhotos:
        """The photos at indices ``keep`` (int array), same classes."""
        keep = np.asarray(keep, dtype=np.int64)
        return LabelledPhotos([self.paths[i] for i in keep], self.labels[keep], self.classes,
                              [self.ids[i] for i in keep], [self.sites[i] for i in keep] if self.sites else None)


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


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
        raise DatasetError(f"found {len(classes)} class folder(s) with images in {root.name}/; a classifier needs "
                           "at least two: put each class's photos in its own folder (e.g. cats/, dogs/)")
    return LabelledPhotos(paths, np.array(labels, dtype=np.int64), classes,
                          [str(p.relative_to(root)) for p in paths])


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read {path.name}: {exc}") from exc


def read_conservision(features_csv: str | Path, labels_csv: str | Path, root: str | Path | None = None) -> LabelledPhotos:
    """The Conser-vision layout: ``train_features.csv`` with columns ``id``, ``filepath`` (relative
    to ``root``, default the CSV's folder) and optionally ``site``; ``train_labels.csv`` with ``id``
    and one 0/1 column per class (exactly one 1 per row).

    Raises:
        DatasetError: missing columns, ids without labels, rows without exactly one 1, missing files.
    """
    features_csv, labels_csv = Path(features_csv), Path(labels_csv)
    root = Path(root) if root is not None else features_csv.parent
    feats, labs = _read_csv(features_csv), _read_csv(labels_csv)
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
        path = (root / row["filepath"]).resolve()
        if root.resolve() not in path.parents:
            problems.append(f"{row['id']}: the file path {row['filepath']!r} leaves the data folder")
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


# --- features ---------------------------------------------------------------------------------


class FeatureCache:
    """Backbone features per image on disk: ``<folder>/<sha256 of the file's bytes>.npy``, so the
    same photo uploaded again (under any name) is not run through the backbone twice.

    Default folder: ``$NNVIZ_DATA_DIR/features/efficientnet-lite0`` (``./data/…``).
    """

    def __init__(self, folder: str | Path | None = None):
        from nnviz.data import data_root

        self.folder = Path(folder) if folder is not None else data_root() / "features" / BACKBONE

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        try:
            v = np.load(self.path(key), allow_pickle=False)
        except (OSError, ValueError):
            return None
        return v if v.shape == (imagenet.FEATURE_DIM,) and v.dtype == np.float32 else None

    def put(self, key: str, features: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(features, dtype=np.float32), allow_pickle=False)
        # Atomic, so a concurrent reader never sees half a file; not durable: a lost cache entry
        # is just recomputed.
        atomic_write_bytes(self.path(key), buffer.getvalue(), durable=False)


@torch.no_grad()
def backbone_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pooled penultimate features: ``(N, 3, 224, 224)`` float32 in [-1, 1] → ``(N, 1280)``
    float32, ≥ 0 (ReLU6 activations averaged over the 7 × 7 grid) — the classifier's input."""
    device = next(model.parameters()).device
    return model.forward_head(model.forward_features(x.to(device)), pre_logits=True).cpu()


@dataclass
class Features:
    """Features of a list of files: ``values`` ``(N, 1280)`` float32 (rows of unreadable files are
    zero), ``ok`` ``(N,)`` bool, ``errors`` ``{index: message}``, ``from_cache`` count, ``seconds``."""

    values: np.ndarray
    ok: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)
    from_cache: int = 0
    seconds: float = 0.0


def extract_features(paths: list[str | Path], model: nn.Module | None = None, cache: FeatureCache | None = None,
                     batch_size: int = 8, on_progress: Callable[[int, int], None] | None = None,
                     names: list[str] | None = None) -> Features:
    """Run each image once through the frozen backbone (:func:`backbone_features`).

    Args:
        paths: image files.
        model: the network from :func:`nnviz.imagenet.load_efficientnet_lite0` (default: loaded).
        cache: where to look up and store features (None: no cache).
        batch_size: images per forward pass; 8 was fastest on a 2-core CPU (larger batches
            spill the caches: 32 ran at about 0.7× the speed).
        on_progress: called as ``on_progress(done, total)`` after each batch.
        names: how to call each file in error messages (default: the path).

    Returns:
        :class:`Features`. A file that is not a usable image (see :func:`nnviz.images.open_image`
        and :func:`nnviz.imagenet.preprocess`) gets a message in ``errors`` and the others go on.
    """
    model = model if model is not None else imagenet.load_efficientnet_lite0()
    n = len(paths)
    out = Features(np.zeros((n, imagenet.FEATURE_DIM), np.float32), np.zeros(n, bool))
    start = time.perf_counter()
    pending: list[tuple[int, str | None, torch.Tensor]] = []

    def flush():
        if pending:
            feats = backbone_features(model, torch.stack([t for _, _, t in pending])).numpy()
            for (i, key, _), f in zip(pending, feats):
                out.values[i], out.ok[i] = f, True
                if cache is not None and key is not None:
                    cache.put(key, f)
            pending.clear()

    for i, path in enumerate(paths):
        label = names[i] if names else str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            out.errors[i] = f"{label}: cannot read the file ({exc.strerror or exc})"
            continue
        key = hashlib.sha256(data).hexdigest() if cache is not None else None
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            out.values[i], out.ok[i] = cached, True
            out.from_cache += 1
        else:
            try:
                pending.append((i, key, imagenet.preprocess(open_image(data, label), label)))
            except ImageReadError as exc:
                out.errors[i] = str(exc)
        if len(pending) >= batch_size:
            flush()
            if on_progress:
                on_progress(i + 1, n)
        elif on_progress and (i + 1) % batch_size == 0:
            on_progress(i + 1, n)
    flush()
    if on_progress:
        on_progress(n, n)
    out.seconds = time.perf_counter() - start
    return out


# --- the held-out split ---------------------------------------------------------------------


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


# --- the head -------------------------------------------------------------------------------


def head_architecture(num_classes: int) -> dict:
    """The head as an architecture dict for :func:`nnviz.models.build_model`: one linear layer
    from the 1280 features to ``num_classes`` logits (an MLP without hidden layers)."""
    return {"kind": "mlp", "hidden": [], "activation": "relu", "in_features": imagenet.FEATURE_DIM,
            "num_classes": int(num_classes), "dropout": 0.0}


def make_head(num_classes: int, seed: int = 0) -> nn.Module:
    """A new, randomly initialised head (PyTorch's default init, seeded)."""
    torch.manual_seed(seed)
    return build_model(head_architecture(num_classes))


@dataclass
class HeadMetrics:
    """A head's figures on a set of photos: ``accuracy`` in [0, 1], ``log_loss`` (mean negative log
    probability of the true class, nats, probabilities clipped to [1e-15, 1] as scikit-learn's
    ``log_loss`` and the competition do), ``confusion`` ``(K, K)`` int64 (rows: true class,
    columns: predicted), ``n`` photos."""

    accuracy: float
    log_loss: float
    confusion: np.ndarray
    n: int


@torch.no_grad()
def head_probabilities(head: nn.Module, features: np.ndarray | torch.Tensor) -> np.ndarray:
    """Softmax of the head: ``(N, 1280)`` features → ``(N, K)`` float64, rows summing to 1."""
    head.eval()
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    device = next(head.parameters()).device
    return torch.softmax(head(x.to(device)).double(), dim=1).cpu().numpy()


def evaluate_head(head: nn.Module, features: np.ndarray, labels: np.ndarray) -> HeadMetrics:
    """Accuracy, log loss and confusion matrix of ``head`` on ``(N, 1280)`` features and ``(N,)`` labels."""
    probs = head_probabilities(head, features)
    labels = np.asarray(labels, dtype=np.int64)
    pred = probs.argmax(1)
    confusion = confusion_matrix(labels, pred, probs.shape[1])
    p_true = np.clip(probs[np.arange(len(labels)), labels], 1e-15, 1.0)
    n = len(labels)
    return HeadMetrics(float((pred == labels).mean()) if n else math.nan,
                       float(-np.log(p_true).mean()) if n else math.nan, confusion, n)


class HeadJob:
    """Training a head on extracted features, as a job for :class:`nnviz.jobs.worker.TrainingWorker`
    (``job(on_event, should_stop)``) or run directly with :meth:`run`.

    Args:
        features: ``(N, 1280)`` float32 of the usable photos.
        photos: their labels, classes, ids and sites (same order as ``features``).
        split: which rows train and which are held out (:func:`split_photos`).
        config: the training recipe (default :data:`HEAD_CONFIG`); ``augment`` must be off.

    After the run ``model`` is the trained head (eval mode), ``card`` its model card and
    ``metrics`` its :class:`HeadMetrics` on the held-out photos.
    """

    def __init__(self, features: np.ndarray, photos: LabelledPhotos, split: Split, config: TrainConfig | None = None):
        self.config = config or HEAD_CONFIG
        if self.config.augment:
            raise ValueError("augmentation works on images; a head trains on features, so turn it off")
        x = torch.as_tensor(np.asarray(features, dtype=np.float32))
        y = torch.as_tensor(photos.labels, dtype=torch.int64)
        self.train = (x[split.train], y[split.train])
        self.test = (x[split.test], y[split.test])
        self.photos, self.split = photos, split
        self.model = make_head(len(photos.classes), self.config.seed)
        self.card: dict | None = None
        self.metrics: HeadMetrics | None = None
        self.epochs: list[EpochEnd] = []

    def __call__(self, on_event, should_stop):
        """Train the head with :func:`nnviz.training.run_fit` on the features; returns ``(head, card)``."""
        result = run_fit(self.model, self.config, self.train, self.test, "cpu", on_event=on_event,
                         should_stop=should_stop)
        self.epochs = result.epochs
        return self.finish(result.elapsed_s)

    def run(self) -> tuple[nn.Module, dict]:
        """Train to the end without a worker; returns ``(head, card)``."""
        return self(lambda e: None, lambda: False)

    def finish(self, seconds: float) -> tuple[nn.Module, dict]:
        self.model.eval()
        self.metrics = evaluate_head(self.model, *(t.numpy() for t in self.test))
        self.card = head_card(self.photos, self.split, self.config, self.metrics, self.epochs, seconds)
        return self.model, self.card


def head_card(photos: LabelledPhotos, split: Split, config: TrainConfig, metrics: HeadMetrics,
              epochs: list[EpochEnd], seconds: float) -> dict:
    """The model card of a trained head (saved with :func:`nnviz.checkpoints.save_checkpoint`)."""
    counts = np.bincount(photos.labels, minlength=len(photos.classes))
    return {
        "task": "transfer-head",
        "dataset": "photos",
        "architecture": head_architecture(len(photos.classes)),
        "backbone": {"name": BACKBONE, "timm_model": "tf_efficientnet_lite0",
                     "weights": imagenet.WEIGHTS_PACKAGE, "features": imagenet.FEATURE_DIM, "frozen": True},
        "preprocessing": imagenet.preprocessing_card(),
        "classes": list(photos.classes),
        "photos_per_class": {c: int(k) for c, k in zip(photos.classes, counts)},
        "split": {"description": split.description, "n_train": int(len(split.train)), "n_test": int(len(split.test))},
        "hyperparameters": config.to_dict(),
        "metrics": {"test_accuracy": metrics.accuracy, "test_log_loss": metrics.log_loss,
                    "confusion": metrics.confusion.tolist(), "epochs_completed": len(epochs)},
        "history": [vars(e) for e in epochs],
        "training_time_s": round(seconds, 2),
        "torch_version": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def load_head(name_or_path: str | Path) -> tuple[nn.Module, dict]:
    """A saved head and its card (see :func:`nnviz.checkpoints.load_checkpoint`).

    Raises:
        nnviz.checkpoints.CheckpointError: missing, damaged, or not a transfer head.
    """
    from nnviz.checkpoints import CheckpointError, load_checkpoint

    model, card = load_checkpoint(name_or_path)
    if card.get("task") != "transfer-head":
        raise CheckpointError(f"{card.get('name', name_or_path)} is not a head trained on photos "
                              f"(its task is {card.get('task')!r})")
    return model, card

