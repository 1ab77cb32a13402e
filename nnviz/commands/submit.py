"""``python -m nnviz submit``: predict unlabelled photos with a trained head and write the
competition's submission CSV (``id``, then one probability column per class)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnviz.checkpoints import CheckpointError
from nnviz.files import atomic_write_bytes
from nnviz.commands.train_head import progress_printer
from nnviz.photos import submission
from nnviz.photos.features import FeatureCache
from nnviz.photos.labelled import DatasetError
from nnviz.photos.transfer import load_head


def register(sub) -> None:
    p = sub.add_parser("submit", help="write a submission CSV for test_features.csv with a trained head")
    p.add_argument("--model", required=True, help="a head saved by train-head (name or card path)")
    p.add_argument("--features", type=Path, required=True, help="test_features.csv (id, filepath[, site])")
    p.add_argument("--root", type=Path, help="folder the file paths are relative to (default: the CSV's)")
    p.add_argument("--out", type=Path, default=Path("submission.csv"))
    p.add_argument("--cache", type=Path, help="feature cache folder")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        head, card = load_head(args.model)
        ids, paths = submission.read_test_features(args.features, args.root)
        sub = submission.predict_submission(head, card, ids, paths, cache=FeatureCache(args.cache),
                                            on_progress=progress_printer(args.quiet))
    except (CheckpointError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for i, msg in sub.errors.items():
        print(f"unreadable, uniform probabilities: {msg}", file=sys.stderr)
    atomic_write_bytes(args.out, sub.to_csv().encode())
    print(f"wrote {args.out}: {len(ids)} rows, columns id + {', '.join(sub.classes)}")
    return 0
