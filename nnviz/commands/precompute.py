"""``python -m nnviz precompute``: write the Inspect page's test-set views of the shipped networks
(``trained/<name>.inspect.npz``, see :mod:`nnviz.test_set_views`)."""

from __future__ import annotations

import argparse
import sys
import time

from nnviz.checkpoints import CheckpointError
from nnviz.data import DatasetUnavailable, load_tensors
from nnviz.test_set_views import write_shipped


def register(sub) -> None:
    p = sub.add_parser("precompute", help="write the Inspect page's test report and feature maps beside "
                                          "the shipped digit networks (trained/<name>.inspect.npz)")
    p.add_argument("--model", action="append", help="checkpoint name (default: digits-cnn and digits-mlp)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        images, labels = load_tensors("mnist", train=False)
        for name in args.model or ["digits-cnn", "digits-mlp"]:
            start = time.perf_counter()
            path = write_shipped(name, images, labels)
            print(f"{path} ({path.stat().st_size / 1024:.0f} KB) in {time.perf_counter() - start:.1f} s")
    except (CheckpointError, DatasetUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
