"""A classroom on one server: N simulated students speaking Streamlit's websocket protocol
(``testkit/st_protocol.py``), plus a few real Chromium tabs drawing at the same time.

Most students open the Draw page and draw real UNIPEN pen-stroke digits (evaluation only), one
stroke at a time as the canvas sends them, pausing 0.5–2.5 s after each answer, and press Clear
after each digit; some upload a camera-trap photo to the Photos page every 5–10 s; a few start
the Train page's quick run, let it train ``--train-seconds`` and stop it. Every student leaves at
the end of the phase; the server's memory is read again ``--settle`` seconds later.

For each N it prints: drawing answers, their latency p50/p95 (``rerun_script`` sent → its
``script_finished``, the Prediction in between), errors (exceptions shown on a page, refused or
dropped connections, runs without a Prediction), the share of finished digits answered with their
label (a faithfulness check), server CPU seconds per drawing answer (all work of the phase, with
children), resident memory (start of the phase / peak / ``--settle`` s after everyone left),
the training queue's wait (Start pressed → the run leaves the queue) and the Chromium tabs' latency
(pointer-up → Prediction shown, measured in the page).

    .venv/bin/python benchmarks/load_test.py --students 10 30 60 --browsers 2
    .venv/bin/python benchmarks/load_test.py --url http://host:8501 --pid 1234   # a running server

Memory: the baseline is the server's RSS ``--settle`` s after one warm-up tab loaded every shared
model and left; each phase prints its RSS at the start, its peak and ``--settle`` s after all its
students left. Streamlit keeps a disconnected session ``server.disconnectedSessionTTL`` seconds
(120 by default) for a tab that reconnects, so RSS measured sooner still holds those sessions.

The script starts its own server (``streamlit run app.py`` on a free port, ``NNVIZ_USER_MODELS``
in a temporary folder) unless ``--url`` is given; then CPU and memory are read only with ``--pid``
(the server's process id; on another machine leave it out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from testkit.st_protocol import ProtocolError, Tab, canvas_value
from unipen import load_unipen, to_canvas

ROOT = Path(__file__).resolve().parent.parent

PHOTOS = sorted((ROOT / "examples" / "photos").rglob("*.jpg"))


@dataclass
class Tally:
    """What the students of one phase measured."""
    draw_s: list = field(default_factory=list)
    photo_s: list = field(default_factory=list)
    queue_wait_s: list = field(default_factory=list)
    browser_s: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    digits: int = 0
    correct: int = 0


async def drawing_student(url: str, records: list[dict], deadline: float, tally: Tally, rng: random.Random) -> None:
    tab = Tab(url)
    try:
        await tab.open("draw")
        canvas = tab.widget("canvas")
        for record in records:
            strokes = to_canvas(record["strokes"])
            clears = tab.components[canvas]["clears"]
            answer = None
            for k in range(1, len(strokes) + 1):
                if time.perf_counter() > deadline:
                    return
                run = await tab.set_value("canvas", json_value=canvas_value(strokes[:k], clears))
                tally.errors += run.exceptions()
                answer = run.metric("Prediction")
                if answer is None:
                    tally.errors.append("a drawing's run showed no Prediction")
                tally.draw_s.append(run.seconds)
                await asyncio.sleep(rng.uniform(0.5, 2.5))
            tally.digits += 1
            tally.correct += answer == str(record["label"])
            run = await tab.click("button")  # "Clear the canvas", the Draw page's one keyless button
            tally.errors += run.exceptions()
    except (ProtocolError, OSError, KeyError) as exc:
        tally.errors.append(f"draw: {type(exc).__name__}: {exc}")
    finally:
        await tab.close()


async def photo_student(url: str, deadline: float, tally: Tally, rng: random.Random) -> None:
    tab = Tab(url)
    try:
        await tab.open("photos")
        while time.perf_counter() < deadline:
            photo = rng.choice(PHOTOS)
            run = await tab.upload("photos_upload", [(photo.name, photo.read_bytes())])
            tally.errors += run.exceptions()
            if run.metric("Animal group") is None:
                tally.errors.append("a photo's run showed no animal group")
            tally.photo_s.append(run.seconds)
            await asyncio.sleep(rng.uniform(5, 10))
    except (ProtocolError, OSError, KeyError) as exc:
        tally.errors.append(f"photo: {type(exc).__name__}: {exc}")
    finally:
        await tab.close()


def admitted(element) -> bool:
    """True for what the Train page shows once a run has left the queue (``ui/train_panel.show_live``):
    the caption while it loads the images, or its progress bar."""
    kind = element.WhichOneof("type")
    return kind == "progress" or (kind == "markdown" and element.markdown.body.startswith("Loading the images"))


async def training_student(url: str, deadline: float, train_s: float, tally: Tally) -> None:
    """Press Start with the quick recipe, wait until the run leaves the queue (the queue's wait), let it
    train ``train_s`` seconds, press Stop. The live panel's auto-reruns poll as a browser's do."""
    tab = Tab(url)
    try:
        await tab.open("train")
        seen = len(tab.all_elements)
        pressed = time.perf_counter()
        run = await tab.click("train_start")
        tally.errors += run.exceptions()
        while not any(admitted(el) for _, _, el in tab.all_elements[seen:]):
            if time.perf_counter() > deadline + 600 or tab.disconnected:
                raise ProtocolError(tab.disconnected or "the run never started training")
            await asyncio.sleep(0.1)
        tally.queue_wait_s.append(time.perf_counter() - pressed)
        await asyncio.sleep(max(0.0, min(train_s, deadline - time.perf_counter())))
        if "train_stop" in tab.widget_ids:
            run = await tab.click("train_stop")
            tally.errors += run.exceptions()
    except (ProtocolError, OSError, KeyError) as exc:
        tally.errors.append(f"train: {type(exc).__name__}: {exc}")
    finally:
        await tab.close()


def browsers(url: str, count: int, stop: threading.Event, tally: Tally) -> None:
    """``count`` real Chromium tabs (one browser, a context each) drawing single-stroke UNIPEN
    digits in turn until ``stop``; pointer-up → Prediction timed inside the page."""
    from playwright.sync_api import sync_playwright

    from bench_browser import WATCH
    from testkit.browser_drawing import clear_canvas, draw_strokes, drawing_canvas, open_draw_page, wait_for_prediction
    from conftest import CHROMIUM, CHROMIUM_ARGS

    digits = [r for r in load_unipen(seed=7) if len(r["strokes"]) == 1]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(count)]
            boxes = [open_draw_page(page, url) for page in pages]
            i = 0
            while not stop.is_set():
                page, box, record = pages[i % count], boxes[i % count], digits[i]
                i += 1
                try:
                    clear_canvas(page)
                    box = drawing_canvas(page).bounding_box()  # where it is now, after any reflow
                    page.evaluate(WATCH)
                    draw_strokes(page, box, to_canvas(record["strokes"]), steps_per_segment=1)
                    page.wait_for_function("() => window.__done !== null", timeout=60_000)
                    tally.browser_s.append(page.evaluate("() => window.__done - window.__up") / 1000)
                    wait_for_prediction(page, lambda t: t != "—")
                except Exception as exc:  # one digit without an answer: counted, the tab reopened
                    shot = Path(tempfile.gettempdir()) / f"load_test_browser_{i}.png"
                    page.screenshot(path=str(shot))
                    tally.errors.append(f"browser: {type(exc).__name__} (screenshot {shot}): {exc}")
                    boxes[(i - 1) % count] = open_draw_page(page, url)
                time.sleep(random.uniform(0.5, 2.5) / count)
        except Exception as exc:  # reported, not raised: the protocol students go on
            tally.errors.append(f"browser: {type(exc).__name__}: {exc}")
        finally:
            browser.close()


class ServerMonitor:
    """Samples the server's resident memory (with its children) every ``every_s`` seconds."""

    def __init__(self, pid: int | None, every_s: float = 0.25):
        self.proc = psutil.Process(pid) if pid else None
        self.every_s = every_s
        self.peak = 0.0
        self._stop = threading.Event()
        if self.proc:
            threading.Thread(target=self._loop, daemon=True).start()

    def _tree(self) -> list[psutil.Process]:
        return [self.proc, *self.proc.children(recursive=True)]

    def rss_mb(self) -> float:
        """Resident memory of the server and its children, MiB (nan without a process)."""
        if not self.proc:
            return float("nan")
        return sum(p.memory_info().rss for p in self._tree() if p.is_running()) / 2**20

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by the server, its children and its waited-for children."""
        if not self.proc:
            return float("nan")
        total = 0.0
        for p in self._tree():
            t = p.cpu_times()
            total += t.user + t.system + getattr(t, "children_user", 0) + getattr(t, "children_system", 0)
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.rss_mb())
            except psutil.Error:
                pass
            time.sleep(self.every_s)

    def reset_peak(self) -> None:
        self.peak = self.rss_mb()


async def phase(url: str, n: int, args, monitor: ServerMonitor, records: list[dict]) -> dict:
    tally = Tally()
    rng = random.Random(n)
    trainers = max(1, round(n * args.train_share)) if args.train_share > 0 else 0
    photographers = round(n * args.photo_share)
    rss_start, cpu_start = monitor.rss_mb(), monitor.cpu_s()
    monitor.reset_peak()
    stop = threading.Event()
    chromium = None
    if args.browsers:
        chromium = threading.Thread(target=browsers, args=(url, args.browsers, stop, tally), daemon=True)
        chromium.start()
    start = time.perf_counter()
    deadline = start + args.ramp + args.duration

    async def student(i: int):
        await asyncio.sleep(rng.uniform(0, args.ramp))  # a class does not all click at the same instant
        if i < trainers:
            await training_student(url, deadline, args.train_seconds, tally)
        elif i < trainers + photographers:
            await photo_student(url, deadline, tally, random.Random(i))
        else:
            mine = records[(i * 40) % len(records):][:40]
            await drawing_student(url, mine, deadline, tally, random.Random(i))

    await asyncio.gather(*(student(i) for i in range(n)))
    stop.set()
    if chromium:
        await asyncio.to_thread(chromium.join, 120)
    cpu = monitor.cpu_s() - cpu_start
    peak = monitor.peak
    await asyncio.sleep(args.settle)
    pct = lambda xs, q: float(np.percentile(xs, q)) if xs else float("nan")  # noqa: E731
    return {"N": n, "roles": f"{n - trainers - photographers}d/{photographers}p/{trainers}t",
            "answers": len(tally.draw_s), "p50": pct(tally.draw_s, 50), "p95": pct(tally.draw_s, 95),
            "errors": len(tally.errors), "right": f"{tally.correct}/{tally.digits}",
            "cpu_per_answer": cpu / max(1, len(tally.draw_s)), "cpu_share": cpu / (time.perf_counter() - start - args.settle),
            "rss": (rss_start, peak, monitor.rss_mb()),
            "photo_p50": pct(tally.photo_s, 50), "photos": len(tally.photo_s),
            "queue_p50": pct(tally.queue_wait_s, 50), "queue_max": max(tally.queue_wait_s, default=float("nan")),
            "browser_p50": pct(tally.browser_s, 50), "browser_p95": pct(tally.browser_s, 95),
            "browser_n": len(tally.browser_s), "error_list": tally.errors}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(models_dir: str) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free port; returns the process and its URL once healthy."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.address", "127.0.0.1"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "NNVIZ_USER_MODELS": models_dir})
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not become healthy within 2 minutes")


async def warm_up(url: str) -> None:
    """One tab of each kind loads every shared resource once (the class's first student pays for it,
    not a phase): the Draw page's networks, the Photos backbone, and a few seconds of a training run
    (the MNIST tensors, the training code's first allocations), so that the baseline is the server
    with everything it shares already loaded."""
    tab = Tab(url)
    await tab.open("draw")
    record = load_unipen(limit=1, seed=3)[0]
    await tab.set_value("canvas", json_value=canvas_value(to_canvas(record["strokes"]), 0))
    await tab.close()
    tab = Tab(url)
    await tab.open("photos")
    await tab.upload("photos_upload", [(PHOTOS[0].name, PHOTOS[0].read_bytes())])
    await tab.close()
    tally = Tally()
    await training_student(url, time.perf_counter() + 5, 3, tally)
    if tally.errors:
        raise ProtocolError(f"the warm-up training run failed: {tally.errors[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running app (http://host:port[/prefix]); default: start one")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, for CPU and memory")
    parser.add_argument("--students", type=int, nargs="+", default=[10, 30, 60])
    parser.add_argument("--duration", type=float, default=60, help="seconds each phase draws, after the ramp")
    parser.add_argument("--ramp", type=float, default=5, help="students join over this many seconds")
    parser.add_argument("--settle", type=float, default=60, help="seconds after all left before RSS 'after'")
    parser.add_argument("--browsers", type=int, default=2, help="real Chromium tabs drawing during each phase")
    parser.add_argument("--photo-share", type=float, default=0.1, help="share of students on the Photos page")
    parser.add_argument("--train-share", type=float, default=0.05,
                        help="share of students who start a training run (at least one; 0: none)")
    parser.add_argument("--train-seconds", type=float, default=20, help="how long a run trains before Stop")
    args = parser.parse_args()

    server = None
    if args.url:
        url, pid = args.url.rstrip("/"), args.pid
    else:
        server, url = start_server(tempfile.mkdtemp(prefix="nnviz-load-models-"))
        pid = server.pid
    monitor = ServerMonitor(pid)
    records = load_unipen(seed=11)
    try:
        print(f"server {url} (pid {pid or '?'}); RSS {monitor.rss_mb():.0f} MB before any session", flush=True)
        asyncio.run(warm_up(url))
        time.sleep(args.settle)
        print(f"RSS after one warm-up tab loaded the shared models and left, {args.settle:g} s later "
              f"(the baseline): {monitor.rss_mb():.0f} MB", flush=True)
        rows = []
        for n in args.students:
            row = asyncio.run(phase(url, n, args, monitor, records))
            rows.append(row)
            for e in sorted(set(row["error_list"]))[:8]:
                print(f"  N={n} error ×{row['error_list'].count(e)}: {e}", flush=True)
            print(f"  N={n} done: {row['answers']} answers, p95 {row['p95']:.2f} s", flush=True)
    finally:
        if server:
            server.terminate()
            server.wait(20)

    print(f"\nduration {args.duration:g} s per phase (+{args.ramp:g} s ramp); roles d/p/t = drawing/photos/training; "
          f"latencies in s; RSS in MB, 'after' = {args.settle:g} s after all left")
    head = (f"{'N':>3} {'roles':>9} {'answers':>7} {'p50':>5} {'p95':>5} {'errors':>6} {'right':>7} "
            f"{'cpu/ans':>7} {'cores':>5} {'RSS start/peak/after':>20} {'photo p50 (n)':>13} "
            f"{'queue p50/max':>13} {'browser p50/p95 (n)':>19}")
    print(head)
    for r in rows:
        rss = "/".join(f"{x:.0f}" for x in r["rss"])
        print(f"{r['N']:>3} {r['roles']:>9} {r['answers']:>7} {r['p50']:>5.2f} {r['p95']:>5.2f} {r['errors']:>6} "
              f"{r['right']:>7} {r['cpu_per_answer']:>7.3f} {r['cpu_share']:>5.2f} {rss:>20} "
              f"{r['photo_p50']:>7.2f} ({r['photos']:>3}) {r['queue_p50']:>6.1f}/{r['queue_max']:<6.1f} "
              f"{r['browser_p50']:>7.2f}/{r['browser_p95']:.2f} ({r['browser_n']})")


if __name__ == "__main__":
    main()
