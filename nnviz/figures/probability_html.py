"""The Draw page's answer as light HTML: ten probability bars and the 28×28 input, drawn by the
browser without a charting library, so an answer shows in the same frame as the metric.

A plotly figure for these costs ~20 ms to build and serialise on the server and a chart layout
pass in the browser at every stroke; this is a few hundred bytes of HTML and one small PNG.
(:mod:`nnviz.figures.probabilities` keeps the interactive plotly versions for the other pages.)
"""

from __future__ import annotations

from html import escape

import numpy as np
from nnviz.figures.style import ACCENT, GREY
from nnviz.figures.tiles import png_data_url


def probability_bars_html(probabilities: np.ndarray, classes: list[str], highlight: int | None = None,
                          height_px: int = 150) -> str:
    """Vertical bars of ``probabilities`` ``(K,)`` in [0, 1] for ``classes`` as an HTML fragment:
    the ``highlight`` class in the accent colour, the others grey, each bar labelled with its
    percentage (when ≥ 1 %) above and its class below; the scale is fixed (a full bar is 100 %) so
    bars compare between drawings. The fragment scales to its container's width."""
    cells = []
    for i, (p, name) in enumerate(zip(np.asarray(probabilities, float), classes)):
        colour = ACCENT if i == highlight else GREY
        label = f"{p:.0%}" if p >= 0.01 else ""
        cells.append(
            f'<div style="flex:1;display:flex;flex-direction:column;align-items:center;min-width:0" '
            f'title="{escape(name)}: {p:.2%}">'
            f'<div style="height:{height_px}px;width:100%;display:flex;flex-direction:column;justify-content:flex-end;'
            f'align-items:center"><span style="font-size:0.75rem;opacity:0.8">{label}</span>'
            f'<div style="width:70%;height:{max(p, 0.0) * (height_px - 18):.1f}px;background:{colour};'
            f'border-radius:2px 2px 0 0"></div></div>'
            f'<div style="border-top:1px solid #ccc;width:100%;text-align:center;font-size:0.85rem">{escape(name)}</div>'
            '</div>')
    return ('<div role="img" aria-label="Softmax probabilities of the ten classes">'
            '<div style="font-size:0.9rem;margin-bottom:0.25rem">Softmax probabilities</div>'
            f'<div style="display:flex;gap:2px;align-items:flex-end">{"".join(cells)}</div></div>')


def input_image_html(image: np.ndarray, title: str = "Network input, 28×28") -> str:
    """A ``(H, W)`` image in [0, 1] (ink high) inline in an HTML fragment with its title: white on
    black, each pixel a 6×6 square (:func:`nnviz.figures.tiles.png_data_url`), so the 28×28 grid
    stays visible."""
    grey = (np.clip(np.asarray(image, float), 0, 1) * 255).round().astype(np.uint8)  # rounded, not cut
    return (f'<div><div style="font-size:0.9rem;margin-bottom:0.25rem">{escape(title)}</div>'
            f'<img src="{png_data_url(grey, scale=6)}" alt="{escape(title)}" '
            'style="width:100%;max-width:168px;image-rendering:pixelated;border-radius:4px"></div>')
