"""How the quick recipe's CNN was chosen: each candidate trained for the recipe's one epoch on
55,000 MNIST training images and scored on the other 5,000 (held out; never the test set), three
seeds each, with its training time on this machine. The choice is recorded above
:data:`nnviz.training.QUICK_CNN`.

    .venv/bin/python benchmarks/select_quick_recipe.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from nnviz.data import load_tensors
from nnviz.training import QUICK_CNN, QUICK_CONFIG, new_model, run_fit


BASE = {**QUICK_CNN, "pool_before_norm": False}
CANDIDATES = {
    "16/32, norm before pooling": {**BASE, "channels": [16, 32]},
    "16/32, pooled first": {**BASE, "channels": [16, 32], "pool_before_norm": True},
    "8/16, norm before pooling": {**BASE, "channels": [8, 16]},
    "8/16, pooled first": {**BASE, "channels": [8, 16], "pool_before_norm": True},
    "8/24, pooled first": {**BASE, "channels": [8, 24], "pool_before_norm": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    x, y = load_tensors("mnist", train=True)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(12345))
    train, held_out = (x[order[:55000]], y[order[:55000]]), (x[order[55000:]], y[order[55000:]])
    print(f"{'candidate':<28} {'held-out accuracy (mean)':>24} {'seconds (mean)':>15}")
    for name, architecture in CANDIDATES.items():
        scores, seconds = [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            result = run_fit(new_model(architecture, seed), replace(QUICK_CONFIG, seed=seed), train, held_out)
            seconds.append(time.perf_counter() - start)
            scores.append(result.epochs[-1].test_accuracy)
        print(f"{name:<28} {sum(scores) / len(scores):>23.2%} {sum(seconds) / len(seconds):>15.1f}", flush=True)


if __name__ == "__main__":
    main()
