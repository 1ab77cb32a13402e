"""Shared fixtures: real MNIST digits, the shipped networks, Streamlit pages under AppTest, a canvas
holding a real digit, a running app server, and a real Chromium page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("NNVIZ_CHROMIUM", "/usr/bin/chromium")
# Chromium on a machine without internet: no background connections, no sandbox (root in CI).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the app in a real headless Chromium")
    config.addinivalue_line("markers", "slow: trains or evaluates on a full dataset")


@pytest.fixture(scope="session")
def mnist_test():
    """The official MNIST test split: images (10000, 1, 28, 28) float32 normalised, labels (10000,)."""
    from nnviz.data import load_tensors
    return load_tensors("mnist", train=False)


@pytest.fixture(scope="session")
def mnist_test_pixels(mnist_test):
    """The official MNIST test images as uint8 (10000, 28, 28), 0–255 ink high, and labels."""
    from nnviz.data import load_torchvision_dataset
    ds = load_torchvision_dataset("mnist", train=False)
    return ds.data.numpy(), ds.targets.numpy()


# --- networks, pages, canvas ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def cnn():
    """The shipped digits CNN and its model card, ``(model, card)``, loaded once (never modify it)."""
    from nnviz.checkpoints import load_checkpoint
    return load_checkpoint("digits-cnn")


@pytest.fixture(scope="session")
def mlp():
    """The shipped digits MLP and its model card, ``(model, card)``, loaded once (never modify it)."""
    from nnviz.checkpoints import load_checkpoint
    return load_checkpoint("digits-mlp")


@pytest.fixture(scope="session")
def open_page():
    """``open_page("app_pages/draw.py", timeout=120, **session_state)``: one headless AppTest
    session of the app, on that page (None: the Home page), with the given session state set
    before its first run; it has run without an exception."""
    from streamlit.testing.v1 import AppTest

    def open_(page: str | None = None, timeout: float = 120, **session_state):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        for key, value in session_state.items():
            at.session_state[key] = value
        if page is not None:
            # Before a first run AppTest finds a page by its file name, which misses a page whose
            # url_path differs from it (under_the_hood.py is /under-the-hood): run Home first.
            at.run()
            at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
        return at

    return open_


def digit_canvas(pixels28, size: int = 280, offset: tuple[int, int] = (0, 0)):
    """A real MNIST digit (uint8 28×28, ink high) drawn large on a black ``size``×``size`` RGBA
    canvas, white ink, as the Draw page's canvas returns it: the digit fills 5/7 of the side
    (200 px of 280), centred, moved by ``offset`` (rows, columns) pixels."""
    import numpy as np
    from PIL import Image

    side = size * 5 // 7
    big = np.asarray(Image.fromarray(pixels28).resize((side, side), Image.Resampling.BILINEAR))
    canvas = np.zeros((size, size, 4), np.uint8)
    canvas[..., 3] = 255
    top, left = (size - side) // 2 + offset[0], (size - side) // 2 + offset[1]
    canvas[top:top + side, left:left + side, :3] = big[..., None]
    return canvas


@pytest.fixture(scope="session")
def canvas():
    """The canvas builder :func:`digit_canvas`: ``canvas(pixels28, size=280, offset=(0, 0))``."""
    return digit_canvas


@pytest.fixture
def workers():
    """Training workers made by a test (append them); stopped at the end even if the test fails."""
    made = []
    yield made
    for w in made:
        w.stop(wait_s=5)


# --- app server and browser ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(command: list[str], port: int, log: Path, env: dict[str, str], timeout_s: float) -> tuple[subprocess.Popen, str]:
    """Run ``command`` (a server that will answer on loopback ``port``) with ``env`` added to the
    environment and its output in ``log``; returns ``(process, url)`` once ``/_stcore/health``
    answers "ok", or fails the test (with the log's end) if it exits or ``timeout_s`` passes."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout_s
    while time.time() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    _stop_server(proc)
    pytest.fail(f"{command[:3]} did not start within {timeout_s:g} s:\n{log.read_text()[-3000:]}")


def _start_server(log: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` on a free loopback port with ``env`` added to the environment;
    returns ``(process, url)`` once it answers its health check (fails the test otherwise)."""
    port = _free_port()
    return _launch([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                    "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats",
                    "false"], port, log, env, timeout_s=90)


def _stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _start_class_server(log: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Two app processes behind nginx (``scripts/serve_class.sh``) on free loopback ports; returns
    ``(the script's process, nginx's url)`` once nginx answers the health check."""
    port, first = _free_port(), _free_port()  # the app processes take ``first`` and ``first + 1``
    return _launch(["bash", "scripts/serve_class.sh", "--processes", "2", "--listen", f"127.0.0.1:{port}",
                    "--first-port", str(first)], port, log, {**env, "PYTHON": sys.executable}, timeout_s=120)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """A real ``streamlit run app.py`` server on a free loopback port, for the whole session. With
    ``NNVIZ_TEST_PROXY=1`` in the environment: two app processes behind nginx with sticky sessions
    (``scripts/serve_class.sh``), so that every browser test runs through the class set-up."""
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = {"NNVIZ_USER_MODELS": str(tmp_path_factory.mktemp("user_models"))}
    start = _start_class_server if os.environ.get("NNVIZ_TEST_PROXY") else _start_server
    proc, url = start(log, env)
    yield url
    _stop_server(proc)


@pytest.fixture
def start_app(tmp_path):
    """``start_app(env) -> url``: a fresh ``streamlit run app.py`` process of this test's own (e.g. a
    restarted server, or one with its own user models folder), stopped at the end of the test."""
    started = []

    def start(env: dict[str, str]) -> str:
        proc, url = _start_server(tmp_path / f"streamlit-{len(started)}.log", env)
        started.append(proc)
        return url
    yield start
    for proc in started:
        _stop_server(proc)


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium driven by Playwright's Python client."""
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser page (its own Streamlit session), 1400×1000."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


# --- photos -----------------------------------------------------------------------------------
# Real photos for the Photos tests: the shared animal photos (``shared/data/animals``) and CIFAR-10
# JPEGs (extracted once into the data cache, never into ``shared/``), small zips built from them,
# and the pretrained classifier. Photo test modules run on one torch thread:
# ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.

SHARED_DATA = ROOT.parent / "shared" / "data"
# The product never looks there; tests point it at the development data through its variables
# (inherited by the app servers the tests start). A test of a clean clone removes them.
if (SHARED_DATA / "animals").is_dir():
    os.environ.setdefault("NNVIZ_EXAMPLE_PHOTOS", str(SHARED_DATA / "animals"))
if (SHARED_DATA / "cifar10").is_dir():
    os.environ.setdefault("NNVIZ_CIFAR10_DIR", str(SHARED_DATA / "cifar10"))


@pytest.fixture(scope="session")
def animals() -> Path:
    """The folder of real animal photos: ``pets/…``, ``camera_trap/…`` and ``labels.csv``."""
    return SHARED_DATA / "animals"


@pytest.fixture(scope="session")
def animal_labels(animals) -> list[dict[str, str]]:
    """Rows of ``animals/labels.csv`` (filename, label, conservision_class, …)."""
    import csv

    with open(animals / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def beagle(animals) -> Path:
    return animals / "pets" / "Beagle_01125.jpg"


@pytest.fixture(scope="session")
def leopard(animals) -> Path:
    """A Snapshot Serengeti camera-trap frame, 512 × 267 (landscape)."""
    return animals / "camera_trap" / "leopard-1.jpg"


@pytest.fixture(scope="session")
def cifar_images():
    """``cifar_images(split, per_class, classes=CIFAR10_ANIMALS, start=0) -> {class: [paths]}``:
    images ``start`` … ``start + per_class - 1`` of each class of the CIFAR-10 ``split`` ("train"
    or "test"), extracted on first use into ``data/cifar10/``."""
    import tarfile

    from nnviz.data import CIFAR10_ANIMALS, data_root

    def images(split: str, per_class: int, classes=CIFAR10_ANIMALS, start: int = 0) -> dict[str, list[Path]]:
        dest = data_root() / "cifar10"
        wanted = {c: [dest / split / c / f"{i:04d}.jpg" for i in range(start, start + per_class)] for c in classes}
        missing = {str(p.relative_to(dest)) for ps in wanted.values() for p in ps if not p.is_file()}
        if missing:
            with tarfile.open(SHARED_DATA / "cifar10" / f"cifar10_{split}_jpg.tar.gz") as tar:
                for member in tar:
                    if member.name in missing and member.isfile():
                        tar.extract(member, dest, filter="data")
        return wanted
    return images


@pytest.fixture(scope="session")
def class_folder_zip():
    """``class_folder_zip({class: [paths]}, wrapper="photos") -> bytes``: a zip with one folder per
    class (inside a wrapper folder, as zipping a folder makes)."""
    import io
    import zipfile

    def make(images: dict[str, list[Path]], wrapper: str = "photos") -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for cls, paths in images.items():
                for p in paths:
                    z.write(p, f"{wrapper}/{cls}/{p.name}")
        return buf.getvalue()
    return make


@pytest.fixture(scope="session")
def submission_zip():
    """``submission_zip(paths, extra=None) -> (zip bytes, ids)``: a zip of unlabelled photos with
    ``test_features.csv`` (id, filepath, site), the ids in CSV order. ``extra`` adds files
    (name → bytes) that are listed too."""
    import io
    import zipfile

    def make(paths: list[Path], extra: dict[str, bytes] | None = None) -> tuple[bytes, list[str]]:
        buf = io.BytesIO()
        rows, ids = ["id,filepath,site"], []
        with zipfile.ZipFile(buf, "w") as z:
            items = [(f"ZJ{i:04d}", f"test_features/{p.parent.name}_{p.name}", p.read_bytes())
                     for i, p in enumerate(paths)]
            items += [(f"ZX{i:04d}", f"test_features/{name}", data) for i, (name, data) in enumerate((extra or {}).items())]
            for i, (id_, path, data) in enumerate(items):
                z.writestr(path, data)
                rows.append(f"{id_},{path},S{i % 4:04d}")
                ids.append(id_)
            z.writestr("test_features.csv", "\n".join(rows) + "\n")
        return buf.getvalue(), ids
    return make


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's forward passes on one CPU thread, as the app's pages do: on a shared, busy
    2-core machine two OpenMP threads wait on each other (measured 1.3 s against 0.03 s per
    photo). The previous setting is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def animal_classifier():
    """The pretrained EfficientNet-Lite0 with the animal groups (:class:`nnviz.photos.classify.AnimalClassifier`)."""
    from nnviz.photos.classify import AnimalClassifier

    return AnimalClassifier()


@pytest.fixture(scope="session")
def run_nnviz():
    """``run_nnviz(*args, env=None)``: ``python -m nnviz ARGS`` in the project folder (``env`` adds
    environment variables), its ``CompletedProcess`` with text output."""
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nnviz", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=300, env={**os.environ, **(env or {})})
    return run


@pytest.fixture
def photos_page(tmp_path, monkeypatch, open_page):
    """The Photos page in a fresh AppTest session, user models in a temporary folder."""
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path / "models"))
    return open_page("app_pages/photos.py", timeout=240)


@pytest.fixture
def train_photo_head():
    """``train_photo_head(at, timeout=90)``: on an AppTest Photos page whose photos are loaded, run
    them through the network, train the head, wait for its results; returns the held-out accuracy
    shown (e.g. ``"75.0%"``)."""
    def train(at, timeout: float = 90) -> str:
        at.button(key="photos_extract").click().run()
        assert not at.exception, at.exception
        at.button(key="photos_train").click().run()
        deadline = time.time() + timeout
        while not any(m.label == "Held-out accuracy" for m in at.metric) and time.time() < deadline:
            time.sleep(0.5)
            at.run()
        assert not at.exception, at.exception
        return next(m.value for m in at.metric if m.label == "Held-out accuracy")

    return train
