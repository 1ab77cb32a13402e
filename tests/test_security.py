"""Security (issue 13, item 6): no checkpoint is ever unpickled, user names never become paths
unsanitised, nothing a user supplies is rendered as raw HTML, and the server listens on this
machine only unless the teacher opens it on purpose. (Uploads living in a per-session folder
removed with the session: tests/test_photos_teach.py and tests/test_isolation.py.)"""

from __future__ import annotations

import ast
import json
import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from nnviz.checkpoints import CheckpointError, load_checkpoint, save_checkpoint, save_user_model
from nnviz.models import architecture_for, build_model

ROOT = Path(__file__).resolve().parent.parent
CODE = [p for folder in ("nnviz", "ui", "app_pages") for p in (ROOT / folder).rglob("*.py")] + [ROOT / "app.py"]
XSS = "<img src=x onerror=alert(1)>"


# --- no unpickling ---------------------------------------------------------------------------------


class Payload:
    """Unpickling this object creates a file: proof that a pickle was executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_a_pickled_checkpoint_is_refused_without_running_it(tmp_path, how):
    arch = architecture_for("mlp", "mnist", hidden=(512, 256), dropout=0.2)
    card_path = save_checkpoint(build_model(arch), {"architecture": arch, "dataset": "mnist"}, tmp_path / "evil")
    marker = tmp_path / "pwned"
    weights = card_path.with_suffix(".safetensors")
    if how == "pickle":
        weights.write_bytes(pickle.dumps(Payload(marker)))
    else:
        torch.save({"fc1.weight": Payload(marker)}, weights)
    card = json.loads(card_path.read_text())
    card.pop("weights_sha256")  # as an attacker who also rewrote the card would
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="is not a readable safetensors file"):
        load_checkpoint(card_path)
    assert not marker.exists(), "the pickle was executed"


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def test_no_code_unpickles_anything():
    """The product's code never calls pickle, and every other loader that could unpickle is told not
    to: ``torch.load(weights_only=True)`` (the pretrained backbone's file), ``np.load(allow_pickle=False)``."""
    found = []
    for path in CODE:
        tree = ast.parse(path.read_text(), str(path))
        imports = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                   for a in n.names} | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        if imports & {"pickle", "cPickle", "dill", "joblib", "cloudpickle", "shelve", "marshal"}:
            found.append(f"{path.relative_to(ROOT)} imports a pickle module")
        for call, name in _calls(tree):
            keywords = {k.arg: ast.unparse(k.value) for k in call.keywords}
            if name == "torch.load" and keywords.get("weights_only") != "True":
                found.append(f"{path.relative_to(ROOT)}:{call.lineno} torch.load without weights_only=True")
            if name in ("np.load", "numpy.load") and keywords.get("allow_pickle") != "False":
                found.append(f"{path.relative_to(ROOT)}:{call.lineno} np.load without allow_pickle=False")
    assert found == []


# --- names never become paths unsanitised ---------------------------------------------------------


@pytest.mark.parametrize("name", ["../escape", "..", "a/b", "/tmp/escape", "a\\b", "C:evil", "nul\x00byte",
                                  ".hidden", "", " ", "x" * 65, "a b", "<img src=x>", "digits-cnn/../../x"])
def test_a_model_name_with_path_characters_is_refused_and_nothing_is_written(tmp_path, monkeypatch, name):
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path / "models"))
    arch = architecture_for("mlp", "mnist", hidden=(512, 256), dropout=0.2)
    with pytest.raises(ValueError) as info:
        save_user_model(build_model(arch), {"architecture": arch, "dataset": "mnist"}, name)
    assert str(info.value) == ("Use 1–64 letters, digits, '-', '_' or '.', starting with a letter or digit "
                               "(the name becomes a file name).")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_valid_name_lands_in_the_user_models_folder_only(tmp_path, monkeypatch):
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path / "models"))
    arch = architecture_for("mlp", "mnist", hidden=(512, 256), dropout=0.2)
    path = save_user_model(build_model(arch), {"architecture": arch, "dataset": "mnist"}, "x" * 64)
    assert path.parent == tmp_path / "models"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["x" * 64 + ".json", "x" * 64 + ".safetensors"]


# --- user text is never raw HTML ------------------------------------------------------------------


def test_no_page_renders_markdown_as_raw_html():
    offenders = [f"{p.relative_to(ROOT)}" for p in CODE if "unsafe_allow_html" in p.read_text()]
    assert offenders == []


def test_user_class_names_are_escaped_in_the_html_builders():
    """Class names come from users (a photo head's folders, the camera classes' names): every HTML
    fragment the pages show escapes them."""
    from nnviz.figures.probability_html import input_image_html, probability_bars_html
    from nnviz.figures.training_curves import answers_html, prediction_grid_html
    from nnviz.jobs.live_run import Preview

    classes = [XSS, 'a" onmouseover="alert(1)'] + [f"c{i}" for i in range(8)]
    fragments = [probability_bars_html(np.full(10, 0.1), classes, 0),
                 input_image_html(np.zeros((28, 28)), title=XSS),
                 prediction_grid_html(np.zeros((2, 28, 28, 3), np.uint8), [0, 1], [1, 0], [0.9, 0.8], classes)]
    preview = Preview(pixels=np.zeros((2, 28, 28, 3), np.uint8), labels=np.array([0, 1]), classes=classes,
                      predicted=np.array([1, 0]), confidence=np.array([0.9, 0.8], np.float32))
    fragments.append(answers_html(preview))
    for html in fragments:
        assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert 'a" onmouseover' not in html


# --- the server listens on this machine unless opened on purpose ----------------------------------


def test_the_server_listens_on_localhost_with_its_protections_on():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["address"] == "localhost"
    # Streamlit's defaults (both on) stay: cross-site request forgery protection on uploads, and
    # no cross-origin requests.
    assert server.get("enableXsrfProtection", True) is True
    assert server.get("enableCORS", True) is True
    assert server["maxUploadSize"] == 50  # MB, the largest photo or zip a student can upload


@pytest.mark.parametrize("name", ["../../../escape.jpg", "/etc/passwd", "shot.<img src=x>", "a.j\x00pg", "..\\x.png"])
def test_a_camera_pictures_file_name_never_becomes_its_path(name, beagle):
    """The file a student gives the camera or the uploader is stored under its hash in the session's
    folder; of the student's name only a plain extension (``.png``) is kept."""
    from streamlit import session_state

    from ui.teach import Collection

    collection = Collection()
    assert collection.add(0, name, beagle.read_bytes()) is None
    [path] = collection.examples[0]
    folder = session_state["session_folder_camera"].path
    assert path.parent == folder / "0" and path.suffix in (".jpg", ".png") and path.stem.isalnum()
    assert path.read_bytes() == beagle.read_bytes()
    session_state["session_folder_camera"].remove()
