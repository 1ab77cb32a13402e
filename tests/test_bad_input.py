"""Bad input (issue 13, item 5), each tried with its outcome asserted: out-of-range
hyperparameters, a photo head given to the digit commands, command-line paths outside what a
command may write, and an upload over the size limit.

Covered elsewhere, not repeated here: malformed and oversized images, zip bombs and zips whose
paths escape their folder (tests/test_photos_bad_inputs.py); an empty canvas (tests/test_preprocess.py,
tests/test_app_pages.py); a model name with path characters (tests/test_security.py).
"""

from __future__ import annotations

import hashlib
import math
import re

import pytest
from PIL import Image

from nnviz.checkpoints import TRAINED_DIR, save_checkpoint
from nnviz.cli import main
from nnviz.models import build_model
from nnviz.photos.transfer import head_architecture
from nnviz.training import QUICK_CONFIG, TrainConfig


@pytest.fixture
def no_work(monkeypatch):
    """The training commands' work (training, the photos' features) fails the test if it starts:
    a refusal must come first, and a broken refusal never trains or writes anything."""
    def started(*args, **kwargs):
        raise AssertionError("the command started working instead of refusing")
    for target in ("nnviz.commands.train.train_model", "nnviz.commands.train_numpy.train_numpy_model",
                   "nnviz.commands.train_head.extract_features", "nnviz.commands.train.save_checkpoint",
                   "nnviz.commands.train_numpy.save_checkpoint", "nnviz.commands.train_head.save_checkpoint"):
        monkeypatch.setattr(target, started)


# --- hyperparameters ------------------------------------------------------------------------------

OUT_OF_RANGE = {
    "learning_rate=0": ({"learning_rate": 0.0}, "learning rate must be a positive number, got 0.0"),
    "learning_rate<0": ({"learning_rate": -0.1}, "learning rate must be a positive number, got -0.1"),
    "learning_rate=nan": ({"learning_rate": math.nan}, "learning rate must be a positive number, got nan"),
    "learning_rate=inf": ({"learning_rate": math.inf}, "learning rate must be a positive number, got inf"),
    "learning_rate huge": ({"learning_rate": 1e6}, "learning rate must be at most 1000, got 1e+06 (from about 1 "
                                                   "upwards most networks already blow up)"),
    "epochs=0": ({"epochs": 0}, "epochs must be at least 1, got 0"),
    "batch_size=0": ({"batch_size": 0}, "batch size must be at least 1, got 0"),
    "train_size=0": ({"train_size": 0}, "training-set size must be at least 1, got 0"),
}


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_out_of_range_settings_are_refused_in_plain_words(case):
    changes, message = OUT_OF_RANGE[case]
    with pytest.raises(ValueError) as info:
        TrainConfig(**{**QUICK_CONFIG.to_dict(), **changes}).validate()
    assert str(info.value) == message


@pytest.mark.parametrize("args, message", [
    (["--lr", "0"], "error: learning rate must be a positive number, got 0.0"),
    (["--lr", "1e6"], "error: learning rate must be at most 1000, got 1e+06"),
    (["--epochs", "0"], "error: epochs must be at least 1, got 0"),
    (["--batch-size", "0"], "error: batch size must be at least 1, got 0"),
])
@pytest.mark.parametrize("command", [["train", "--model", "cnn"], ["train", "--model", "numpy-mlp"],
                                     ["train-head", "--data", "nowhere"]])
def test_the_training_commands_refuse_out_of_range_settings_before_any_work(command, args, message, tmp_path,
                                                                             capsys, monkeypatch, no_work):
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path))
    assert main([*command, *args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert list(tmp_path.iterdir()) == []  # nothing trained, nothing written


def test_train_head_refuses_a_held_out_fraction_outside_0_1(capsys, no_work):
    assert main(["train-head", "--data", "nowhere", "--test-fraction", "1.5"]) == 2
    assert capsys.readouterr().err == "error: --test-fraction must be between 0 and 1, got 1.5\n"


# --- a photo head given to the digit commands -----------------------------------------------------


@pytest.fixture
def photo_head(tmp_path, monkeypatch):
    """A saved photo head (what the Photos page's Save writes) in a fresh user models folder."""
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path / "models"))
    arch = head_architecture(3)
    card = {"task": "transfer-head", "dataset": "photos", "architecture": arch, "classes": ["cat", "dog", "frog"]}
    save_checkpoint(build_model(arch), card, tmp_path / "models" / "my-pets")
    return "my-pets"


