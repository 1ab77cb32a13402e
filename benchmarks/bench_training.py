"""Benchmark of live training: the default quick recipe through the CLI and through the app.

Prints
  1. time to 98.5 % and to 99.0 % MNIST test accuracy of the Train page's default recipe, run by
     ``python -m nnviz train`` (seconds on the training clock of :func:`nnviz.training.fit`, which
     the CLI prints after every epoch; test accuracy is measured at the end of each epoch);
  2. the same run started from the Train page in headless Chromium, with the page open and
     redrawing its live charts twice a second, and its training time as a ratio to the CLI run
     (target: at most 1.10), with the CPU the browser took meanwhile (it shares the cores with
     the training here; in a classroom it runs on the student's laptop);
  3. the app's own share of that overhead: the same run in the Train page's worker, polled as
     the page does, with no browser;
  4. training throughput (samples/s) of the Train page's default MLP and CNN at the default
     batch size.

Usage: ``.venv/bin/python benchmarks/bench_training.py [--skip-app] [--skip-cli]``. Takes a few
minutes on a 2-core CPU; run it on a quiet machine: other processes on the cores change every
figure.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from nnviz.jobs.queue import threads_per_run
from nnviz.training import QUICK_CNN, QUICK_CONFIG

ROOT = Path(__file__).resolve().parent.parent

EPOCH_LINE = re.compile(r"epoch (\d+): .*test loss [\d.]+ acc ([\d.]+) \| ([\d.]+) s")
TARGETS = (0.985, 0.990)


def cli_command(out: Path) -> list[str]:
    """``python -m nnviz train`` running the Train page's default recipe."""
    return [sys.executable, "-m", "nnviz", "train", "--model", "cnn", "--recipe", "quick", "--out", str(out)]


def time_to(history: list[tuple[int, float, float]], target: float) -> float | None:
    """Seconds until the first epoch whose test accuracy reaches ``target`` (None: never)."""
    return next((t for _, acc, t in history if acc >= target), None)


def run_cli(workdir: Path) -> tuple[list[tuple[int, float, float]], float]:
    """Run the CLI once; returns per-epoch (epoch, test accuracy, training seconds) and wall seconds."""
    env = {**os.environ, "NNVIZ_USER_MODELS": str(workdir)}
    start = time.perf_counter()
    proc = subprocess.run(cli_command(workdir / "bench-quick"), cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"CLI run failed:\n{proc.stdout}\n{proc.stderr}")
    history = [(int(m[1]), float(m[2]), float(m[3])) for m in EPOCH_LINE.finditer(proc.stdout)]
    return history, wall


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_cpu_s() -> float | None:
    """CPU seconds used so far by all Chromium processes (Linux /proc; None elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    total = 0.0
    for pid in proc.iterdir():
        try:
            if pid.name.isdigit() and "chrom" in (pid / "comm").read_text():
                fields = (pid / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return total


def run_app(workdir: Path) -> tuple[list[tuple[int, float, float]], float | None]:
    """Start the app, open the Train page in headless Chromium, press Start with the defaults and
    wait for the run to finish with the page open; returns per-epoch (epoch, accuracy, seconds)
    read from the live epoch chart, and the CPU cores the browser used meanwhile (on average)."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {**os.environ, "NNVIZ_USER_MODELS": str(workdir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("NNVIZ_CHROMIUM", "/usr/bin/chromium"),
                                        headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/train")
            # As a student would: read the page before pressing Start (loading it is not training).
            page.get_by_role("button", name="Start training").wait_for()
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(3000)
            page.get_by_role("button", name="Start training").click()
            cpu0, t0 = browser_cpu_s(), time.perf_counter()
            page.get_by_text("Finished in").wait_for(timeout=900_000)
            cpu1, t1 = browser_cpu_s(), time.perf_counter()
            page.wait_for_timeout(1500)
            history = []
            for frame in page.frames:  # the epoch chart is a live chart, in a frame of its own
                history = history or frame.evaluate("""() => {
                    const p = [...document.querySelectorAll('.js-plotly-plot')]
                        .find(p => (p.layout?.annotations || []).some(a => (a.text || '').includes('Accuracy per epoch')));
                    if (!p) return [];
                    const test = p._fullData.find(t => t.name === 'test' && t.xaxis === 'x2');
                    return Array.from(test.x).map((e, i) => [e, test.y[i], test.customdata[i][0]]);
                }""")
            browser.close()
        cores = (cpu1 - cpu0) / (t1 - t0) if cpu0 is not None else None
        return [(int(e), float(a), float(t)) for e, a, t in history], cores
    finally:
        server.terminate()
        server.wait(10)


