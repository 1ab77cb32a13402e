"""``python -m nnviz data``: make sure the datasets are in the data root (downloading if needed)."""

from __future__ import annotations

import argparse
import sys

from nnviz.data import DATASETS, DatasetUnavailable, data_root, load_torchvision_dataset


def register(sub) -> None:
    p = sub.add_parser("data", help="check or download the datasets into the data root ($NNVIZ_DATA_DIR or ./data)")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"datasets to prepare, of {', '.join(sorted(DATASETS))} (default: mnist)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    status = 0
    for name in args.names or ["mnist"]:
        try:
            if name not in DATASETS:
                raise DatasetUnavailable(f"unknown dataset {name!r}; choose from {', '.join(sorted(DATASETS))}")
            sizes = [len(load_torchvision_dataset(name, train)) for train in (True, False)]
            print(f"{name}: {sizes[0]} training and {sizes[1]} test images in {data_root()}")
        except DatasetUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    return status
