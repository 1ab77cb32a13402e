"""``python -m nnviz train --model numpy-mlp``: train the from-scratch NumPy MLP
(:mod:`nnviz.numpy_mlp`) and save it as an ordinary checkpoint with its model card.

Reads the options ``train`` already parses: ``--hidden``, ``--activation``, ``--epochs``, ``--lr``,
``--batch-size``, ``--seed``, ``--train-size``, ``--dataset``, ``--out``, ``--quiet``; the others
(optimizer, augmentation, device) do not apply to plain SGD in NumPy and are refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from nnviz.checkpoints import save_checkpoint, save_failure, user_models_dir
from nnviz.data import DatasetUnavailable
from nnviz.divergence import Diverged
from nnviz.commands.common import progress_printer, refused
from nnviz.numpy_runs import DIGITS_NUMPY, new_numpy_mlp, train_numpy_model


def run_numpy(args: argparse.Namespace) -> int:
    """Train with the shipped digits-numpy recipe, overridden by the options given; returns the exit status."""
    for option, value in (("--optimizer", args.optimizer), ("--channels", args.channels),
                          ("--device", args.device), ("--recipe quick", args.recipe == "quick" or None)):
        if value is not None:
            print(f"error: {option} does not apply to --model numpy-mlp (plain SGD on the CPU)", file=sys.stderr)
            return 2
    architecture, recipe = DIGITS_NUMPY
    config = dataclasses.replace(recipe, seed=args.seed, train_size=args.train_size,
                                 **{k: v for k, v in (("epochs", args.epochs), ("learning_rate", args.lr),
                                                      ("batch_size", args.batch_size)) if v is not None})
    hidden = args.hidden or architecture["hidden"]
    activation = args.activation or architecture["activation"]
    out = args.out or user_models_dir() / f"{args.dataset}-numpy-mlp"
    if refused(out, args.overwrite, config.validate):
        return 2

    try:
        mlp = new_numpy_mlp(hidden, activation, args.dataset, config.seed, config.dtype)
        model, card = train_numpy_model(mlp, config, args.dataset,
                                        on_event=None if args.quiet else progress_printer(every=500))
    except (DatasetUnavailable, ValueError, Diverged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        path = save_checkpoint(model, card, out)
    except OSError as exc:
        print(f"error: {save_failure(exc)}", file=sys.stderr)
        return 1
    print(f"saved {path} (test accuracy {card['metrics']['test_accuracy']:.4f}, {card['training_time_s']:.0f} s, "
          "trained by the NumPy code)")
    return 0
