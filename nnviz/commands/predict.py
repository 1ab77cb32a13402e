"""``python -m nnviz predict``: classify image files with a checkpoint, one answer per file."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from nnviz.checkpoints import CheckpointError
from nnviz.images import ImageReadError
from nnviz.preprocess import BlankDrawing

# Predictors other than digit checkpoints register here: name → factory of an object with
# ``answer_file(path) -> dict`` (``{"label", "probabilities", ...}``).
SPECIAL_MODELS: dict[str, Callable[[], object]] = {}


def _animals():
    from nnviz.photos.classify import AnimalClassifier  # imports timm: only when asked for
    return AnimalClassifier()


SPECIAL_MODELS["animals"] = _animals


def register(sub) -> None:
    p = sub.add_parser("predict", help="classify image files (any size, either polarity)")
    p.add_argument("--model", required=True, help="checkpoint name, e.g. digits-cnn")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(run=run)


class DigitAnswerer:
    """Answers files with a digit checkpoint: ``{"path", "label", "probabilities": {"0": p, …}}``."""

    def __init__(self, name: str):
        from nnviz.predict import DigitClassifier
        self.classifier = DigitClassifier(name)

    def answer_file(self, path: str) -> dict:
        pred = self.classifier.predict_file(path)
        return {"label": pred.label,
                "probabilities": {c: float(p) for c, p in zip(self.classifier.classes, pred.probabilities)}}


def answer_files(answerer, paths: list[str]) -> list[dict]:
    """Answer every file; a file that fails gets ``{"path", "error"}`` and the others go on."""
    answers = []
    for path in paths:
        try:
            answers.append({"path": path, **answerer.answer_file(path)})
        except (ImageReadError, BlankDrawing) as exc:
            answers.append({"path": path, "error": str(exc)})
    return answers


def run(args: argparse.Namespace) -> int:
    import torch
    torch.set_num_threads(1)  # one image at a time: a second thread only adds hand-off cost
    try:
        factory = SPECIAL_MODELS.get(args.model)
        answerer = factory() if factory else DigitAnswerer(args.model)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    answers = answer_files(answerer, args.images)
    if args.format == "json":
        print(json.dumps(answers, indent=1))
    else:
        for a in answers:
            if "error" in a:
                print(f"{a['path']}: error: {a['error']}")
            else:
                p = a["probabilities"][a["label"]]
                print(f"{a['path']}: {a['label']} ({p:.1%})")
    return 1 if any("error" in a for a in answers) else 0
