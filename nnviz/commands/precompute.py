"""``python -m nnviz precompute``: write the Inspect page's test-set views of the shipped networks
(``trained/<name>.inspect.npz``, see :mod:`nnviz.test_set_views`) and, for the convolutional ones,
what each channel looks for (``trained/<name>.channels.npz``: every convolution's channels and the
class logits, see :mod:`nnviz.feature_visualization`; ``--only channels`` or ``--only inspect``
writes one kind)."""

from __future__ import annotations

import argparse
import sys
import time

from nnviz.checkpoints import CheckpointError, list_cards
from nnviz import feature_visualization
from nnviz.data import DatasetUnavailable, load_tensors, load_torchvision_dataset
from nnviz.test_set_views import write_shipped


def register(sub) -> None:
    p = sub.add_parser("precompute", help="write the Inspect page's test report and feature maps beside "
                                          "the shipped digit networks (trained/<name>.inspect.npz)")
    p.add_argument("--model", action="append", help="checkpoint name (default: every shipped digit network)")
    p.add_argument("--only", choices=("inspect", "channels"), help="write only the test-set views or only the "
                   "channel views (default: both; channel views for networks with convolutions)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        images, labels = load_tensors("mnist", train=False)
        shipped = [c["name"] for c in list_cards(include_user=False) if c.get("dataset") == "mnist"]
        only = getattr(args, "only", None)
        for name in args.model or shipped:
            if only != "channels":
                start = time.perf_counter()
                path = write_shipped(name, images, labels)
                print(f"{path} ({path.stat().st_size / 1024:.0f} KB) in {time.perf_counter() - start:.1f} s")
            if only != "inspect":
                start = time.perf_counter()
                pixels = load_torchvision_dataset("mnist", train=False).data.numpy()
                path = feature_visualization.write_shipped(name, images, pixels)
                print(f"{path} ({path.stat().st_size / 1024:.0f} KB) in {time.perf_counter() - start:.1f} s")
    except (CheckpointError, DatasetUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
