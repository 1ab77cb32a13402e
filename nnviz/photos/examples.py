"""Photos that ship with the project (``examples/photos/``, see its ``SOURCES.md``): real
Snapshot Serengeti camera-trap photos to try without uploading anything, and a ready-made
labelled set — bird, big cat, antelope — to train a classifier of your own with one click.

``$NNVIZ_EXAMPLE_PHOTOS`` points the photo picker at another folder (e.g. a development data
folder with more photos); the one-click labelled set always comes from the shipped folder.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from nnviz.photos.labelled import is_image_file

SHIPPED = Path(__file__).resolve().parent.parent.parent / "examples" / "photos"


def example_folder() -> Path | None:
    """``$NNVIZ_EXAMPLE_PHOTOS`` when set, else the shipped ``examples/photos``; None if missing."""
    folder = Path(os.environ.get("NNVIZ_EXAMPLE_PHOTOS") or SHIPPED).expanduser()
    return folder if folder.is_dir() else None


def example_photos() -> dict[str, Path]:
    """``{"camera_trap/leopard-1.jpg": path, …}``: the example folder's photos, sorted."""
    folder = example_folder()
    if folder is None:
        return {}
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if is_image_file(p)}


def example_classes(folder: Path = SHIPPED) -> dict[str, list[Path]]:
    """The one-click labelled set, ``{class: [photos]}`` in ``labels.csv``'s order of classes:
    18 camera-trap photos each of *bird*, *big cat* and *antelope* (``example_class`` column)."""
    classes: dict[str, list[Path]] = {}
    with open(folder / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["example_class"]:
                classes.setdefault(row["example_class"], []).append(folder / row["filename"])
    return classes
