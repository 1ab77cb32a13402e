"""Where a network looks: Grad-CAM and input-gradient saliency, via captum.

Both answer "which pixels made the network say class *c*?" for a batch of images:

* **Grad-CAM** (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
  Gradient-based Localization"): the feature maps of a convolution layer, weighted by the mean
  gradient of the class's logit over each map, summed over channels and passed through a ReLU;
  coarse (the layer's resolution) but class-specific. Upsampled here to the input's size.
* **Saliency** (Simonyan et al. 2014, "Deep Inside Convolutional Networks"): the absolute
  gradient of the class's logit with respect to each input pixel.

The computations are captum's (``LayerGradCam``, ``Saliency``).

Sharing a model between threads (Streamlit's ``st.cache_resource``): captum records a layer's
output with a forward hook registered on that layer. Registering it on a shared model would let
another session's forward pass run through the hook while it is there. So for an
``nn.Sequential`` (nested ones too) :func:`grad_cam` never touches the model: it splits the
sequence at ``layer`` into a head and a tail and hooks a private ``nn.Identity`` placed between
them. Only a model that is not a Sequential is hooked directly, under a lock per model; plain
forward passes of such a model in other threads are not blocked, so keep those models private
or make them Sequential. Gradients are taken with ``torch.autograd.grad`` (captum's way), which
never writes the parameters' ``.grad``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from captum.attr import LayerGradCam, Saliency
from torch import nn

Target = int | Sequence[int] | torch.Tensor | None

_MODEL_LOCKS: "weakref.WeakKeyDictionary[nn.Module, threading.Lock]" = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()


def _model_lock(model: nn.Module) -> threading.Lock:
    with _LOCKS_LOCK:
        lock = _MODEL_LOCKS.get(model)
        if lock is None:
            lock = _MODEL_LOCKS[model] = threading.Lock()
        return lock


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> tuple[str, nn.Module]:
    """``(dotted name, module)`` of ``layer`` in ``model``, given either.

    Raises:
        ValueError: no such submodule in ``model``.
    """
    if isinstance(layer, str):
        try:
            return layer, model.get_submodule(layer)
        except AttributeError:
            names = [n for n, _ in model.named_modules() if n]
            raise ValueError(f"model has no layer {layer!r}; layers: {', '.join(names)}") from None
    for name, module in model.named_modules():
        if module is layer:
            return name, module
    raise ValueError(f"{type(layer).__name__} is not a layer of this model")


def split_sequential(model: nn.Module, name: str) -> tuple[list[nn.Module], list[nn.Module]] | None:
    """Split a (possibly nested) ``nn.Sequential`` just after the layer called ``name``.

    Returns ``(head, tail)``: lists of modules such that running the head's modules in order
    gives that layer's output and running the tail's gives the model's output from it, or None
    when the path to ``name`` goes through a module that is not a Sequential. The model is only
    read, never changed.
    """
    if not isinstance(model, nn.Sequential):
        return None
    first, _, rest = name.partition(".")
    children = list(model.named_children())
    for i, (child_name, child) in enumerate(children):
        if child_name != first:
            continue
        after = [m for _, m in children[i + 1:]]
        before = [m for _, m in children[:i]]
        if not rest:
            return before + [child], after
        inner = split_sequential(child, rest)
        if inner is None:
            return None
        return before + inner[0], inner[1] + after
    return None


def _run(modules: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    for m in modules:
        x = m(x)
    return x


def _targets(target: Target, logits_fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    """Class index per input ``(N,)`` int64: ``target`` broadcast, or the predicted class if None."""
    n = inputs.shape[0]
    if target is None:
        with torch.no_grad():
            return logits_fn(inputs).argmax(1)
    t = torch.as_tensor(target, dtype=torch.int64, device=inputs.device).reshape(-1)
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"target has {t.numel()} entries for {n} inputs")
    return t


def _check_inputs(inputs: torch.Tensor) -> torch.Tensor:
    if inputs.ndim != 4:
        raise ValueError(f"expected inputs of shape (N, C, H, W), got {tuple(inputs.shape)}")
    # A private copy: captum sets requires_grad on its inputs, and a caller's tensor may be a
    # view of a shared, cached data set.
    return inputs.detach().clone().requires_grad_(True)


def grad_cam(model: nn.Module, layer: str | nn.Module, inputs: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Grad-CAM maps of ``layer`` for ``inputs``, upsampled to the inputs' size.

    Args:
        model: a classifier returning logits ``(N, K)``; in eval mode (not changed here).
        layer: a convolution layer's name (``"conv2"``, ``"features.6"``) or module; use the last
            convolution (or the block after it) for the sharpest class-specific map.
        inputs: ``(N, C, H, W)`` float32, normalised as the model expects.
        target: the class to explain — one index for all inputs, one per input, or None for each
            input's predicted class.

    Returns:
        ``(N, H, W)`` float32, non-negative (ReLU of the weighted feature maps, as in the paper),
        bilinearly upsampled from the layer's resolution; not normalised (divide by the max to get
        [0, 1]). On the inputs' device, detached.

    Raises:
        ValueError: ``inputs`` not 4-D, an unknown layer, or a target of the wrong length.
    """
    x = _check_inputs(inputs)
    name, module = resolve_layer(model, layer)
    split = split_sequential(model, name)
    with torch.enable_grad():
        if split is not None:
            head, tail = split
            tap = nn.Identity()  # private to this call: captum's hook goes here, not on the model

            def forward(batch: torch.Tensor) -> torch.Tensor:
                return _run(tail, tap(_run(head, batch)))

            targets = _targets(target, forward, x)
            cam = LayerGradCam(forward, tap).attribute(x, target=targets, relu_attributions=True)
        else:
            with _model_lock(model):
                targets = _targets(target, model, x)
                cam = LayerGradCam(model, module).attribute(x, target=targets, relu_attributions=True)
    if cam.ndim != 4:
        # captum has already averaged the layer's output away; say what is missing, not that shape.
        raise ValueError(f"layer {name!r} gives no feature maps (its output has no rows and columns); "
                         "Grad-CAM needs feature maps")
    cam = F.interpolate(cam.detach(), size=x.shape[-2:], mode="bilinear", align_corners=False)
    return cam[:, 0].clamp_(min=0.0)


def saliency(model: nn.Module | Callable, inputs: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Input-gradient saliency: ``|∂ logit_target / ∂ pixel|``, the maximum over colour channels.

    Args and target as :func:`grad_cam`. No hooks are registered, so this is safe on a shared model.

    Returns:
        ``(N, H, W)`` float32, non-negative, in logit units per normalised-pixel unit; detached.
    """
    x = _check_inputs(inputs)
    with torch.enable_grad():
        targets = _targets(target, model, x)
        grads = Saliency(model).attribute(x, target=targets, abs=True)
    return grads.detach().amax(dim=1)
