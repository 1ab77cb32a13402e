"""``python -m nnviz``: the command line. Each subcommand lives in ``nnviz/commands/<name>.py``
with ``register(subparsers)``; this file only assembles them."""

from __future__ import annotations

import argparse
import importlib

COMMANDS = ("data", "train", "evaluate", "predict", "inspect", "convolve", "receptive-field", "visualize", "precompute",
            "train-head", "submit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nnviz", description="nnviz: see how neural networks see images.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"nnviz.commands.{name.replace('-', '_')}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)
