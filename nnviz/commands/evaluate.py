"""``python -m nnviz evaluate``: recompute a checkpoint's test accuracy and loss."""

from __future__ import annotations

import argparse
import json
import sys

from nnviz.checkpoints import CheckpointError, load_checkpoint
from nnviz.data import DATASETS, DatasetUnavailable, load_tensors
from nnviz.training import evaluate


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="recompute a checkpoint's accuracy on its official test set")
    p.add_argument("--model", required=True, help="checkpoint name (digits-cnn, digits-mlp, a saved model) or card path")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def evaluate_checkpoint(name: str) -> dict:
    """``{"model", "dataset", "n", "accuracy", "loss"}`` of checkpoint ``name`` on its test split.

    Raises:
        CheckpointError: also for a checkpoint whose dataset has no official test split here (a
            photo head: its held-out accuracy is in its card). DatasetUnavailable.
    """
    model, card = load_checkpoint(name, datasets=tuple(DATASETS))
    images, labels = load_tensors(card["dataset"], train=False)
    accuracy, loss = evaluate(model, images, labels)
    return {"model": card["name"], "dataset": card["dataset"], "n": len(labels), "accuracy": accuracy, "loss": loss}


def run(args: argparse.Namespace) -> int:
    try:
        result = evaluate_checkpoint(args.model)
    except (CheckpointError, DatasetUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(result))
    else:
        print(f"{result['model']} on {result['dataset']} test ({result['n']} images): "
              f"accuracy {result['accuracy']:.4%}, loss {result['loss']:.4f}")
    return 0