@pytest.fixture
def digit_png(tmp_path, mnist_test_pixels):
    path = tmp_path / "seven.png"
    Image.fromarray(mnist_test_pixels[0][0]).resize((280, 280)).save(path)  # test image #0 is a 7
    return str(path)


@pytest.mark.parametrize("command", ["predict", "evaluate", "inspect"])
def test_a_photo_head_given_to_a_digit_command_is_refused_in_plain_words(command, photo_head, digit_png, capsys):
    argv = {"predict": ["predict", "--model", photo_head, digit_png],
            "evaluate": ["evaluate", "--model", photo_head],
            "inspect": ["inspect", "--model", photo_head, digit_png]}[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 'my-pets' was trained on 'photos', so it cannot answer this"), err
    assert "Traceback" not in err


def test_the_digit_commands_list_only_digit_networks(photo_head, capsys):
    assert main(["predict", "--model", "no-such-net", "x.png"]) == 1
    err = capsys.readouterr().err
    assert "digits-cnn" in err and "digits-mlp" in err
    assert "my-pets" not in err  # a photo head is no answer to "which digit networks are there"


def test_a_photo_head_still_loads_where_photos_are_expected(photo_head):
    from nnviz.photos.transfer import load_head

    head, card = load_head(photo_head)
    assert card["classes"] == ["cat", "dog", "frog"]


# --- command-line paths ---------------------------------------------------------------------------


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("command", [["train", "--model", "cnn"], ["train", "--model", "numpy-mlp"],
                                     ["train-head", "--data", "nowhere"]])
def test_training_never_overwrites_a_shipped_checkpoint_unless_asked(command, capsys, no_work):
    before = _digest(TRAINED_DIR)
    assert main([*command, "--out", str(TRAINED_DIR / "digits-cnn"), "--quiet"]) == 2
    assert capsys.readouterr().err == (f"error: {TRAINED_DIR / 'digits-cnn.json'} already exists (a shipped "
                                       "checkpoint): choose another --out, or add --overwrite to replace it\n")
    assert _digest(TRAINED_DIR) == before


@pytest.mark.parametrize("out", ["../", "bad name", "-dash", "a/.hidden"])
def test_an_out_path_that_cannot_name_a_checkpoint_is_refused(out, tmp_path, capsys, no_work):
    assert main(["train", "--model", "cnn", "--out", str(tmp_path / out), "--quiet"]) == 2
    assert "cannot name a checkpoint" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_saved_model_is_not_replaced_by_a_later_run_unless_asked(tmp_path, capsys, no_work):
    arch = head_architecture(2)
    save_checkpoint(build_model(arch), {"architecture": arch, "dataset": "photos"}, tmp_path / "mine")
    before = _digest(tmp_path)
    assert main(["train", "--model", "numpy-mlp", "--out", str(tmp_path / "mine"), "--quiet"]) == 2
    assert "already exists: choose another --out, or add --overwrite" in capsys.readouterr().err
    assert _digest(tmp_path) == before


# --- an upload over the size limit ----------------------------------------------------------------


@pytest.mark.browser
def test_an_upload_over_the_size_limit_is_refused_with_a_message(page, app_url, tmp_path):
    """The limit is ``server.maxUploadSize`` (50 MB in .streamlit/config.toml): the upload widget
    refuses a 51 MB file with its message and the page does not receive it."""
    page.goto(f"{app_url}/photos")
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput").first
    uploader.wait_for(state="attached", timeout=120_000)
    big = tmp_path / "huge.jpg"
    with open(big, "wb") as f:
        f.write(b"\xff\xd8\xff")
        f.truncate(51 * 1024 * 1024)  # 51 MB (sparse: no disk used)
    uploader.set_input_files(big)
    error = page.get_by_text(re.compile(r"File must be 50(\.0)? ?MB or smaller"))
    error.wait_for(timeout=30_000)
    assert error.is_visible()
    assert page.get_by_text("huge.jpg: this file is too large").count() == 0  # never reached the server's check
