"""``python -m nnviz train``: train a digit network and save it as a checkpoint with its card."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnviz.checkpoints import save_checkpoint, save_failure, user_models_dir
from nnviz.commands.common import progress_printer, refused
from nnviz.data import DATASETS, DatasetUnavailable
from nnviz.divergence import Diverged
from nnviz.models import sized_for
from nnviz.names import ACTIVATIONS, MODEL_KINDS, OPTIMIZERS
from nnviz.training import QUICK_CNN, QUICK_CONFIG, SHIPPED_RECIPES, TrainConfig, new_model, train_model


def register(sub) -> None:
    p = sub.add_parser("train", help="train an MLP or CNN and save a checkpoint",
                       description="Train on the official training split; evaluate on the official test split. "
                                   "Defaults are the recipe of the shipped checkpoint of that kind.")
    p.add_argument("--model", choices=tuple(MODEL_KINDS), required=True,
                   help="numpy-mlp: the from-scratch NumPy MLP (nnviz/numpy_mlp.py), plain SGD")
    p.add_argument("--recipe", choices=("shipped", "quick"), default="shipped",
                   help="starting point: the shipped checkpoint's recipe, or the Train page's quick CNN recipe "
                        "(--model cnn only); the other options override it")
    p.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float, help="(peak) learning rate")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-size", type=int, help="use a random subset of this many training images")
    p.add_argument("--no-augment", action="store_true", help="train without random affine jitter (and without --handwriting)")
    p.add_argument("--handwriting", type=float, metavar="SHARE",
                   help="share (0-1) of each batch drawn the ways people write on a canvas: slashed zeros, pen "
                        "width, slant, wobble (MNIST only; the shipped recipes use 0.5, the quick one 0)")
    p.add_argument("--channels", type=int, nargs=2, metavar=("C1", "C2"), help="CNN: channels of the two convolutions")
    p.add_argument("--hidden", type=int, nargs="+", help="MLP: hidden widths; CNN: width of the hidden fully connected layer")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), help="MLP activation")
    p.add_argument("--device", help="cuda, mps or cpu (default: the best present)")
    p.add_argument("--out", type=Path, help="checkpoint path without suffix (default: user_models/<dataset>-<model>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing checkpoint at --out (e.g. a shipped one in trained/)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.model == "numpy-mlp":
        from nnviz.commands.train_numpy import run_numpy
        return run_numpy(args)
    if args.recipe == "quick":
        if args.model != "cnn":
            print("error: --recipe quick is a CNN recipe; use it with --model cnn", file=sys.stderr)
            return 2
        architecture, recipe = QUICK_CNN, QUICK_CONFIG
    else:
        architecture, recipe = SHIPPED_RECIPES[f"digits-{args.model}"]
    # The recipes are for 1×28×28 digits: size the input and output layers for the chosen dataset.
    architecture = sized_for(architecture, args.dataset)
    if args.channels:
        architecture["channels"] = list(args.channels)
    if args.hidden:
        architecture["hidden"] = args.hidden if args.model == "mlp" else args.hidden[0]
    if args.activation and args.model == "mlp":
        architecture["activation"] = args.activation
    config = TrainConfig(**{**recipe.to_dict(), "seed": args.seed, "device": args.device,
                            "train_size": args.train_size})
    for attr, value in (("epochs", args.epochs), ("learning_rate", args.lr), ("batch_size", args.batch_size),
                        ("optimizer", args.optimizer), ("handwriting", args.handwriting)):
        if value is not None:
            setattr(config, attr, value)
    if args.no_augment:
        config.augment, config.handwriting = False, 0.0
    if args.dataset != "mnist" and args.handwriting is None:
        config.handwriting = 0.0  # the recipe's handwriting draws digits' ways (slashed zeros)
    out = args.out or user_models_dir() / f"{args.dataset}-{args.model}"
    if refused(out, args.overwrite, config.validate):  # before training, not after an hour of it
        return 2

    try:
        model = new_model(architecture, config.seed)
        card = train_model(model, architecture, args.dataset, config,
                           on_event=None if args.quiet else progress_printer())
    except (DatasetUnavailable, ValueError, Diverged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        path = save_checkpoint(model.cpu(), card, out)
    except OSError as exc:
        print(f"error: {save_failure(exc)}", file=sys.stderr)
        return 1
    print(f"saved {path} (test accuracy {card['metrics']['test_accuracy']:.4f}, {card['training_time_s']:.0f} s)")
    return 0
