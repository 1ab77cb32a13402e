"""``python -m nnviz convolve``: one number of a convolution layer's feature map, worked through.

Examples::

    python -m nnviz convolve --model digits-cnn --layer conv1 --channel 3 --row 14 --col 9 mnist:0 --format json
    python -m nnviz convolve --model digits-cnn --layer conv2 --channel 0 --row 0 --col 0 my_digit.png

``IMAGE`` is an image file or ``mnist:INDEX``, as for ``inspect``; ``--row`` and ``--col`` index
the layer's output. The JSON holds ``patch``, ``kernel`` and ``products`` (each
``[in_channels][k][k]``; the patch is the layer's real input around the position, zero padding
outside the image), ``bias`` (0 for a convolution without bias), ``output`` (the layer's output
there = Σ products + bias) and ``steps`` (the operations that follow, each ``{"name", "value",
…}``, up to the number the next layer reads); numbers are unrounded float32 values (see
:mod:`nnviz.convolution`). Exit status 2 for bad arguments, 1 for a model or image that cannot be
used.
"""

from __future__ import annotations

import argparse
import json
import sys

from nnviz.checkpoints import CheckpointError
from nnviz.commands.inspect import load_input
from nnviz.convolution import next_layer, worked_convolution
from nnviz.data import DatasetUnavailable
from nnviz.images import ImageReadError
from nnviz.predict import DigitClassifier
from nnviz.preprocess import BlankDrawing


def register(sub) -> None:
    p = sub.add_parser("convolve", help="work through one number of a convolution's feature map (patch × kernel + bias, then ReLU, pooling…)")
    p.add_argument("--model", required=True, help="checkpoint name (digits-cnn, a saved CNN) or card path")
    p.add_argument("--layer", required=True, help="a convolution layer, e.g. conv1 or conv2")
    p.add_argument("--channel", type=int, required=True, help="output channel (0-based)")
    p.add_argument("--row", type=int, required=True, help="row in the layer's output (0-based)")
    p.add_argument("--col", type=int, required=True, help="column in the layer's output (0-based)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("image", help="an image file of one digit, or mnist:INDEX for an official test image")
    p.set_defaults(run=run)


def convolve_command(model: str, image: str, layer: str, channel: int, row: int, col: int) -> dict:
    """The dict that ``--format json`` prints (see the module's docstring), plus ``model`` and ``image``.

    Raises:
        CheckpointError, DatasetUnavailable, ImageReadError, BlankDrawing; ValueError: not a
        convolution layer, or channel/row/col out of range.
    """
    classifier = DigitClassifier(model)
    x, _, description = load_input(image, classifier)
    worked = worked_convolution(classifier.model, x, layer, channel, row, col)
    return {"model": classifier.card.get("name", model), "image": description,
            "next_layer": next_layer(classifier.model, layer), **worked.to_dict()}


def _text(report: dict) -> str:
    k = len(report["kernel"][0])
    lines = [f"{report['model']} on {report['image']}: {report['layer']} channel {report['channel']} at "
             f"row {report['row']}, column {report['col']}",
             f"  {len(report['kernel'])} input channel(s) × {k}×{k} kernel: Σ patch × kernel = "
             f"{report['sum_of_products'] - report['bias']:+.6f}",
             f"  + bias {report['bias']:+.6f} = output {report['output']:+.6f}"]
    for step in report["steps"]:
        lines.append(f"  → {step['name']} ({step['layer']}): {step['value']:+.6f}")
    if report["next_layer"]:
        lines.append(f"  … which {report['next_layer']} reads")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        report = convolve_command(args.model, args.image, args.layer, args.channel, args.row, args.col)
    except (CheckpointError, DatasetUnavailable, ImageReadError, BlankDrawing, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a bad layer, channel, position or mnist:INDEX: the caller's arguments
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.format == "json" else _text(report))
    return 0
