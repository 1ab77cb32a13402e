"""Benchmark: training throughput of the from-scratch NumPy MLP against PyTorch, same network.

Both run their own training loop as the app and the CLI run it — :func:`nnviz.numpy_mlp.fit`
(forward, backprop, SGD step in NumPy) and :func:`nnviz.training.fit` (torch autograd, plain SGD,
constant learning rate) — on the same 784 → 16 → 16 → 10 sigmoid MLP (unless ``--hidden``), the
same batch size and the same real MNIST images, float32, for one epoch over ``--train-size``
images. Printed: samples per second of training (the last BatchEnd's figure, before the epoch's
evaluation), side by side, with the ratio NumPy / PyTorch, for each batch size and thread count.

Usage: ``.venv/bin/python benchmarks/bench_numpy_mlp.py [--batch-sizes 32 128] [--threads 1 2]
[--train-size 20000] [--hidden 16 16]``. Run it on a quiet machine: other processes on the cores
change every figure.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from nnviz import numpy_mlp
from nnviz.data import load_tensors
from nnviz.models import MLP
from nnviz.numpy_runs import as_arrays
from nnviz.events import BatchEnd
from nnviz.training import TrainConfig, fit


def last_batch_rate(events) -> float:
    """Samples/s of the last BatchEnd of the first epoch (throughput of training alone)."""
    rate = 0.0
    for event in events:
        if not isinstance(event, BatchEnd):
            break  # the epoch's evaluation is done: stop there
        rate = event.samples_per_s
    return rate


def numpy_rate(hidden, batch_size, train_size, train, test) -> float:
    mlp = numpy_mlp.init_mlp((784, *hidden, 10), "sigmoid", seed=0, dtype=np.float32)
    config = numpy_mlp.NumpyTrainConfig(epochs=1, batch_size=batch_size, learning_rate=0.5, train_size=train_size)
    return last_batch_rate(numpy_mlp.fit(mlp, config, as_arrays(*train), as_arrays(*test)))


def torch_rate(hidden, batch_size, train_size, threads, train, test) -> float:
    torch.manual_seed(0)
    model = MLP(hidden=hidden, activation="sigmoid")
    config = TrainConfig(epochs=1, batch_size=batch_size, learning_rate=0.5, optimizer="sgd", schedule="constant",
                         train_size=train_size, device="cpu", num_threads=threads)
    return last_batch_rate(fit(model, config, train, test, device="cpu"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 16])
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    train, test = load_tensors("mnist", train=True), load_tensors("mnist", train=False)
    shape = " → ".join(str(w) for w in (784, *args.hidden, 10))
    print(f"MLP {shape} (sigmoid), float32, one epoch of {args.train_size} MNIST images, best of {args.repeats}")
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"NumPy {np.__version__}, torch {torch.__version__}")
    print(f"{'batch':>5} {'threads':>7} {'NumPy samples/s':>16} {'PyTorch samples/s':>18} {'NumPy/PyTorch':>14}")
    for threads in args.threads:
        for batch_size in args.batch_sizes:
            with threadpool_limits(limits=threads):
                np_rate = max(numpy_rate(args.hidden, batch_size, args.train_size, train, test)
                              for _ in range(args.repeats))
            t_rate = max(torch_rate(args.hidden, batch_size, args.train_size, threads, train, test)
                         for _ in range(args.repeats))
            print(f"{batch_size:>5} {threads:>7} {np_rate:>16,.0f} {t_rate:>18,.0f} {np_rate / t_rate:>14.2f}", flush=True)


if __name__ == "__main__":
    main()
