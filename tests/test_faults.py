"""Faults (issue 13, item 4): a crashing training run is reported and the app keeps serving; a
corrupt or truncated checkpoint is left out with a message naming its file; a save killed
half-way or refused by a full disk leaves the previous files intact and says so in plain words;
a restarted server loses no saved model; a missing test set leaves Inspect working on a drawing.

(A failing job's status and message at the worker's level: tests/test_worker.py.)
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from nnviz.checkpoints import checkpoint_problem, list_cards, load_checkpoint, save_checkpoint, save_user_model
from nnviz.events import EpochEnd
from nnviz.jobs.live_run import RunRecord
from nnviz.models import architecture_for, build_model
from nnviz.training import QUICK_CONFIG

ROOT = Path(__file__).resolve().parent.parent
SMALL_MLP = architecture_for("mlp", "mnist", hidden=[16])
DISK_FULL = "The model could not be saved: the disk is full. Nothing was overwritten; ask your teacher to free space."


@pytest.fixture
def models(tmp_path, monkeypatch):
    """An empty user models folder (``$NNVIZ_USER_MODELS``)."""
    folder = tmp_path / "models"
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(folder))
    return folder


def card() -> dict:
    """A model card as a training run writes it (the fields the pages read)."""
    return {"architecture": SMALL_MLP, "dataset": "mnist", "hyperparameters": QUICK_CONFIG.to_dict(),
            "metrics": {"test_accuracy": 0.9}}


def save_small(name: str, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    return save_user_model(build_model(SMALL_MLP), card(), name)


def digest(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden temporary files included) and its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- corrupt and truncated checkpoints ------------------------------------------------------------


def break_checkpoints(models: Path) -> None:
    """In ``models``: ``good``, ``truncated`` (its weights cut in half) and ``garbage`` (its card not JSON)."""
    for name in ("good", "truncated", "garbage"):
        save_small(name)
    weights = models / "truncated.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    (models / "garbage.json").write_text("{ not json")


def test_a_corrupt_checkpoint_is_named_and_skipped(models):
    break_checkpoints(models)
    problems = []
    names = [c["name"] for c in list_cards(problems=problems) if c["source"] == "user"]
    assert names == ["good", "truncated"]
    assert len(problems) == 1 and str(models / "garbage.json") in problems[0]
    assert checkpoint_problem(models / "good.json") is None
    problem = checkpoint_problem(models / "truncated.json")
    assert problem.startswith("The saved model 'truncated' cannot be used and is left out: truncated.safetensors ")


def test_the_app_starts_with_a_corrupt_checkpoint_and_the_others_work(models, open_page, mnist_test_pixels, canvas):
    break_checkpoints(models)
    seven = canvas(mnist_test_pixels[0][0])  # test image #0, a 7
    at = open_page("app_pages/draw.py", saved_models_mine={"good", "truncated"}, drawing=seven)
    [warning] = at.warning
    assert warning.value.startswith("The saved model 'truncated' cannot be used and is left out: truncated.safetensors")
    radio = at.radio(key="draw_model")
    assert [o.split(" (")[0] for o in radio.options] == ["CNN — digits-cnn", "MLP — digits-mlp", "MLP — digits-numpy",
                                                         "MLP — good"]
    radio.set_value("good").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric if m.label == "Prediction"] != ["—"]
    radio.set_value("digits-cnn").run()
    assert [m.value for m in at.metric if m.label == "Prediction"] == ["7"]


# --- saves that fail half-way ---------------------------------------------------------------------


@pytest.mark.parametrize("full_at", [1, 2], ids=["writing the weights", "writing the card"])
def test_a_full_disk_gives_a_message_and_changes_nothing(models, monkeypatch, full_at):
    save_small("before")
    before = digest(models)
    calls, fsync = [], os.fsync

    def disk_full(fd):
        calls.append(fd)
        if len(calls) >= full_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        fsync(fd)
    monkeypatch.setattr("nnviz.files.os.fsync", disk_full)
    with pytest.raises(ValueError) as info:
        save_small("after")
    assert str(info.value) == DISK_FULL
    assert digest(models) == before  # no new file, no temporary file, the other model untouched
    calls.clear()
    with pytest.raises(OSError):  # the command line's overwrite path: the previous checkpoint stays whole
        save_checkpoint(build_model(SMALL_MLP), {"architecture": SMALL_MLP, "dataset": "mnist"}, models / "before")
    assert digest(models) == before
    load_checkpoint("before")


def test_a_full_disk_on_the_train_page_is_a_message_not_a_traceback(models, open_page, monkeypatch):
    record = RunRecord(1, "MLP 16", "mnist", dict(SMALL_MLP), QUICK_CONFIG.to_dict(), "finished", "Finished.", (1,),
                       (0.5,), 10, (EpochEnd(1, 0.5, 0.8, 0.4, 0.85, 1.0),), 1.0,
                       model=build_model(SMALL_MLP), card={"architecture": SMALL_MLP, "dataset": "mnist"})
    at = open_page("app_pages/train.py", train_history=[record])
    at.text_input(key="train_name_1").set_value("kept")
    monkeypatch.setattr("nnviz.files.os.fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [DISK_FULL]
    assert not models.exists() or digest(models) == {}
    monkeypatch.undo()  # space again: the same name can be saved
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(models))
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert [s.value for s in at.success] == ["Saved as **kept**. Choose it on the **Draw** and **Inspect** pages."]


KILL_SCRIPT = """
import os, signal, sys, torch
import nnviz.files as files
from nnviz.checkpoints import save_checkpoint, save_user_model
from nnviz.models import architecture_for, build_model

