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
    before its first run; it has run once without an exception."""
    from streamlit.testing.v1 import AppTest

    def open_(page: str | None = None, timeout: float = 120, **session_state):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        for key, value in session_state.items():
            at.session_state[key] = value
        if page is not None:
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


# --- app server and browser ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """A real ``streamlit run app.py`` server on a free loopback port, for the whole session."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = {**os.environ, "NNVIZ_USER_MODELS": str(tmp_path_factory.mktemp("user_models"))}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start within 90 s:\n{log.read_text()[-3000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


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
