"""How far a float32 forward pass on another CPU may stray from this one's, so that tests comparing
with a result stored on one CPU hold on any other (x86-64 with or without AVX-512 or AMX, ARM).

Different CPUs add the terms of a dot product in different orders (vector widths, blocking,
fused multiply-adds), so their float32 results differ by up to the rounding error of each. That
error is measured here, against the same network evaluated in float64, rather than bounded a
priori: the worst-case bound (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1)
and even the probabilistic one (Higham & Mary 2019, SIAM J. Sci. Comput. 41(5)) overstate the
errors of these networks 10⁴-fold, which would leave a comparison with no teeth. Another
summation order gives errors of the same distribution (Higham & Mary: they grow like √n u for
any order, u = 2⁻²⁴), so :data:`SAFETY` times this CPU's largest error covers any CPU's while
staying far below what a change of weights would make.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

SAFETY = 100.0  # another CPU's float32 error, as a multiple of the largest one measured here


@torch.no_grad()
def float32_error(model: nn.Module, inputs: torch.Tensor, upto: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(float32 outputs, allowance)`` of ``model``'s layers up to and including ``upto`` (None:
    all) for ``inputs`` (float32, taken as exact): the allowance, float32 of the outputs' shape, is
    :data:`SAFETY` times the largest difference between this CPU's float32 outputs and a float64
    evaluation, per output unit (its column, over the inputs), so it holds for another CPU's
    float32 outputs too. Works on a copy: ``model`` is not changed."""
    import copy

    layers = list(model.named_children())
    stop = next((i + 1 for i, (name, _) in enumerate(layers) if name == upto), len(layers))
    single = nn.Sequential(*(m for _, m in layers[:stop])).eval()
    double = copy.deepcopy(single).double()
    out32 = single(inputs)
    err = (out32.double() - double(inputs.double())).abs()
    per_unit = err.amax(0, keepdim=True)
    return out32, (SAFETY * per_unit).float().expand_as(out32)


def ambiguous_predictions(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """``(N,)`` bool: the inputs whose predicted class another CPU may see differently, because the
    gap between the two largest logits is within both CPUs' float32 allowance (:func:`float32_error`)."""
    logits, allowance = float32_error(model, inputs)
    top2, idx = logits.topk(2, dim=1)
    return ((top2[:, 0] - top2[:, 1]) <= 2 * allowance.gather(1, idx).sum(1)).numpy()


def accuracy_tolerance(model: nn.Module, inputs: torch.Tensor, batch_size: int = 2000) -> float:
    """How far another CPU's accuracy on ``inputs`` may be from this one's: the share of inputs
    whose prediction float32 rounding could flip (:func:`ambiguous_predictions`), plus a hair
    for the float comparison itself."""
    flips = sum(int(ambiguous_predictions(model, inputs[s:s + batch_size]).sum())
                for s in range(0, len(inputs), batch_size))
    return (flips + 1e-6) / len(inputs)
