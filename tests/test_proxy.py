"""A class served by two app processes behind nginx (``scripts/serve_class.sh`` with
``deploy/nginx/nnviz.conf``), in a real Chromium through the proxy: the first response gives the
browser its routing cookie; a drawing is answered; a
photo upload (an HTTP PUT beside the websocket) is answered; every request of a browser reaches one
process, read from nginx's access log; a file download (a ``/media`` URL) is served; a network saved through one process opens by its name in a session of the other;
without the sticky routing, the same requests land on both processes and uploads fail; Ctrl-C stops
every process the script started."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
from playwright.sync_api import expect

from testkit.browser_drawing import SEVEN, draw_strokes, is_digit, open_draw_page, wait_for_prediction

ROOT = Path(__file__).resolve().parent.parent
# Debian puts nginx in /usr/sbin, which is not on a normal user's PATH.
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(NGINX is None,
                                 reason="nginx is not installed (apt-get install nginx; scripts/test.sh does)")]


# deploy/nginx/nnviz.conf's log_format nnviz_upstream.
LOG_LINE = re.compile(r'\S+ (\S+) (\d+) "([^"]*)" "(.*)"')


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def _free_ports(n: int) -> int:
    """The first of ``n`` consecutive free loopback ports."""
    for _ in range(200):
        first = random.randrange(20000, 60000)
        if all(_port_free(first + i) for i in range(n)):
            return first
    raise RuntimeError("no free ports")


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 150) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve_class.sh ended (status {proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the class server did not answer within {timeout_s:g} s:\n{log.read_text()[-3000:]}")


class ClassServer:
    """The running script: its proxy URL, its app ports and nginx's folder (logs, config)."""

    def __init__(self, url: str, app_ports: list[int], folder: Path):
        self.url, self.app_ports, self.folder = url, app_ports, folder

    def routes(self) -> dict[str, list[tuple[str, int, str]]]:
        """nginx's access log: ``{routing key: [(app address, status, request line), ...]}``."""
        routes = defaultdict(list)
        for line in (self.folder / "access.log").read_text().splitlines():
            key, status, upstream, request = LOG_LINE.fullmatch(line).groups()
            routes[key].append((upstream, int(status), request))
        return routes

    def backend_of(self, context) -> str:
        """The app process (``127.0.0.1:port``) serving a browser context, asked with one request
        if the context has no cookie yet."""
        key = routing_cookie(context)
        if key is None:
            context.request.get(f"{self.url}/_stcore/health")
            key = routing_cookie(context)
        return self.routes()[key][-1][0]


def routing_cookie(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == "nnviz_backend"), None)


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    """``serve_class.sh --processes 2`` on free loopback ports, the user models in a temporary
    folder; stopped at the end with SIGINT (Ctrl-C), which must stop all its processes."""
    folder, models = tmp_path_factory.mktemp("nginx"), tmp_path_factory.mktemp("shared_models")
    first, listen = _free_ports(2), _free_ports(1)
    log = folder.parent / "serve_class.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", "scripts/serve_class.sh", "--processes", "2", "--listen", f"127.0.0.1:{listen}",
                                 "--first-port", str(first), "--dir", str(folder)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                # The app processes run with this python: any environment nnviz is installed in.
                                env={**os.environ, "NNVIZ_USER_MODELS": str(models), "PYTHON": sys.executable},
                                # As in a terminal: a test run started in the background (CI, nohup …
                                # &) ignores SIGINT, and bash cannot trap a signal ignored on entry.
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    server = ClassServer(f"http://127.0.0.1:{listen}", [first, first + 1], folder)
    try:
        _wait_healthy(server.url, proc, log)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)  # the script alone, as its trap must stop the rest
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("serve_class.sh did not stop within 30 s of Ctrl-C")
    listening = [p for p in (listen, first, first + 1) if _listening(p)]
    assert not listening, f"ports {listening} still answer after Ctrl-C:\n{log.read_text()[-2000:]}"


