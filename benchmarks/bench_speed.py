"""The quick recipe against the stock pytorch/examples MNIST example, side by side in one run.

The stock recipe is reimplemented here from its published settings (pytorch/examples
``mnist/main.py``: its ``Net`` — conv 3×3 ×32, conv 3×3 ×64, max-pool, dropout 0.25, fc 9216→128,
dropout 0.5, fc 128→10 —, Adadelta with learning rate 1.0, StepLR with gamma 0.7 per epoch,
batch 64, test batch 1000, a ``DataLoader`` over torchvision's MNIST with ``ToTensor`` and
``Normalize((0.1307,), (0.3081,))``). Its time is the example's main loop for its first two
epochs: training and the test pass after each.

The quick recipe is the Train page's default (:data:`nnviz.training.QUICK_CNN`,
:data:`nnviz.training.QUICK_CONFIG`), run by :func:`nnviz.training.train_model` as the CLI and the
app run it; its time to 98.5 % and 99.0 % test accuracy is the run's elapsed time at the end of
the first epoch that reaches it (the evaluation included). Both use every core of this machine
(torch's default threads) and the same device: CUDA when present, else the CPU.

Also printed: the import and data-loading time of a fresh process (process start-up, apart from
training), and training samples/s of both networks.

    .venv/bin/python benchmarks/bench_speed.py [--stock-epochs 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nnviz.data import data_root, load_tensors
from nnviz.models import pick_device
from nnviz.events import EpochEnd
from nnviz.training import QUICK_CNN, QUICK_CONFIG, new_model, train_model

ROOT = Path(__file__).resolve().parent.parent

TARGETS = (0.985, 0.99)


class StockNet(nn.Module):
    """pytorch/examples mnist/main.py's ``Net``, as published."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def stock(epochs: int, device: torch.device) -> list[tuple[int, float, float]]:
    """The stock example's loop; returns per epoch (epoch, test accuracy, seconds since start)."""
    from torchvision import datasets, transforms

    torch.manual_seed(1)  # the example's default seed
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST(str(data_root()), train=True, download=True, transform=transform)
    test_set = datasets.MNIST(str(data_root()), train=False, transform=transform)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=1000)
    model = StockNet().to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    history, start = [], time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        for data, target in train_loader:
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data.to(device))
                correct += output.argmax(1).eq(target.to(device)).sum().item()
        scheduler.step()
        history.append((epoch, correct / len(test_set), time.perf_counter() - start))
        print(f"  stock epoch {epoch}: {correct / len(test_set):.2%} at {history[-1][2]:.1f} s", flush=True)
    return history


def quick(device: torch.device) -> list[tuple[int, float, float]]:
    """The quick recipe through :func:`nnviz.training.train_model`; per epoch (epoch, accuracy, seconds)."""
    epochs: list[EpochEnd] = []
    config = QUICK_CONFIG
    config = type(config)(**{**config.to_dict(), "device": device.type})
    train_model(new_model(QUICK_CNN, config.seed), QUICK_CNN, "mnist", config,
                on_event=lambda e: epochs.append(e) if isinstance(e, EpochEnd) else None)
    for e in epochs:
        print(f"  quick epoch {e.epoch}: {e.test_accuracy:.2%} at {e.elapsed_s:.1f} s", flush=True)
    return [(e.epoch, e.test_accuracy, e.elapsed_s) for e in epochs]


def time_to(history, target: float) -> float | None:
    return next((t for _, acc, t in history if acc >= target), None)


def startup() -> tuple[float, float]:
    """Seconds a fresh process takes to import the training code, and to load MNIST as tensors."""
    code = ("import time; t0 = time.perf_counter(); import nnviz.training; t1 = time.perf_counter(); "
            "from nnviz.data import load_tensors; load_tensors('mnist', True); load_tensors('mnist', False); "
            "print(t1 - t0, time.perf_counter() - t1)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    imports, loading = (float(v) for v in out.stdout.split())
    return imports, loading


def samples_per_s(model: nn.Module, batch_size: int, device: torch.device, batches: int = 40) -> float:
    """Training samples/s of ``model`` (cross-entropy, SGD) on MNIST batches, after 5 warm-up batches."""
    x, y = load_tensors("mnist", train=True)
    model = model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step(i):
        xb, yb = x[i * batch_size:(i + 1) * batch_size].to(device), y[i * batch_size:(i + 1) * batch_size].to(device)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()
        optimizer.step()

    for i in range(5):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(5, 5 + batches):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stock-epochs", type=int, default=2)
    args = parser.parse_args()
    device = pick_device()
    print(f"device {device}; {torch.get_num_threads()} torch threads; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}; quick recipe {QUICK_CNN} with {QUICK_CONFIG}")
    imports, loading = startup()
    print(f"process start-up: import {imports:.2f} s, load MNIST as tensors {loading:.2f} s")
    print("quick recipe (nnviz.training.train_model):")
    fast = quick(device)
    print(f"stock recipe (pytorch/examples mnist/main.py), {args.stock_epochs} epochs:")
    slow = stock(args.stock_epochs, device)
    for target in TARGETS:
        t = time_to(fast, target)
        print(f"quick time to {target:.1%}: " + (f"{t:.1f} s" if t is not None else "not reached"))
    stock_s = slow[-1][2]
    print(f"stock: {slow[-1][1]:.2%} after {args.stock_epochs} epochs in {stock_s:.1f} s")
    t99 = time_to(fast, 0.99)
    if t99 is not None:
        print(f"ratio quick time to 99.0 % / stock {args.stock_epochs} epochs: {t99 / stock_s:.3f} (target ≤ 0.05)")
    print(f"samples/s at batch {QUICK_CONFIG.batch_size}: quick CNN "
          f"{samples_per_s(new_model(QUICK_CNN, 0), QUICK_CONFIG.batch_size, device):,.0f}; "
          f"stock Net at batch 64: {samples_per_s(StockNet(), 64, device):,.0f}")


if __name__ == "__main__":
    main()
