"""Where a server's memory goes when a class comes and leaves: Python allocations traced by
``tracemalloc``, set beside the process's resident memory (RSS).

It starts ``streamlit run app.py`` inside a small wrapper that turns ``tracemalloc`` on before
anything is imported and writes a snapshot whenever it receives ``SIGUSR1``; then it runs the
load test's warm-up tab (every shared network loaded once) and, after ``--settle`` seconds, takes
the baseline: RSS and a snapshot. One class of ``--students`` simulated students
(``benchmarks/load_test.py``'s mix: drawing, photos, training) follows; ``--settle`` seconds after
they left (longer than Streamlit's ``server.disconnectedSessionTTL``, 120 s, which keeps a closed
tab's session for a reconnect), the same again, and again for each of ``--classes`` classes in a
row. It prints the RSS figures, the traced Python
memory at both moments, and the allocation sites that grew most, so that what stays above the
baseline is either named (a cache, a session that was never freed) or shown to lie outside
Python's heap (the allocator's free pages, torch's own buffers).

    python benchmarks/memory_trace.py --students 30 --settle 150 --classes 2

``tracemalloc`` slows the server (every allocation records its stack), so the latencies the load
test prints here are not the server's; the memory figures are.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path

import load_test

ROOT = Path(__file__).resolve().parent.parent


def serve(snapshot_dir: str, frames: int, streamlit_args: list[str]) -> None:
    """The wrapper: trace allocations, dump a snapshot on SIGUSR1, run Streamlit in this process."""
    tracemalloc.start(frames)
    count = [0]

    def dump(signum, frame):
        import gc

        gc.collect()  # what a collection frees is not held
        count[0] += 1
        tracemalloc.take_snapshot().dump(os.path.join(snapshot_dir, f"snapshot-{count[0]}.bin"))
        Path(snapshot_dir, f"snapshot-{count[0]}.done").touch()

    signal.signal(signal.SIGUSR1, dump)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", "app.py", *streamlit_args]
    cli.main()


def snapshot(server: subprocess.Popen, folder: Path, number: int, timeout_s: float = 120) -> tracemalloc.Snapshot:
    """Ask the server for snapshot ``number`` and read it once written."""
    server.send_signal(signal.SIGUSR1)
    done = folder / f"snapshot-{number}.done"
    deadline = time.monotonic() + timeout_s
    while not done.exists():
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("the server wrote no snapshot")
        time.sleep(0.2)
    return tracemalloc.Snapshot.load(str(folder / f"snapshot-{number}.bin"))


def traced_mb(snap: tracemalloc.Snapshot) -> float:
    return sum(s.size for s in snap.statistics("filename")) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--classes", type=int, default=1, help="classes one after another (does what stays grow?)")
    parser.add_argument("--duration", type=float, default=60, help="seconds the class draws, after the ramp")
    parser.add_argument("--settle", type=float, default=150, help="seconds after leaving before each reading")
    parser.add_argument("--frames", type=int, default=6, help="stack frames tracemalloc keeps per allocation")
    parser.add_argument("--top", type=int, default=15, help="allocation sites to print")
    parser.add_argument("--serve", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(os.environ["NNVIZ_SNAPSHOT_DIR"], args.frames, args.serve)
        return

    folder = Path(tempfile.mkdtemp(prefix="nnviz-memory-"))
    port = load_test.free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, __file__, "--frames", str(args.frames), "--serve", "--server.port",
                               str(port), "--server.address", "127.0.0.1"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "NNVIZ_SNAPSHOT_DIR": str(folder),
                                   "NNVIZ_USER_MODELS": str(folder / "models")})
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the traced server did not start")
                time.sleep(0.5)
        monitor = load_test.ServerMonitor(server.pid)
        asyncio.run(load_test.warm_up(url))
        time.sleep(args.settle)
        before_rss, before = monitor.rss_mb(), snapshot(server, folder, 1)
        phase_args = argparse.Namespace(duration=args.duration, ramp=5.0, settle=args.settle, browsers=0,
                                        photo_share=0.1, train_share=0.05, train_seconds=20.0)
        readings = []
        for number in range(2, args.classes + 2):
            row = asyncio.run(load_test.phase(url, args.students, phase_args, monitor, load_test.load_unipen(seed=number)))
            readings.append((row, monitor.rss_mb(), snapshot(server, folder, number)))
    finally:
        server.terminate()
        server.wait(30)

    print(f"{'':34} {'RSS, MB':>9} {'growth':>9} {'traced by Python, MB':>21} {'growth':>9}")
    print(f"{'baseline (shared models loaded)':34} {before_rss:9.1f} {'':9} {traced_mb(before):21.1f}")
    for i, (row, rss, snap) in enumerate(readings, start=1):
        label = f"after class {i} ({row['answers']} answers, {row['errors']} errors)"
        print(f"{label:34} {rss:9.1f} "
              f"{rss - before_rss:+9.1f} {traced_mb(snap):21.1f} {traced_mb(snap) - traced_mb(before):+9.1f}")
    after = readings[-1][2]
    print(f"\nallocation sites that grew most by the end (size in KiB, count of blocks), {args.frames} frames each:")
    for stat in after.compare_to(before, "traceback")[:args.top]:
        frames = [f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback][-4:]
        print(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+7d}  {' < '.join(reversed(frames))}")


if __name__ == "__main__":
    main()
