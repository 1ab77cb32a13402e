"""The Train page: headless with AppTest, and live in a real Chromium."""

from __future__ import annotations

import json
import re
import time

import pytest


def live_figures(at) -> list[dict]:
    """The plotly figures of the page's live charts in an AppTest run (the loss chart, then the
    epoch chart): each is a live chart component, its figure the component's ``figure`` argument."""
    figures = []
    for component in at.get("component_instance"):
        args = json.loads(component.proto.json_args)
        if "figure" in args:
            figures.append(json.loads(args["figure"]))
    return figures


def loss_figure(at) -> dict:
    [loss] = [f for f in live_figures(at) if f["layout"].get("title", {}).get("text") == "Training loss per batch"]
    return loss


def epoch_figure(at) -> dict:
    [epochs] = [f for f in live_figures(at)
                if [a["text"] for a in f["layout"].get("annotations", [])][:2] == ["Loss per epoch", "Accuracy per epoch"]]
    return epochs


def loss_points(at) -> int:
    """Points on the batch-loss chart of an AppTest run."""
    return array_length(loss_figure(at)["data"][0]["x"])


def array_length(x) -> int:
    """Length of a plotly data array: a list, or plotly's base64 typed array {dtype, bdata}."""
    if isinstance(x, dict):
        import base64
        import numpy as np
        return len(np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]))
    return len(x)


@pytest.fixture
def train_page(tmp_path, monkeypatch, open_page):
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path))
    at = open_page("app_pages/train.py", timeout=60)
    yield at
    run = at.session_state["train_live"] if "train_live" in at.session_state else None
    if run is not None:
        run.worker.stop(wait_s=5)


def test_apptest_run_grows_then_stops_and_saves(train_page, tmp_path):
    at = train_page
    assert at.button(key="train_start").label == "Start training"
    # Before any run the charts span the quick recipe's 1 epoch and say what will appear.
    assert loss_figure(at)["layout"]["xaxis"]["range"] == [0, 1]
    assert epoch_figure(at)["layout"]["xaxis"]["range"] == [0, 1.2]
    assert loss_points(at) == 0
    at.segmented_control(key="train_kind").set_value("mlp")
    at.run()
    at.select_slider(key="train_layers").set_value(1)
    at.select_slider(key="train_width").set_value(64)
    at.number_input(key="train_epochs").set_value(30)  # all 60,000 images, 30 times: long enough to stop
    at.toggle(key="train_sched").set_value(False)
    at.run()
    assert not at.exception, at.exception
    # The planned 30 epochs are the charts' x axes.
    assert loss_figure(at)["layout"]["xaxis"]["range"] == [0, 30]
    assert epoch_figure(at)["layout"]["xaxis"]["range"] == [0, 30.2]
    at.button(key="train_start").click()
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="train_start").disabled  # one run at a time per session
    label = "MLP 64 relu · Adam lr 0.01 · batch 64 · mnist"  # the settings chosen above
    assert f"**Run #1** — {label}" in [m.value for m in at.markdown]
    worker = at.session_state["train_live"].worker
    assert worker.job.architecture["hidden"] == [64] and worker.job.config.schedule == "constant"
    deadline = time.monotonic() + 60
    while len(worker.snapshot().steps) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    first = loss_points(at)
    assert first >= 3
    # The run goes on by itself: once the worker has recorded more steps, a rerun draws them.
    deadline = time.monotonic() + 60
    while len(worker.snapshot().steps) <= first and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    assert loss_points(at) > first, "the loss chart did not gain points"
    [progress] = at.get("progress")
    assert re.match(r"Epoch \d+ of 30 · batch [\d,]+ of 28,140 in the run · ", progress.proto.text), progress.proto.text

    at.button(key="train_stop").click()
    at.run()
    assert not worker.alive
    at.run()
    assert "Stopped; the network keeps what it learned so far." in [w.value for w in at.warning]
    assert not at.button(key="train_start").disabled
    # The stopped run is listed and can be saved under a name.
    [runs] = at.dataframe
    row = runs.value.iloc[0].to_dict()
    assert len(runs.value) == 1 and row["run"] == "#1" and row["network and recipe"] == label
    assert row["status"] == "stopped" and row["epochs"].endswith(" / 30")
    name = at.text_input(key="train_name_1")
    name.set_value("my-first-net")
    at.button[[b.label for b in at.button].index("Save")].click()
    at.run()
    assert not at.exception, at.exception
    assert (tmp_path / "my-first-net.safetensors").is_file() and (tmp_path / "my-first-net.json").is_file()
    card = json.loads((tmp_path / "my-first-net.json").read_text())
    assert card["dataset"] == "mnist" and card["metrics"]["stopped_early"]
    assert [s.value for s in at.success] == [
        "Saved as **my-first-net**. Choose it on the **Draw** and **Inspect** pages."]