@pytest.fixture
def context(chromium):
    """A fresh browser context (its own cookies: one student), 1400×1000."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    yield context
    context.close()


def assert_one_process_per_browser(server: ClassServer) -> None:
    for key, requests in server.routes().items():
        assert len({upstream for upstream, _, _ in requests}) == 1, (key, requests)


def test_draw_and_upload_through_the_proxy_stay_on_one_process(class_server, context, beagle, tmp_path):
    page = context.new_page()
    box = open_draw_page(page, class_server.url)
    key = routing_cookie(context)
    assert key is not None, "the first response set no nnviz_backend cookie"
    cookie = next(c for c in context.cookies() if c["name"] == "nnviz_backend")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    first = class_server.routes()[key][0]
    assert first[2].startswith("GET /draw "), first  # the cookie came with the very first response

    draw_strokes(page, box, SEVEN)
    assert wait_for_prediction(page, is_digit)[0] == "7"
    expect(page.get_by_alt_text("Network input, 28×28")).to_be_visible()

    page.goto(f"{class_server.url}/photos")
    page.get_by_text("Upload one or many photos").wait_for(timeout=90_000)
    page.locator("input[type=file]").first.set_input_files([str(beagle)])
    metric = page.locator("[data-testid=stMetric]").first
    metric.wait_for(timeout=90_000)
    assert "dog (beagle)" in metric.inner_text()

    requests = class_server.routes()[key]
    assert any(r.startswith("PUT /_stcore/upload_file/") and s in (200, 204) for _, s, r in requests), requests
    assert any(r.startswith("GET /_stcore/stream") for _, _, r in requests), requests
    assert_one_process_per_browser(class_server)


def test_a_model_saved_through_one_process_opens_in_the_other(class_server, chromium):
    contexts = [chromium.new_context(viewport={"width": 1400, "height": 1000})]
    try:
        saver = class_server.backend_of(contexts[0])
        while len(contexts) < 12:  # a fresh browser is placed at random: find one on the other process
            contexts.append(chromium.new_context(viewport={"width": 1400, "height": 1000}))
            if class_server.backend_of(contexts[-1]) != saver:
                break
        else:
            pytest.fail("12 fresh browsers all landed on one process")
        name = f"shared-{random.randrange(10**6)}"

        train = contexts[0].new_page()
        train.set_default_timeout(60_000)
        train.goto(f"{class_server.url}/train")
        # The code download is a file in the process's media store, fetched by plain HTTP (/media/…).
        train.get_by_text("The code behind this run").click()
        with train.expect_download() as download:
            train.get_by_role("button", name="Download train_nnviz.py").click()
        assert "import torch" in Path(download.value.path()).read_text()
        key = routing_cookie(contexts[0])
        assert any(r.startswith("GET /media/") and s == 200 for _, s, r in class_server.routes()[key])
        train.get_by_role("button", name="Start training").click()
        train.get_by_role("button", name="Stop", exact=True).wait_for()
        train.get_by_text(re.compile(r"batch [1-9][\d,]* of")).wait_for()  # a few steps of learning
        train.get_by_role("button", name="Stop", exact=True).click()
        train.get_by_text("keeps what it learned so far").wait_for()
        train.get_by_role("textbox", name="Name").fill(name)
        train.get_by_role("button", name="Save", exact=True).click()
        train.get_by_text(f"Saved as {name}").wait_for()

        # Saved models are private to their session (ui/saved_models.py): the student reopens it by
        # name, here from a session held by the other process, which finds it in the shared folder.
        draw = contexts[-1].new_page()
        draw.set_default_timeout(60_000)
        draw.goto(f"{class_server.url}/draw")
        draw.get_by_text("Open a model you saved earlier").click()
        draw.get_by_role("textbox", name="Its name").fill(name)
        draw.get_by_role("textbox", name="Its name").press("Enter")
        expect(draw.get_by_text(f"CNN — {name}")).to_have_count(1, timeout=30_000)
        assert class_server.backend_of(contexts[-1]) != saver
        assert_one_process_per_browser(class_server)
    finally:
        for c in contexts:
            c.close()


@pytest.fixture
def round_robin(class_server, tmp_path):
    """A second nginx in front of the same two processes with the sticky routing taken out of the
    same configuration (plain round robin, nginx's default): its URL and its folder."""
    port = _free_ports(1)
    config = (class_server.folder / "nnviz.conf").read_text()
    assert "    hash $nnviz_sticky consistent;\n" in config
    config = config.replace("    hash $nnviz_sticky consistent;\n", "")
    config = "\n".join(f"    listen 127.0.0.1:{port};" if line.strip().startswith("listen ") else line
                       for line in config.splitlines())
    (tmp_path / "nnviz.conf").write_text(config)
    (tmp_path / "nginx.conf").write_text((class_server.folder / "nginx.conf").read_text()
                                         .replace(str(class_server.folder), str(tmp_path)))
    (tmp_path / "tmp").mkdir()
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-e", str(tmp_path / "error.log")])
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc, tmp_path / "error.log", timeout_s=20)
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        proc.terminate()
        proc.wait(10)


def test_without_sticky_routing_uploads_fail(round_robin, context, animals):
    """What the cookie prevents: one browser's requests spread over both processes, and an upload
    sent to the process that does not hold its session is refused ("400 Invalid session_id")."""
    url, folder = round_robin
    page = context.new_page()
    page.goto(f"{url}/photos")
    page.get_by_text("Upload one or many photos").wait_for(timeout=90_000)
    photos = sorted((animals / "camera_trap").glob("*.jpg"))[:3]
    page.locator("input[type=file]").first.set_input_files([str(p) for p in photos])
    # Each file is its own PUT; round robin sends consecutive requests to alternate processes.
    page.locator("[data-testid=stFileChipIconError]").first.wait_for(timeout=60_000)
    # nginx logs a request once it has answered it: read the log until the refused upload is there.
    deadline = time.monotonic() + 30
    while True:
        requests = [r for rs in ClassServer(url, [], folder).routes().values() for r in rs]
        refused = any(r.startswith("PUT /_stcore/upload_file/") and s == 400 for _, s, r in requests)
        if refused or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len({upstream for upstream, _, _ in requests}) == 2
    assert refused, requests
