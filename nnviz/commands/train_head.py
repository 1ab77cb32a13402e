"""``python -m nnviz train-head``: transfer learning from the command line — extract the frozen
backbone's features of labelled photos, train a new head, evaluate it on held-out photos, save it.

Photos: ``--data FOLDER`` (one sub-folder per class, or the Conser-vision layout with
``train_features.csv`` and ``train_labels.csv``) or ``--zip FILE`` of either layout.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from nnviz.archives import ArchiveError, extract_zip
from nnviz.checkpoints import CheckpointError, save_checkpoint, save_failure, user_models_dir
from nnviz.photos.features import FeatureCache, extract_features
from nnviz.photos.labelled import DatasetError, find_labelled_photos, split_photos
from nnviz.photos.transfer import HEAD_CONFIG, HeadJob
from nnviz.divergence import Diverged
from nnviz.events import EpochEnd
from nnviz.commands.common import refused


def register(sub) -> None:
    p = sub.add_parser("train-head", help="train a classifier of your own on labelled photos (transfer learning)",
                       description=__doc__.split("\n\n")[0].split(":", 1)[1].strip())
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="folder of labelled photos (class folders or Conser-vision CSVs)")
    src.add_argument("--zip", type=Path, help="zip of labelled photos in either layout")
    p.add_argument("--epochs", type=int, default=HEAD_CONFIG.epochs)
    p.add_argument("--lr", type=float, default=HEAD_CONFIG.learning_rate, help="peak learning rate")
    p.add_argument("--batch-size", type=int, default=HEAD_CONFIG.batch_size)
    p.add_argument("--test-fraction", type=float, default=0.25, help="share of photos held out (by site if given)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, help="feature cache folder (default: data/features/efficientnet-lite0)")
    p.add_argument("--out", type=Path, help="checkpoint path without suffix (default: user_models/photos-head)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint at --out")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def progress_printer(quiet: bool):
    """``on_progress(done, total)`` that prints a one-line progress bar to stderr."""
    def show(done: int, total: int) -> None:
        if not quiet:
            bar = "#" * int(30 * done / max(total, 1))
            print(f"\rfeatures {done}/{total} [{bar:<30}]", end="\n" if done == total else "", file=sys.stderr)
    return show


def run(args: argparse.Namespace) -> int:
    out = args.out or user_models_dir() / "photos-head"
    config = replace(HEAD_CONFIG, epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size, seed=args.seed)
    # Refused before the photos go through the backbone (minutes), not after.
    def check_test_fraction() -> None:
        if not 0 < args.test_fraction < 1:
            raise ValueError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")

    if refused(out, args.overwrite, config.validate, check_test_fraction):
        return 2
    with tempfile.TemporaryDirectory(prefix="nnviz-photos-") as tmp:
        try:
            root = args.data
            if args.zip is not None:
                extract_zip(args.zip, tmp)
                root = Path(tmp)
            photos = find_labelled_photos(root)
        except (ArchiveError, DatasetError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        try:
            feats = extract_features(photos.paths, cache=FeatureCache(args.cache),
                                     on_progress=progress_printer(args.quiet), names=photos.ids)
        except CheckpointError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    for msg in feats.errors.values():
        print(f"skipped: {msg}", file=sys.stderr)
    photos = photos.subset(feats.ok.nonzero()[0])
    values = feats.values[feats.ok]
    try:
        split = split_photos(photos.labels, photos.sites, args.test_fraction, args.seed)
        job = HeadJob(values, photos, split, config)
        if not args.quiet:
            print(f"{len(photos)} photos, {len(photos.classes)} classes; held out {split.description}")

        def on_event(event):
            if isinstance(event, EpochEnd) and not args.quiet:
                print(f"epoch {event.epoch:3d}  train loss {event.train_loss:.4f} acc {event.train_accuracy:.2%}"
                      f"  held-out loss {event.test_loss:.4f} acc {event.test_accuracy:.2%}")

        head, card = job(on_event, lambda: False)
    except (ValueError, Diverged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    m = job.metrics
    print(f"held-out photos: {m.n}, accuracy {m.accuracy:.2%}, log loss {m.log_loss:.4f} "
          f"(chance: {1 / len(photos.classes):.2%})")
    try:
        print(f"saved {save_checkpoint(head, card, out)}")
    except OSError as exc:
        print(f"error: {save_failure(exc)}", file=sys.stderr)
        return 1
    return 0
