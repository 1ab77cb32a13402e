"""Small plots of the building blocks: an activation function with its derivative, and the two
classic losses as functions of the probability the network gives the right class.

The derivative plot is what backpropagation multiplies by (Nielsen ch. 2, BP2): where σ'(z) is
near 0 — a saturated sigmoid or tanh, a ReLU with z < 0 — almost no gradient flows back.
The loss plot shows why classifiers use cross-entropy (Nielsen ch. 3): −log p grows without bound
as p → 0, so a confidently wrong network gets a strong push, while the squared error (1 − p)²
flattens out at 1 and its slope 2(1 − p)·σ' vanishes when a sigmoid output saturates.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.numpy_mlp import ACTIVATIONS

FORMULAS = {"sigmoid": ("σ(z) = 1 / (1 + e^−z)", "σ'(z) = σ(z)(1 − σ(z))"),
            "tanh": ("tanh(z)", "tanh'(z) = 1 − tanh²(z)"),
            "relu": ("ReLU(z) = max(0, z)", "ReLU'(z) = 1 if z > 0, else 0")}


def activation_figure(name: str, z: float | None = None, z_range: float = 6.0) -> go.Figure:
    """``name``'s curve and its derivative over ``z ∈ [−z_range, z_range]``; with ``z``, a marker
    on both at that weighted input (the range widened to include it).

    Raises:
        KeyError: unknown activation (see :data:`nnviz.numpy_mlp.ACTIVATIONS`).
    """
    f, f_prime = ACTIVATIONS[name]
    if z is not None and abs(z) > z_range:  # widen the view so the neuron's point is on it
        z_range = float(np.ceil(abs(z) * 1.1))
    zs = np.linspace(-z_range, z_range, 241)
    formula, derivative = FORMULAS[name]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=zs, y=f(zs), name=formula, line=dict(color="#1c7ed6", width=3)))
    fig.add_trace(go.Scatter(x=zs, y=f_prime(zs), name=derivative, line=dict(color="#f08c00", width=2, dash="dash")))
    if z is not None:
        zc = float(z)
        fig.add_trace(go.Scatter(x=[zc, zc], y=[float(f(np.array(zc))), float(f_prime(np.array(zc)))], mode="markers",
                                 marker=dict(size=11, color="#212529"), name=f"your neuron: z = {z:.2f}",
                                 hovertemplate="z = %{x:.2f}: %{y:.3f}<extra></extra>"))
    fig.update_layout(height=300, margin=dict(l=40, r=10, t=10, b=40), xaxis_title="weighted input z",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0), hovermode="x unified")
    return fig


def loss_figure(p: float | None = None) -> go.Figure:
    """Cross-entropy ``−log p`` and squared error ``(1 − p)²`` (nats and squared units) against
    ``p ∈ (0, 1]``, the probability given to the right class; with ``p``, markers at that value."""
    ps = np.linspace(0.005, 1.0, 200)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ps, y=-np.log(ps), name="cross-entropy −log p", line=dict(color="#1c7ed6", width=3)))
    fig.add_trace(go.Scatter(x=ps, y=(1 - ps) ** 2, name="squared error (1 − p)²",
                             line=dict(color="#f08c00", width=2, dash="dash")))
    if p is not None:
        pc = float(np.clip(p, 0.005, 1.0))
        fig.add_trace(go.Scatter(x=[pc, pc], y=[-np.log(pc), (1 - pc) ** 2], mode="markers", name=f"your step: p = {p:.3f}",
                                 marker=dict(size=11, color="#212529")))
    fig.update_layout(height=300, margin=dict(l=40, r=10, t=10, b=40), xaxis_title="probability of the right class p",
                      yaxis=dict(title="loss", range=[0, 5.5]), legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    return fig
