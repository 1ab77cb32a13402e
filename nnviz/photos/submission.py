"""A competition submission from a trained head: one row of class probabilities per test photo.

The Conser-vision format (DrivenData): a CSV whose first column is ``id`` and then one column per
class, in the order of the training labels' columns, each row a probability distribution
(summing to 1). The test photos are listed in ``test_features.csv`` (``id``, ``filepath``,
``site``), paths relative to its folder.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from nnviz.photos.features import FeatureCache, extract_features
from nnviz.photos.labelled import DatasetError, photo_path, read_csv
from nnviz.photos.transfer import head_probabilities


@dataclass
class Submission:
    """``ids`` (N,), ``probabilities`` ``(N, K)`` float64 rows summing to 1, ``classes`` (K,), and
    ``errors`` ``{id: message}`` for photos that could not be read (their row is uniform, 1/K each,
    the answer that costs least log loss when nothing is known)."""

    ids: list[str]
    probabilities: np.ndarray
    classes: list[str]
    errors: dict[str, str] = field(default_factory=dict)

    def to_csv(self) -> str:
        """The CSV text: header ``id,<class 1>,…``, then one row per photo, 17 significant digits
        (a float64 round-trips), rows renormalised so they sum to 1 to within 1e-12."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", *self.classes])
        for i, row in zip(self.ids, self.probabilities):
            row = row / row.sum()
            writer.writerow([i, *(f"{p:.17g}" for p in row)])
        return out.getvalue()


def read_test_features(features_csv: str | Path, root: str | Path | None = None) -> tuple[list[str], list[Path]]:
    """``(ids, paths)`` from a ``test_features.csv`` (columns ``id``, ``filepath``; paths relative
    to ``root``, default the CSV's folder).

    Raises:
        nnviz.photos.labelled.DatasetError: unreadable CSV, missing columns, a path leaving the folder.
    """
    features_csv = Path(features_csv)
    root = Path(root) if root is not None else features_csv.parent
    rows = read_csv(features_csv)
    if not rows or not {"id", "filepath"} <= set(rows[0]):
        raise DatasetError(f"{features_csv.name} needs the columns id and filepath")
    return [r["id"] for r in rows], [photo_path(root, r) for r in rows]


def predict_submission(head: nn.Module, card: dict, ids: list[str], paths: list[Path],
                       model: nn.Module | None = None, cache: FeatureCache | None = None,
                       on_progress: Callable[[int, int], None] | None = None) -> Submission:
    """Run the photos through the backbone (:func:`nnviz.photos.features.extract_features`) and the head.

    Args:
        head, card: from :func:`nnviz.photos.transfer.load_head` (or a just-trained
            :class:`~nnviz.photos.transfer.HeadJob`).
        ids, paths: the test photos, e.g. from :func:`read_test_features`.

    Returns:
        :class:`Submission` with one row per id, in the given order, columns in the card's class order.
    """
    classes = list(card["classes"])
    feats = extract_features(paths, model=model, cache=cache, on_progress=on_progress, names=ids)
    probs = np.full((len(ids), len(classes)), 1.0 / len(classes))
    if feats.ok.any():
        probs[feats.ok] = head_probabilities(head, feats.values[feats.ok])
    return Submission(list(ids), probs, classes, {ids[i]: msg for i, msg in feats.errors.items()})
