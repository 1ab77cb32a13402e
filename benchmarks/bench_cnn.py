"""How fast the "How a CNN sees" page answers a click, on this CPU (one torch thread, as the app).

    .venv/bin/python benchmarks/bench_cnn.py [--repeats 50]

Prints p50 / p95 in milliseconds of:
* one worked convolution after a click: the forward pass of the input, the worked convolution
  (conv1 and conv2, with every step) and its figures built (window, feature map, patch, kernel,
  products, channel sums, pooling window), as the page does them; target ≤ 100 ms;
* one receptive field: the theoretical box, the effective field (a gradient by autograd) and its
  figure, for a conv1, conv2, pool2 and fc1 unit; target ≤ 200 ms.

Figures are plotly objects built in Python; sending them to the browser is not counted.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from nnviz.checkpoints import load_checkpoint
from nnviz.convolution import worked_convolution
from nnviz.data import load_tensors, raw_pixels
from nnviz.figures.convolution import (channel_sums_figure, feature_map_figure, number_grid, pool_window_figure,
                                       receptive_field_figure, window_figure)
from nnviz.inspection import capture_activations
from nnviz.receptive_field import receptive_field_box, unit_value_and_gradient


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, _ = load_checkpoint("digits-cnn")
    images, _ = load_tensors("mnist", train=False)
    x, picture = images[:1], raw_pixels(images[:1], "mnist")[0, 0].numpy()
    rng = np.random.default_rng(0)

    def click(layer: str):
        def run():
            acts = capture_activations(model, x)
            side = acts[layer].shape[-1]
            r, c = (int(v) for v in rng.integers(0, side, 2))
            w = worked_convolution(model, x, layer, int(rng.integers(0, acts[layer].shape[1])), r, c, acts)
            plane = picture if len(w.patch) == 1 else w.layer_input[0]
            figs = [window_figure(plane, w.top, w.left, w.kernel_size, "window", grey=len(w.patch) == 1),
                    feature_map_figure(w.feature_map, r, c, "map"),
                    number_grid(w.patch[0], "patch"), number_grid(w.kernel[0], "kernel"),
                    number_grid(w.products[0], "products"), channel_sums_figure(w.channel_sums, 0, "sums")]
            figs += [pool_window_figure(np.array(s["window"]), tuple(s["in_window"]), "pool")
                     for s in w.steps if "window" in s]
            return figs
        return run

    def field(layer: str, unit: tuple[int, ...]):
        def run():
            box = receptive_field_box(model, layer, unit)
            _, grad = unit_value_and_gradient(model, x, layer, unit)
            return receptive_field_figure(picture, box.to_list(), grad.sum(0), "field")
        return run

    print(f"digits-cnn on MNIST test image #0, {args.repeats} repeats, 1 torch thread; milliseconds p50 / p95")
    for layer in ("conv1", "conv2"):
        p50, p95 = timed(click(layer), args.repeats)
        print(f"  worked convolution + figures, {layer}: {p50:6.1f} / {p95:6.1f}   (target ≤ 100)")
    for layer, unit in (("conv1", (3, 14, 14)), ("conv2", (5, 7, 7)), ("pool2", (5, 3, 3)), ("fc1", (12,))):
        p50, p95 = timed(field(layer, unit), args.repeats)
        print(f"  receptive field + figure, {layer}: {p50:6.1f} / {p95:6.1f}   (target ≤ 200)")


if __name__ == "__main__":
    main()
