"""``python -m nnviz visualize``: the input that excites one channel most, and the test images that do.

Example::

    python -m nnviz visualize --model digits-cnn --layer relu2 --channel 5 --out c5.png --format json

``FILE.png`` is the optimised input, a 28×28 8-bit grey PNG (0–255 = pixel 0–1 before
normalisation), found by gradient ascent (:func:`nnviz.feature_visualization.visualize`). The
objective is the spatial mean of the layer's output for that channel (for the last layer, the class's
logit). JSON keys: ``activation`` (the objective for the PNG as written, read back from the file),
``dataset_examples`` (the nine MNIST test images that excite it most, ``[{"index", "activation"}]``,
highest first; from the file shipped beside the checkpoint or the disk cache, else computed from the
test set), ``seconds`` (the whole command's time). Numbers are unrounded float32 values.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nnviz import feature_visualization as fv
from nnviz.checkpoints import CheckpointError, resolve_checkpoint
from nnviz.data import DatasetUnavailable, load_tensors, load_torchvision_dataset
from nnviz.predict import DigitClassifier


def register(sub) -> None:
    p = sub.add_parser("visualize", help="find the input that excites one channel most (gradient ascent); "
                                         "write it as a PNG and list the test images that excite it most")
    p.add_argument("--model", required=True, help="checkpoint name (digits-cnn, digits-mlp, a saved model) or card path")
    p.add_argument("--layer", required=True, help="layer name, e.g. conv1, relu2, fc2 (the logits)")
    p.add_argument("--channel", required=True, type=int, help="channel (or unit, or class) index, from 0")
    p.add_argument("--out", required=True, type=Path, help="the PNG file to write")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def _test_set() -> tuple:
    images, _ = load_tensors("mnist", train=False)
    return images, load_torchvision_dataset("mnist", train=False).data.numpy()


def visualize_command(model: str, layer: str, channel: int, out: Path) -> dict:
    """Run the command; the dict that ``--format json`` prints.

    Raises:
        CheckpointError, DatasetUnavailable (no stored examples and no test set), ValueError (an
        unknown layer or channel, or an output path that is not a writable .png file).
    """
    start = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out must name a .png file, got {str(out)!r}")
    if out.is_dir() or not out.parent.is_dir():
        raise ValueError(f"cannot write {str(out)!r}: its folder does not exist or it is a folder")
    classifier = DigitClassifier(model)
    net = classifier.model
    count = fv.channel_count(net, layer)  # ValueError for an unknown layer, naming the layers
    if not 0 <= channel < count:
        raise ValueError(f"layer {layer!r} has {count} channels, 0…{count - 1}; got {channel}")
    views = fv.load_or_compute(net, str(classifier.card.get("weights_sha256", model)), layer, _test_set,
                               checkpoint=resolve_checkpoint(model), mean=classifier.mean, std=classifier.std)
    found = fv.visualize(net, layer, [channel], mean=classifier.mean, std=classifier.std,
                         init=views.example_pixels[channel, :1])
    Image.fromarray(found.images[0], mode="L").save(out)
    written = np.asarray(Image.open(out).convert("L"))  # measure what was written, not what was meant
    activation = fv.objective(net, layer, channel, written, classifier.mean, classifier.std)
    examples = [{"index": int(i), "activation": float(a)}
                for i, a in zip(views.examples.indices[channel], views.examples.activations[channel])]
    return {"model": classifier.card.get("name", model), "layer": layer, "channel": channel, "out": str(out),
            "activation": activation, "dataset_examples": examples, "seconds": time.perf_counter() - start}


def run(args: argparse.Namespace) -> int:
    try:
        report = visualize_command(args.model, args.layer, args.channel, args.out)
    except (CheckpointError, DatasetUnavailable, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(report))
        return 0
    print(f"{report['model']} {report['layer']} channel {report['channel']}: wrote {report['out']} "
          f"(activation {report['activation']:.4g}) in {report['seconds']:.1f} s")
    print("  test images that excite it most: " + ", ".join(
        f"#{e['index']} ({e['activation']:.4g})" for e in report["dataset_examples"]))
    return 0
