"""``python -m nnviz receptive-field``: the input pixels one unit can see, and how much each matters.

Examples::

    python -m nnviz receptive-field --model digits-cnn --layer conv2 --channel 5 --row 7 --col 7 mnist:0 --format json
    python -m nnviz receptive-field --model digits-cnn --layer fc1 --channel 12 my_digit.png

``--channel`` is the unit's channel in a layer of feature maps (with ``--row`` and ``--col``), or
the unit's index in a fully connected layer (no ``--row``/``--col``). ``IMAGE`` as for ``inspect``.
The JSON holds ``box`` (the theoretical receptive field ``[top, left, bottom, right]``, inclusive
input pixels clipped to the image), ``unclipped_box``, ``value`` (the unit's activation) and
``effective_field`` (28×28: ∂ unit / ∂ input pixel, the gradient per normalised input value;
see :mod:`nnviz.receptive_field`). Exit status 2 for bad arguments, 1 for a model or image that
cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys

from nnviz.checkpoints import CheckpointError
from nnviz.commands.inspect import load_input
from nnviz.data import DatasetUnavailable
from nnviz.images import ImageReadError
from nnviz.predict import DigitClassifier
from nnviz.preprocess import BlankDrawing
from nnviz.receptive_field import receptive_field_box, unit_value_and_gradient


def register(sub) -> None:
    p = sub.add_parser("receptive-field", help="a unit's receptive field: the box of input pixels it sees and its gradient over them")
    p.add_argument("--model", required=True, help="checkpoint name (digits-cnn, a saved model) or card path")
    p.add_argument("--layer", required=True, help="any layer, e.g. conv1, relu1, pool1, conv2, pool2, fc1, fc2")
    p.add_argument("--channel", type=int, required=True, help="channel of a feature map, or unit index of a fully connected layer")
    p.add_argument("--row", type=int, help="row in the layer's output (feature maps only)")
    p.add_argument("--col", type=int, help="column in the layer's output (feature maps only)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("image", help="an image file of one digit, or mnist:INDEX for an official test image")
    p.set_defaults(run=run)


def receptive_field_command(model: str, image: str, layer: str, channel: int, row: int | None = None,
                            col: int | None = None) -> dict:
    """The dict that ``--format json`` prints (see the module's docstring).

    Raises:
        CheckpointError, DatasetUnavailable, ImageReadError, BlankDrawing; ValueError: unknown
        layer, a unit out of range, or ``row``/``col`` missing for feature maps (or given for a
        fully connected layer).
    """
    if (row is None) != (col is None):
        raise ValueError("give both --row and --col (for a layer of feature maps), or neither")
    classifier = DigitClassifier(model)
    x, _, description = load_input(image, classifier)
    unit = (channel,) if row is None else (channel, row, col)
    value, gradient = unit_value_and_gradient(classifier.model, x, layer, unit)
    box = receptive_field_box(classifier.model, layer, unit, tuple(x.shape[1:]))
    return {"model": classifier.card.get("name", model), "image": description, "layer": layer, "unit": list(unit),
            "value": value, "box": box.to_list(), "unclipped_box": list(box.unclipped),
            "effective_field": (gradient[0] if len(gradient) == 1 else gradient).tolist()}


def run(args: argparse.Namespace) -> int:
    try:
        report = receptive_field_command(args.model, args.image, args.layer, args.channel, args.row, args.col)
    except (CheckpointError, DatasetUnavailable, ImageReadError, BlankDrawing, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a bad layer, unit or mnist:INDEX: the caller's arguments
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(report))
        return 0
    top, left, bottom, right = report["box"]
    unit = ", ".join(map(str, report["unit"]))
    print(f"{report['model']} on {report['image']}: {report['layer']} unit ({unit}) = {report['value']:+.6f}")
    print(f"  theoretical receptive field: rows {top}–{bottom}, columns {left}–{right} "
          f"({bottom - top + 1}×{right - left + 1} input pixels)")
    field = [abs(v) for r in report["effective_field"] for v in (r if isinstance(r[0], float) else sum(r, []))]
    print(f"  effective field: {sum(v > 0 for v in field)} pixels with a nonzero gradient, largest |gradient| {max(field):.6f}")
    return 0
