"""Every page works offline with no dataset: the data root is an empty folder (NNVIZ_DATA_DIR),
as on a fresh install without internet. Pages render without an exception or a traceback, use
the MNIST test digits shipped in nnviz/sample_digits where they need an example, and say in one
sentence, pointing to `python -m nnviz data`, where the full dataset is needed."""

from __future__ import annotations

import numpy as np
import pytest

PAGES = ["app_pages/home.py", "app_pages/draw.py", "app_pages/inspect.py", "app_pages/train.py",
         "app_pages/class_runs.py", "app_pages/under_the_hood.py", "app_pages/photos.py"]
DATA_HINT = "`python -m nnviz data"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty data root and user models folder for this test. The process-wide tensor cache is
    keyed by the root; Streamlit's caches (the test set, whether it is missing) are cleared before
    and after, so that neither the real ./data nor its absence leaks between tests."""
    import streamlit as st

    monkeypatch.setenv("NNVIZ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path / "models"))
    (tmp_path / "data").mkdir()
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path / "data"
    st.cache_data.clear()
    st.cache_resource.clear()


def texts(at) -> list[str]:
    """Every message, markdown and caption the page shows."""
    return [e.value for kind in ("error", "warning", "info", "success", "markdown", "caption")
            for e in getattr(at, kind)]


def test_the_shipped_samples_are_the_official_test_images(mnist_test_pixels):
    from nnviz.samples import sample_digits

    pixels, labels = mnist_test_pixels
    samples = sample_digits()
    assert 40 <= len(samples) <= 80 and sorted(set(samples.labels.tolist())) == list(range(10))
    assert np.array_equal(samples.pixels, pixels[samples.indices])
    assert np.array_equal(samples.labels, labels[samples.indices])


def test_the_samples_carry_their_licence():
    from nnviz.samples import SAMPLES_FILE

    note = (SAMPLES_FILE.parent / "README.md").read_text()
    assert "CC BY-SA 3.0" in note and "Yann LeCun" in note and "Corinna Cortes" in note


def test_mnist_index_resolves_to_a_shipped_sample_offline(offline, mnist_test_pixels):
    from nnviz.samples import test_image

    pixels, labels = mnist_test_pixels
    x, image, label = test_image(8)
    assert label == labels[8] and np.allclose(image, pixels[8] / 255.0)
    assert x.shape == (1, 1, 28, 28)
    with pytest.raises(LookupError, match=r"python -m nnviz data"):
        test_image(9999)  # not shipped


def test_cli_inspect_works_offline_on_a_shipped_index(offline, run_nnviz):
    done = run_nnviz("inspect", "--model", "digits-cnn", "--layer", "fc1", "mnist:8", env={"NNVIZ_DATA_DIR": str(offline)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("digits-cnn on MNIST test image #8 (label 5): predicts 5")
    done = run_nnviz("inspect", "--model", "digits-cnn", "mnist:9999", env={"NNVIZ_DATA_DIR": str(offline)})
    assert done.returncode == 1 and "python -m nnviz data" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_the_dataset(offline, open_page, page):
    at = open_page(page if page != "app_pages/home.py" else None, timeout=240)
    assert not at.exception, at.exception
    shown = texts(at)
    assert not any("Traceback" in t or "DatasetUnavailable" in t or "ubyte" in t for t in shown), shown
    if page == "app_pages/train.py":
        assert any(DATA_HINT in t for t in shown), shown
    if page == "app_pages/inspect.py":
        needs = [t for t in shown if DATA_HINT in t]
        assert needs and all(t.count(". ") <= 1 for t in needs), needs  # one sentence each
    if page == "app_pages/under_the_hood.py":
        assert any("test image #" in t for t in shown)


def test_inspect_offers_the_shipped_test_images_offline(offline, open_page):
    at = open_page("app_pages/inspect.py", timeout=240)
    at.segmented_control(key="inspect_source").set_value("A test image").run()
    at.selectbox(key="inspect_class").set_value(5).run()
    assert not at.exception, at.exception
    inputs = {m.label: m.value for m in at.metric}
    assert inputs["Input"].startswith("#") and inputs["Prediction"] == "5"
    at.segmented_control(key="inspect_source").set_value("Show me a mistake").run()
    assert not at.exception, at.exception


def test_a_run_without_the_dataset_fails_in_one_plain_sentence(offline, workers):
    from nnviz.jobs.live_run import TrainJob
    from nnviz.jobs.metrics import FAILED
    from nnviz.jobs.worker import TrainingWorker
    from nnviz.training import QUICK_CNN, QUICK_CONFIG

    worker = TrainingWorker(TrainJob(dict(QUICK_CNN), "mnist", QUICK_CONFIG)).start()
    workers.append(worker)
    assert worker.join(60)
    snap = worker.snapshot()
    assert snap.status == FAILED
    assert snap.message == ("The run could not start. The MNIST handwritten digits dataset is not on this server: "
                            "run `python -m nnviz data mnist` to download it.")


@pytest.mark.browser
def test_every_page_in_chromium_without_the_dataset(start_app, chromium, tmp_path):
    (tmp_path / "empty").mkdir()
    url = start_app({"NNVIZ_DATA_DIR": str(tmp_path / "empty"), "NNVIZ_USER_MODELS": str(tmp_path / "models")})
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        for path in ["", "draw", "inspect", "train", "class_runs", "under-the-hood", "photos"]:
            page.goto(f"{url}/{path}")
            page.get_by_role("heading", level=1).first.wait_for()
            # Wait until the script run is over (Streamlit shows its status widget while running).
            page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')")
            assert page.locator("[data-testid='stException']").count() == 0, path
            assert "Traceback" not in page.inner_text("body"), path
            if path == "under-the-hood":
                page.get_by_text("No drawing yet, so this is test image #").wait_for()
    finally:
        context.close()