where, how = sys.argv[1], sys.argv[2]
calls = {"n": 0}
def die(*args):  # the process is killed here: no cleanup, no finally
    calls["n"] += 1
    if calls["n"] == int(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real[where](*args)
real = {"fsync": os.fsync, "link": os.link, "replace": os.replace}
setattr(files.os, where, die)
arch = architecture_for("mlp", "mnist", hidden=[16])
torch.manual_seed(1)
if how == "new":
    save_user_model(build_model(arch), {"architecture": arch, "dataset": "mnist"}, "new")
else:
    save_checkpoint(build_model(arch), {"architecture": arch, "dataset": "mnist"}, os.environ["NNVIZ_USER_MODELS"] + "/before")
"""


@pytest.mark.parametrize("how, where, nth", [
    ("new", "fsync", 1),  # killed while writing the new weights
    ("new", "link", 1),  # between the weights' temporary file and its place
    ("new", "fsync", 2),  # weights in place, the card half written
    ("new", "link", 2),  # between the card's temporary file and its place
    ("overwrite", "fsync", 1),  # the command line's --overwrite, killed while writing the weights
    ("overwrite", "fsync", 2),  # ... while writing the card
    ("overwrite", "replace", 1),  # ... before the first rename
])
def test_a_save_killed_half_way_leaves_the_previous_files_intact(models, how, where, nth):
    save_small("before")
    before = {k: v for k, v in digest(models).items()}
    out = subprocess.run([sys.executable, "-c", KILL_SCRIPT, where, how, str(nth)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "NNVIZ_USER_MODELS": str(models)})
    assert out.returncode == -9, out.stderr  # killed by SIGKILL where asked
    after = digest(models)
    assert {k: after.get(k) for k in before} == before  # the previous model's two files, byte for byte
    load_checkpoint("before")
    assert [c["name"] for c in list_cards() if c["source"] == "user"] == ["before"]  # no half model listed


# --- restarting the server ------------------------------------------------------------------------


def test_a_saved_model_survives_a_restart(models, tmp_path, mnist_test_pixels, canvas, run_nnviz):
    """Saved by one process, used by a fresh one: on the command line and in a fresh app session."""
    save_small("mine", seed=3)
    image = tmp_path / "seven.png"
    Image.fromarray(canvas(mnist_test_pixels[0][0])[..., :3]).save(image)
    out = run_nnviz("predict", "--model", "mine", "--format", "json", str(image), env={"NNVIZ_USER_MODELS": str(models)})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["path"] == str(image)


@pytest.mark.browser
def test_a_saved_model_is_listed_by_a_freshly_started_server(models, start_app, chromium):
    save_small("kept-over-restart")
    url = start_app({"NNVIZ_USER_MODELS": str(models)})
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{url}/draw")
        page.get_by_text("Open a model you saved earlier").click()
        field = page.get_by_label("Its name", exact=True).and_(page.get_by_test_id("stTextInputField"))
        field.fill("kept-over-restart")
        field.press("Enter")
        page.get_by_text("MLP — kept-over-restart").wait_for(timeout=60_000)
    finally:
        context.close()


# --- a crashing training run ----------------------------------------------------------------------


def test_a_crashing_run_is_reported_and_the_app_keeps_serving(models, open_page, monkeypatch, mnist_test_pixels,
                                                               canvas):
    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash in the training loop")
    monkeypatch.setattr("nnviz.jobs.live_run.new_model", crash)
    monkeypatch.setenv("NNVIZ_MAX_RUNS", "1")
    at = open_page("app_pages/train.py")
    at.button(key="train_start").click().run()
    run = at.session_state["train_live"]
    assert run.worker.join(60)
    at.run()
    assert not at.exception, at.exception
    assert "The run failed: simulated crash in the training loop" in [e.value for e in at.error]
    assert not at.button(key="train_start").disabled  # the student can start again
    # Another session is served, and its run is admitted: the crashed run gave its slot back.
    other = open_page("app_pages/train.py")
    other.button(key="train_start").click().run()
    assert other.session_state["train_live"].worker.join(60)
    assert other.session_state["train_live"].worker.snapshot().status == "failed"  # it ran (and crashed too)
    draw = open_page("app_pages/draw.py", drawing=canvas(mnist_test_pixels[0][0]))
    assert [m.value for m in draw.metric if m.label == "Prediction"] == ["7"]


# --- a missing dataset ----------------------------------------------------------------------------


@pytest.fixture
def no_test_set(monkeypatch):
    """The MNIST test set cannot be had (offline, no data folder) for the app's caches."""
    from nnviz.data import DatasetUnavailable
    from ui import inspect_cache

    def unavailable(*args, **kwargs):
        raise DatasetUnavailable("MNIST handwritten digits is not available: could not find or download it.")
    monkeypatch.setattr(inspect_cache, "load_tensors", unavailable)
    inspect_cache.test_set.clear()
    inspect_cache.missing_test_set.clear()
    yield
    monkeypatch.undo()
    inspect_cache.test_set.clear()
    inspect_cache.missing_test_set.clear()


def test_inspect_works_on_a_drawing_without_the_test_set(no_test_set, open_page, mnist_test_pixels, canvas):
    at = open_page("app_pages/inspect.py", drawing=canvas(mnist_test_pixels[0][0]))
    assert not at.exception, at.exception
    assert [m.value for m in at.metric if m.label == "Prediction"] == ["7"]
    assert [h.value for h in at.header][:4] == ["1. The input", "2. The layers", "3. Inside conv1",
                                                "4. Where the network looks"]
    missing = [i.value for i in at.info if "MNIST test images, which are not on this server" in i.value]
    assert len(missing) == 2  # sections 5 and 6 say why they are empty, in one sentence
    assert missing[0] == ("This part needs the 10,000 MNIST test images, which are not on this server: run "
                          "`python -m nnviz data` to download them.")
    at.segmented_control(key="inspect_source").set_value("A test image").run()  # the shipped ones
    assert not at.exception, at.exception
    assert any("the test images are the 58 shipped with the app" in c.value for c in at.caption)
    assert [m.value for m in at.metric if m.label == "Input"] == ["#3"]  # the first shipped 0


def test_inspect_without_a_drawing_or_the_test_set_says_what_to_do(no_test_set, open_page):
    at = open_page("app_pages/inspect.py")
    assert not at.exception, at.exception
    assert any(i.value.startswith("No drawing yet: draw a digit on the **Draw a digit** page") for i in at.info)
    assert [m.value for m in at.metric if m.label == "Input"] == ["#0"]  # a shipped test image meanwhile