def test_apptest_divergence_is_explained(train_page):
    at = train_page
    at.segmented_control(key="train_kind").set_value("mlp")
    at.run()
    at.select_slider(key="train_lr").set_value(100.0)
    at.segmented_control(key="train_opt").set_value("sgd")
    at.toggle(key="train_sched").set_value(False)
    at.select_slider(key="train_n_mnist").set_value(1000)
    at.button(key="train_start").click()
    at.run()
    worker = at.session_state["train_live"].worker
    assert worker.join(60)
    at.run()
    at.run()
    [error] = [e.value for e in at.error]
    assert re.fullmatch(r"Training stopped: the loss became (NaN|infinite) at batch [\d,]+ of the run \(in epoch 1\)\. The weights grew "
                        r"out of control, which almost always means the learning rate \(100\) is too high for this "
                        r"model and optimizer\. Try a smaller learning rate, e\.g\. 10\.", error), error


def test_apptest_replay_loads_a_runs_settings_and_labels_the_comparison(train_page):
    """Replay run #1 with one change: its settings come back into the widgets (same seed, so the same
    starting weights and order of images), and the overlay names the runs by number and the change."""
    at = train_page
    at.segmented_control(key="train_kind").set_value("mlp")
    at.run()
    at.select_slider(key="train_width").set_value(32)
    at.select_slider(key="train_lr").set_value(0.001)
    at.select_slider(key="train_n_mnist").set_value(1000)
    at.number_input(key="train_seed").set_value(7)
    at.button(key="train_start").click()
    at.run()
    first = at.session_state["train_live"]
    assert first.worker.join(60)
    at.run()
    # Back to the defaults by hand, then load run #1's settings.
    at.select_slider(key="train_lr").set_value(0.1)
    at.number_input(key="train_seed").set_value(0)
    at.run()
    at.button(key="train_replay").click()
    at.run()
    assert not at.exception, at.exception
    assert at.select_slider(key="train_lr").value == 0.001 and at.number_input(key="train_seed").value == 7
    assert at.select_slider(key="train_width").value == 32 and at.select_slider(key="train_n_mnist").value == 1000
    at.select_slider(key="train_lr").set_value(0.01)  # the one change
    at.button(key="train_start").click()
    at.run()
    second = at.session_state["train_live"]
    assert second.worker.join(60)
    assert second.job.architecture == first.job.architecture
    assert {**second.job.config.to_dict(), "learning_rate": 0.001} == first.job.config.to_dict()
    at.run()
    at.run()
    legend = [t["name"] for t in json.loads(at.get("plotly_chart")[-1].proto.spec)["data"] if t.get("showlegend", True)]
    assert legend == ["#1 · lr 0.001", "#2 · lr 0.01"]


@pytest.mark.browser
def test_browser_run_grows_live_and_stops(page, app_url):
    page.goto(f"{app_url}/train")
    page.get_by_role("button", name="Start training").click()
    count_js = """() => {
        const plots = [...document.querySelectorAll('.js-plotly-plot')];
        const p = plots.find(p => (p.layout?.title?.text || '').includes('Training loss'));
        return p && p._fullData && p._fullData[0] ? p._fullData[0].x.length : 0;
    }"""

    def points() -> int:
        """Points on the loss chart, which is drawn in the live chart component's frame."""
        from playwright.sync_api import Error

        counts = [0]
        for frame in page.frames:
            try:
                counts.append(frame.evaluate(count_js))
            except Error:  # a frame that went away while we looked
                pass
        return max(counts)

    deadline = time.monotonic() + 60
    while points() < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    first = points()
    assert first >= 3
    deadline = time.monotonic() + 30
    while points() <= first + 5 and time.monotonic() < deadline:  # the chart grows by itself
        time.sleep(0.2)
    assert points() > first + 5
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("keeps what it learned so far").wait_for(timeout=10_000)
    # Once stopped, the progress line says the run's last batch, and the chart's frame draws the
    # run's last points a moment after the message: wait until it holds exactly that many.
    progress = page.get_by_text(re.compile(r"Epoch \d+ of \d+ · batch [\d,]+ of")).inner_text()
    stopped = int(re.search(r"batch ([\d,]+) of", progress).group(1).replace(",", ""))
    deadline = time.monotonic() + 20
    while points() != stopped and time.monotonic() < deadline:
        time.sleep(0.2)
    assert points() == stopped  # one point per batch the stopped run trained, none after
    assert page.get_by_role("button", name="Start training").is_enabled()