def run_worker() -> list[tuple[int, float, float]]:
    """The Train page's run without a browser: the same :class:`TrainJob` in the same background
    :class:`TrainingWorker` (its threads, live predictions and malloc settings), while this thread
    does the server's share of every poll twice a second: a snapshot, the loss figure as JSON and
    the answers' HTML. Returns per-epoch (epoch, accuracy, seconds)."""
    from nnviz.data import train_set_size
    from nnviz.figures.training_curves import answers_html, batch_loss_figure
    from nnviz.jobs.live_run import POLL_S, PREVIEW_S, TrainJob
    from nnviz.jobs.worker import TrainingWorker
    from nnviz.training import TrainConfig

    config = TrainConfig(**{**QUICK_CONFIG.to_dict(), "num_threads": threads_per_run()})
    job = TrainJob(dict(QUICK_CNN), "mnist", config)  # QUICK_CNN is sized for MNIST already
    worker = TrainingWorker(job, preview=job.preview, preview_every_s=PREVIEW_S).start()
    per_epoch = config.steps_per_epoch(train_set_size("mnist"))
    while not worker.join(POLL_S):
        snap = worker.snapshot()
        batch_loss_figure(snap.steps, snap.losses, snap.smoothed, per_epoch, config.epochs).to_json()
        if snap.preview is not None:
            answers_html(snap.preview)
    return [(e.epoch, e.test_accuracy, e.elapsed_s) for e in worker.snapshot().epochs]


def throughput(kind: str, batches: int = 60) -> float:
    """Training samples/s of the Train page's default ``kind`` network at the default batch size
    (after 5 warm-up batches), on MNIST images, with the threads a run gets on this server."""
    import torch
    import torch.nn.functional as F

    from nnviz.data import load_tensors
    from nnviz.models import build_model
    from nnviz.models import architecture_for
    from nnviz.training import make_optimizer

    config = QUICK_CONFIG
    torch.set_num_threads(threads_per_run())
    arch = dict(QUICK_CNN) if kind == "cnn" else architecture_for("mlp", "mnist", hidden=[256, 256])
    model = build_model(arch)
    optimizer = make_optimizer(model, config)
    x, y = load_tensors("mnist", train=True)
    bs = config.batch_size

    def step(i):
        xb, yb = x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()
        optimizer.step()

    for i in range(5):
        step(i)
    start = time.perf_counter()
    for i in range(5, 5 + batches):
        step(i)
    return batches * bs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    print(f"recipe: {QUICK_CNN} with {QUICK_CONFIG}; {threads_per_run()} CPU threads per run; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cli = None
        if not args.skip_cli:
            cli, wall = run_cli(tmp)
            print(f"CLI: {' | '.join(f'epoch {e}: {a:.2%} at {t:.1f} s' for e, a, t in cli)} "
                  f"(process wall {wall:.1f} s, incl. start-up and data loading)")
            for target in TARGETS:
                t = time_to(cli, target)
                print(f"  CLI time to {target:.1%}: " + (f"{t:.1f} s" if t is not None else "not reached"))
        if not args.skip_app:
            worker = run_worker()
            print(f"app's worker, no browser: {' | '.join(f'epoch {e}: {a:.2%} at {t:.1f} s' for e, a, t in worker)}")
            if cli and worker:
                print(f"  worker / CLI training time: {worker[-1][2] / cli[-1][2]:.3f} (the app's own overhead)")
            app, browser = run_app(tmp)
            print(f"app (live page open): {' | '.join(f'epoch {e}: {a:.2%} at {t:.1f} s' for e, a, t in app)}")
            if browser is not None:
                print(f"  the browser drawing the live page used {browser:.2f} of the {os.cpu_count()} cores meanwhile")
            for target in TARGETS:
                t = time_to(app, target)
                print(f"  app time to {target:.1%}: " + (f"{t:.1f} s" if t is not None else "not reached"))
            if cli and app:
                ratio = app[-1][2] / cli[-1][2]
                print(f"  app / CLI training time: {ratio:.3f} (target ≤ 1.10)")
    for kind in ("mlp", "cnn"):
        print(f"throughput {kind.upper()}: {throughput(kind):,.0f} samples/s at batch size {QUICK_CONFIG.batch_size}")


if __name__ == "__main__":
    main()
