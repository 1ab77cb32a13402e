"""Isolation (issue 13, item 3): two sessions at the same time never see each other's drawings,
uploads, runs or saved models. Headless sessions (AppTest) share the server process as real ones
do — its caches, its training queue, its user models folder — so anything kept there instead of
in the session would show up in the other session here; one test uses two real browser contexts.
"""

from __future__ import annotations

import gc

import pytest

from nnviz.events import EpochEnd
from nnviz.jobs.live_run import RunRecord
from nnviz.models import architecture_for, build_model
from nnviz.training import QUICK_CONFIG

SMALL_MLP = architecture_for("mlp", "mnist", hidden=[16])


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(folder))
    return folder


def prediction(at) -> list[str]:
    return [m.value for m in at.metric if m.label == "Prediction"]


def test_a_drawing_stays_in_its_session(open_page, mnist_test_pixels, canvas):
    alice = open_page("app_pages/draw.py", drawing=canvas(mnist_test_pixels[0][0]))
    bob = open_page("app_pages/draw.py")
    assert prediction(alice) == ["7"]
    assert prediction(bob) == ["—"]
    bob_inspect = open_page("app_pages/inspect.py")
    assert any(i.value.startswith("No drawing yet") for i in bob_inspect.info)
    alice.run()
    assert prediction(alice) == ["7"]  # Bob's visit changed nothing of Alice's


def finished_run() -> RunRecord:
    card = {"architecture": SMALL_MLP, "dataset": "mnist", "hyperparameters": QUICK_CONFIG.to_dict(),
            "metrics": {"test_accuracy": 0.9}}
    return RunRecord(1, "MLP 16", "mnist", dict(SMALL_MLP), QUICK_CONFIG.to_dict(), "finished", "Finished.", (1,),
                     (0.5,), 10, (EpochEnd(1, 0.5, 0.8, 0.4, 0.85, 1.0),), 1.0, model=build_model(SMALL_MLP),
                     card=card)


def test_runs_and_saved_models_stay_in_their_session(models, open_page, monkeypatch):
    def crash(*args, **kwargs):  # a run that ends at once: what matters is whose run it is
        raise RuntimeError("ended")
    monkeypatch.setattr("nnviz.jobs.live_run.new_model", crash)
    alice = open_page("app_pages/train.py", train_history=[finished_run()])
    alice.text_input(key="train_name_1").set_value("alices-net")
    alice.button[[b.label for b in alice.button].index("Save")].click().run()
    assert not alice.exception, alice.exception
    alice.button(key="train_start").click().run()
    assert alice.session_state["train_live"].worker.join(30)

    bob = open_page("app_pages/train.py")
    assert "train_live" not in bob.session_state and not bob.dataframe  # no run, no "Your runs" table
    assert not bob.button(key="train_start").disabled
    assert [s.value for s in bob.success] == []  # not told of Alice's save

    alice.switch_page("app_pages/draw.py").run()
    bob.switch_page("app_pages/draw.py").run()
    names = {who: [o.split(" (")[0] for o in at.radio(key="draw_model").options] for who, at in
             (("alice", alice), ("bob", bob))}
    assert "MLP — alices-net" in names["alice"]
    assert "MLP — alices-net" not in names["bob"] and "CNN — digits-cnn" in names["bob"]
    # Bob cannot take Alice's name and replace her model.
    bob.switch_page("app_pages/train.py").run()
    assert (models / "alices-net.json").is_file()
    from nnviz.checkpoints import save_user_model
    with pytest.raises(ValueError, match="A model called 'alices-net' already exists"):
        save_user_model(build_model(SMALL_MLP), finished_run().card, "alices-net")


def test_a_model_saved_by_two_sessions_at_once_under_one_name_keeps_the_first(models):
    """The name check and the write are one atomic step: of two saves racing for a name, exactly
    one wins and the other is told the name is taken (the winner's files are never replaced)."""
    import threading

    from nnviz.checkpoints import load_checkpoint, save_user_model

    barrier, outcomes = threading.Barrier(8), []

    def save(seed: int):
        import torch
        torch.manual_seed(seed)
        model = build_model(SMALL_MLP)
        barrier.wait()
        try:
            save_user_model(model, finished_run().card, "same-name")
            outcomes.append(("saved", seed, model.state_dict()["fc1.weight"].clone()))
        except ValueError as exc:
            outcomes.append(("refused", seed, str(exc)))

    threads = [threading.Thread(target=save, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = [o for o in outcomes if o[0] == "saved"]
    assert len(saved) == 1, [o[:2] for o in outcomes]
    assert all(o[2] == "A model called 'same-name' already exists; choose another name." for o in outcomes
               if o[0] == "refused")
    model, _ = load_checkpoint("same-name")
    assert (model.state_dict()["fc1.weight"] == saved[0][2]).all()


def test_uploads_live_in_each_sessions_own_folder_and_go_with_it(models, open_page, cifar_images, class_folder_zip):
    images = cifar_images("train", 4, classes=("cat", "frog"))
    alice = open_page("app_pages/photos.py", timeout=240)
    alice.file_uploader(key="photos_train_zip").set_value(("mine.zip", class_folder_zip(images),
                                                            "application/zip")).run()
    assert not alice.exception, alice.exception
    folder = alice.session_state["session_folder_train"].path
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) == 8 and all(folder in p.parents for p in files)

    bob = open_page("app_pages/photos.py", timeout=240)
    assert "session_folder_train" not in bob.session_state and "photos_training" not in bob.session_state
    bob.file_uploader(key="photos_train_zip").set_value(("theirs.zip", class_folder_zip(images),
                                                          "application/zip")).run()
    bob_folder = bob.session_state["session_folder_train"].path
    assert bob_folder != folder and folder not in bob_folder.parents and bob_folder not in folder.parents
    del alice  # Alice's session ends: Streamlit drops its session state
    gc.collect()
    assert not folder.exists()
    assert bob_folder.is_dir()  # Bob's files stay


@pytest.mark.browser
def test_two_browsers_never_see_each_others_drawing(chromium, app_url):
    from testkit.browser_drawing import SEVEN, draw_strokes, is_digit, open_draw_page, prediction_text, wait_for_prediction

    contexts = [chromium.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    try:
        alice, bob = (c.new_page() for c in contexts)
        box = open_draw_page(alice, app_url)
        open_draw_page(bob, app_url)
        draw_strokes(alice, box, SEVEN)
        assert wait_for_prediction(alice, is_digit)[0] == "7"
        bob.reload()
        open_draw_page(bob, app_url)
        assert prediction_text(bob) == "—"
        bob.goto(f"{app_url}/inspect")
        bob.get_by_text("No drawing yet").wait_for(timeout=60_000)
    finally:
        for c in contexts:
            c.close()
