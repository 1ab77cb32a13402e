"""The command line on real data: predict real MNIST test digits from image files, reproduce
the shipped cards with evaluate, and answer bad files without stopping."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnviz.checkpoints import load_checkpoint
from nnviz.cli import main
from nnviz.data import load_tensors
from numerics import accuracy_tolerance
from nnviz.images import NOT_A_PICTURE, NOT_READABLE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def digit_files(mnist_test_pixels, canvas, tmp_path_factory):
    """200 real test digits as canvas-sized RGB PNG files, white-on-black or black-on-white."""
    pixels, labels = mnist_test_pixels
    folder = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(labels), 200, replace=False)
    files = []
    for k, i in enumerate(chosen):
        path = folder / f"{i}.png"
        rgb = canvas(pixels[i], size=(280, 400, 192)[k % 3])[..., :3]
        Image.fromarray(255 - rgb if k % 2 else rgb).save(path)
        files.append((str(path), str(labels[i])))
    return files


@pytest.mark.parametrize("model", ["digits-cnn", "digits-mlp"])
def test_predict_reads_real_digits_from_files(model, digit_files, capsys):
    status = main(["predict", "--model", model, "--format", "json", *[p for p, _ in digit_files]])
    answers = json.loads(capsys.readouterr().out)
    assert status == 0 and len(answers) == 200
    truth = dict(digit_files)
    correct = sum(a["label"] == truth[a["path"]] for a in answers)
    assert correct / 200 >= 0.97, f"{model}: {correct}/200 correct"
    for a in answers:
        assert set(a["probabilities"]) == {str(d) for d in range(10)}
        assert abs(sum(a["probabilities"].values()) - 1) < 1e-4
        assert max(a["probabilities"], key=a["probabilities"].get) == a["label"]


def test_bad_files_get_an_error_and_the_others_an_answer(digit_files, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    blank = tmp_path / "blank.png"
    Image.new("L", (280, 280), 0).save(blank)
    good = digit_files[0][0]
    status = main(["predict", "--model", "digits-cnn", "--format", "json", str(corrupt), good,
                   str(tmp_path / "missing.png"), str(blank)])
    answers = json.loads(capsys.readouterr().out)
    assert status == 1
    assert [a["path"] for a in answers] == [str(corrupt), good, str(tmp_path / "missing.png"), str(blank)]
    assert [("error" in a) for a in answers] == [True, False, True, True]
    assert answers[0]["error"] == f"{corrupt}: {NOT_A_PICTURE}"
    assert answers[2]["error"] == f"{tmp_path / 'missing.png'}: {NOT_READABLE}"
    assert answers[3]["error"] == "Draw a digit: the canvas is empty or almost empty."
    assert answers[1]["label"] == digit_files[0][1]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["digits-cnn", "digits-mlp"])
def test_evaluate_reproduces_the_shipped_card(model):
    """The whole command as a user runs it, in its own process."""
    out = subprocess.run([sys.executable, "-m", "nnviz", "evaluate", "--model", model, "--format", "json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    network, card = load_checkpoint(model)
    assert result["model"] == model and result["dataset"] == "mnist" and result["n"] == 10_000
    # the card was written on another CPU: only predictions within float32 noise of a tie may differ
    tolerance = accuracy_tolerance(network, load_tensors("mnist", train=False)[0])
    assert result["accuracy"] == pytest.approx(card["metrics"]["test_accuracy"], abs=tolerance)
    assert result["loss"] == pytest.approx(card["metrics"]["test_loss"], rel=1e-3)
    assert card["split"]["n_train"] == 60_000
    assert result["accuracy"] >= {"digits-cnn": 0.992, "digits-mlp": 0.978}[model]


def test_evaluate_an_unknown_model_says_what_exists(capsys):
    assert main(["evaluate", "--model", "no-such-model"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no-such-model" in err and "available: " in err
    assert "digits-cnn" in err and "digits-mlp" in err
