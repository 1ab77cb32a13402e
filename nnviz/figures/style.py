"""The figures' shared look: colours, colour scales, the heat ramp, the left-aligned title, and
larger fonts for a projector (:func:`scale_fonts`).

Every figure module takes its colours from here, so the app has one accent colour, one grey,
one diverging scale and one heat ramp (Grad-CAM and saliency on the Inspect and Photos pages).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

ACCENT = "#4C6EF5"  # the highlighted bar, the smoothed curve, positive values
GREY = "#ADB5BD"  # the other bars, raw (unsmoothed) values
NEGATIVE = "#E8590C"  # negative values next to ACCENT
DIVERGING = "RdBu_r"  # red positive, blue negative, white zero
SEQUENTIAL = "Viridis"
COUNTS = "Blues"  # counts (confusion matrices)

# The heat ramp: transparent for the weakest tenth of a map (so faint noise does not muddy the
# picture), then bright yellow through orange to opaque red at the maximum. Stops: position in
# [0, 1], RGB, opacity.
HEAT_STOPS = ((0.0, (255, 230, 0), 0.0), (0.1, (255, 230, 0), 0.0), (0.2, (255, 215, 0), 0.55),
              (0.6, (255, 110, 0), 0.85), (1.0, (230, 0, 0), 1.0))
# The same ramp as a plotly colour scale (``[[0.0, "rgba(255,230,0,0)"], …]``).
HEAT = [[at, f"rgba({r},{g},{b},{alpha:g})"] for at, (r, g, b), alpha in HEAT_STOPS]


def heat_rgba(heat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ramp's colour and opacity at each value of ``heat`` ``(...)`` in [0, 1] (clipped):
    ``(rgb (..., 3) float in [0, 255], alpha (...) float in [0, 1])``, linear between the stops,
    as plotly draws :data:`HEAT`."""
    h = np.clip(np.asarray(heat, dtype=float), 0, 1)
    at = np.array([s[0] for s in HEAT_STOPS])
    rgb = np.array([s[1] for s in HEAT_STOPS], dtype=float)
    alpha = np.array([s[2] for s in HEAT_STOPS])
    colour = np.stack([np.interp(h, at, rgb[:, c]) for c in range(3)], -1)
    return colour, np.interp(h, at, alpha)


def left_title(text: str) -> dict:
    """A figure title aligned with the plot's left edge: ``fig.update_layout(title=left_title(…))``."""
    return dict(text=text, x=0, xanchor="left")


PLOTLY_FONT_PX = 12  # plotly.js's default font size, for a figure that sets none


def scale_fonts(fig: go.Figure, factor: float) -> go.Figure:
    """A copy of ``fig`` with every font ``factor`` times larger: the figure's base font
    (plotly's 12 px when unset), and every explicit size under a ``…font`` key (titles, subplot
    titles, annotations, legend, ticks, text on traces). Heights and margins are left alone.

    For a projector (the app's presentation mode); ``factor`` 1 returns an unchanged copy.

    Raises:
        ValueError: ``factor`` is not a positive number.
    """
    if not factor > 0:
        raise ValueError(f"A font scale must be a positive number, not {factor!r}.")

    def scaled(node, in_font: bool = False):
        if isinstance(node, dict):
            return {k: (v * factor if in_font and k == "size" and isinstance(v, (int, float)) else
                        [s * factor for s in v] if in_font and k == "size" and isinstance(v, list) else
                        scaled(v, k.endswith("font"))) for k, v in node.items()}
        if isinstance(node, list):
            return [scaled(v) for v in node]
        return node

    spec = scaled(fig.to_plotly_json())
    layout = spec.setdefault("layout", {})
    layout.setdefault("font", {}).setdefault("size", PLOTLY_FONT_PX * factor)
    return go.Figure(spec)
