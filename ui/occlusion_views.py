"""Occlusion and the saliency sanity check (:mod:`nnviz.occlusion`), for the Inspect, Compare and
Photos pages."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from nnviz import occlusion as occ
from nnviz.attribution import grad_cam, saliency
from nnviz.data import dataset_info
from nnviz.figures import channels as figures
from nnviz.inspection import grad_cam_layer
from ui.layout import wrapping_row

PLOT = {"displaylogo": False}


def blank_value(mean: float, std: float) -> float:
    """A blank (background, pixel 0) pixel in the network's input units, ``-mean/std``."""
    return -mean / std


def digit_occlusion(model, x: torch.Tensor, image: np.ndarray, target: int, class_name: str,
                    mean: float | None = None, std: float | None = None, key: str = "occlusion",
                    title: str | None = None) -> None:
    """Occlusion map of one digit for class ``target`` with its one-sentence caption."""
    info = dataset_info("mnist")
    baseline = blank_value(info.mean[0] if mean is None else mean, info.std[0] if std is None else std)
    drop, _ = occ.occlusion(model, x, target, baseline=baseline)
    st.plotly_chart(figures.occlusion_overlay(image, drop, title or f"Occlusion for class {class_name}"), config=PLOT,
                    width="stretch", key=key)
    st.caption(f"Occlusion: a blank {occ.DIGIT_WINDOW}×{occ.DIGIT_WINDOW} patch slid over the digit "
               f"{occ.DIGIT_STRIDE} pixels at a time; red where covering the pixels lowers the probability of "
               f"{class_name} (here by at most {max(float(drop.max()), 0.0) * 100:.2g} percentage points: a network "
               "that is very sure barely notices one patch). No gradient: only the answer.")


def sanity_check(model, x: torch.Tensor, target: int, key: str = "sanity") -> None:
    """Adebayo et al. 2018's cascading randomisation, for saliency (and Grad-CAM where the network
    has convolutions), as a chart of rank correlations with the original maps."""
    st.caption("Sanity check (Adebayo et al. 2018, “Sanity Checks for Saliency Maps”): the weights of a copy of "
               "the network are replaced by random ones, layer by layer from the last, and the map is drawn again. "
               "A map that really explains the network changes (its rank correlation with the original falls "
               "towards 0); one that stays alike only shows the digit's edges.")
    methods = {"saliency": lambda net, inp, t: saliency(net, inp, t)[0].numpy()}
    layer = grad_cam_layer(model)
    if layer is not None:
        methods["Grad-CAM"] = lambda net, inp, t: grad_cam(net, layer, inp, t)[0].numpy()
    # side by side where there is room; one under the other on a tablet or a phone
    columns = wrapping_row(f"{key}_row", ["flex: 1 1 22rem"] * len(methods), gap="large")
    for column, (name, explain) in zip(columns, methods.items()):
        check = occ.cascading_randomization(model, x, explain, target)
        with column:
            st.plotly_chart(figures.sanity_check_figure(check.layers, check.correlations,
                                                        f"{name}: alike the original?"),
                            config=PLOT, width="stretch", key=f"{key}_{name}")
