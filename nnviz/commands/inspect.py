"""``python -m nnviz inspect``: open one layer of a digit network for one image, without a browser.

Examples::

    python -m nnviz inspect --model digits-cnn --layer conv1 my_digit.png
    python -m nnviz inspect --model digits-cnn --layer fc1 mnist:7 --format json
    python -m nnviz inspect --model digits-mlp --layer fc1 mnist:0 --out figures/

``IMAGE`` is an image file (preprocessed MNIST-style, see :func:`nnviz.preprocess.mnist_style`)
or ``mnist:INDEX``, an official MNIST test image. Without ``--layer`` every layer is listed.
``--out DIR`` writes the layer's figures, the input, Grad-CAM and saliency as PNG files with
plotly's static export (kaleido, which drives a local Chrome/Chromium; set ``BROWSER_PATH`` if
it is not on the ``PATH``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from nnviz.checkpoints import CheckpointError
from nnviz.data import DatasetUnavailable
from nnviz.images import ImageReadError, open_image
from nnviz.inspection import inspect, layer_table, summary
from nnviz.predict import DigitClassifier
from nnviz.preprocess import BlankDrawing, mnist_style
from nnviz.samples import test_image


def register(sub) -> None:
    p = sub.add_parser("inspect", help="print a layer's output for an image (shape, min, max, mean); optionally save its figures")
    p.add_argument("--model", required=True, help="checkpoint name (digits-cnn, digits-mlp, a saved model) or card path")
    p.add_argument("--layer", help="layer name, e.g. conv1, pool2, fc1 (default: every layer)")
    p.add_argument("--target", type=int, help="class for Grad-CAM and saliency (default: the prediction)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--out", type=Path, help="folder to write the figures to, as PNG")
    p.add_argument("image", help="an image file of one digit, or mnist:INDEX for an official test image")
    p.set_defaults(run=run)


def load_input(spec: str, classifier: DigitClassifier) -> tuple[torch.Tensor, "object", str]:
    """``(inputs (1, 1, 28, 28) normalised, image (28, 28) in [0, 1], description)`` for IMAGE.

    Raises:
        ValueError: a bad ``mnist:INDEX``, or one that needs the dataset when it is missing (only the
            test images shipped in :mod:`nnviz.samples` work without it); ImageReadError, BlankDrawing: as for files.
    """
    if spec.startswith("mnist:"):
        try:
            index = int(spec.split(":", 1)[1])
            x, pixels, label = test_image(index, classifier.mean, classifier.std)  # a shipped sample offline
        except (ValueError, IndexError):
            raise ValueError(f"{spec!r}: expected mnist:INDEX with INDEX in 0…9999") from None
        except LookupError as exc:
            raise ValueError(str(exc)) from None
        return x, pixels, f"MNIST test image #{index} (label {label})"
    digit = mnist_style(open_image(spec))
    return digit.tensor(classifier.mean, classifier.std), digit.image, spec


def inspect_command(model: str, image: str, layer: str | None = None, target: int | None = None,
                    out: Path | None = None) -> dict:
    """Inspect ``image`` with checkpoint ``model``; the dict that ``--format json`` prints.

    Raises:
        CheckpointError, DatasetUnavailable, ImageReadError, BlankDrawing, ValueError (unknown layer).
    """
    classifier = DigitClassifier(model)
    x, picture, description = load_input(image, classifier)
    table = layer_table(classifier.model)
    names = [row.name for row in table]
    if layer is not None and layer not in names:
        raise ValueError(f"model {model!r} has no layer {layer!r}; layers: {', '.join(names)}")
    result = inspect(classifier.model, x, picture, target=target, with_attribution=out is not None)
    chosen = [layer] if layer else names
    report = {
        "model": classifier.card.get("name", model), "image": description,
        "prediction": classifier.classes[result.predicted],
        "probabilities": {c: round(float(p), 6) for c, p in zip(classifier.classes, result.probabilities)},
        "layers": [{"layer": row.name, "type": row.type, **summary(result.activations[row.name])}
                   for row in table if row.name in chosen],
    }
    if out is not None:
        report["files"] = [str(p) for p in write_figures(classifier, result, chosen, Path(out))]
    return report


def write_figures(classifier: DigitClassifier, result, layers: list[str], out: Path) -> list[Path]:
    """Write the figures of ``layers`` plus input, Grad-CAM, saliency and output as PNG files.

    Raises:
        RuntimeError: plotly's static export failed (kaleido missing or no Chrome/Chromium found).
    """
    from nnviz.figures.attribution import attribution_overlay
    from nnviz.figures.layers import layer_figures
    from nnviz.figures.probabilities import input_image

    figs = {"input": input_image(result.image)}
    for name in layers:
        for kind, fig in layer_figures(classifier.model, result, name, classifier.classes).items():
            figs[f"{name}-{kind}"] = fig
    target = classifier.classes[result.target]
    if result.grad_cam is not None:
        figs["grad-cam"] = attribution_overlay(result.image, result.grad_cam,
                                               f"Grad-CAM on {result.grad_cam_layer} for class {target}")
    figs["saliency"] = attribution_overlay(result.image, result.saliency, f"Saliency for class {target}")
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{key}.png" for key in figs]
    try:
        import plotly.io as pio
        pio.write_images(list(figs.values()), paths, width=900, scale=1)
    except Exception as exc:  # kaleido raises its own types for a missing browser
        raise RuntimeError(f"could not export PNG files ({type(exc).__name__}: {exc}). Static export needs "
                           "`pip install kaleido` and Chrome or Chromium (set BROWSER_PATH to its executable).") from exc
    return paths


def run(args: argparse.Namespace) -> int:
    try:
        report = inspect_command(args.model, args.image, args.layer, args.target, args.out)
    except (CheckpointError, DatasetUnavailable, ImageReadError, BlankDrawing, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(report))
        return 0
    print(f"{report['model']} on {report['image']}: predicts {report['prediction']} "
          f"({report['probabilities'][report['prediction']]:.1%})")
    for row in report["layers"]:
        shape = "×".join(str(s) for s in row["shape"])
        print(f"  {row['layer']:<9} {row['type']:<10} output {shape:<10} min {row['min']:+.4f}  "
              f"max {row['max']:+.4f}  mean {row['mean']:+.4f}")
    for path in report.get("files", []):
        print(f"  wrote {path}")
    return 0
