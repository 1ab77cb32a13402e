"""The Draw page's canvas: a Streamlit component (plain HTML and JavaScript, no build step) that
draws with a finger, a pen or a mouse and returns the strokes, not an image.

streamlit-drawable-canvas returned the whole 280×280 RGBA image (313,600 numbers as JSON) after
every stroke; this returns the stroke points (a few hundred numbers), which
:func:`nnviz.preprocess.render_strokes` turns into the same image on the server. The canvas takes
the width of its column up to ``max_size`` CSS pixels, so it fits a phone, and keeps its
coordinates in a 280×280 logical canvas whatever its size on screen.
"""

from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

_component = components.declare_component("digit_canvas", path=str(Path(__file__).with_name("digit_canvas")))


def digit_canvas(strokes: list[list[float]] | None, clears: int, *, brush: float, max_size: int = 320,
                 key: str) -> dict | None:
    """Show the canvas; returns ``{"strokes": [[x0, y0, x1, y1, …], …], "clears": n}`` after the
    student's latest pen lift (coordinates in the 280×280 logical canvas), or None before any.

    Args:
        strokes: the drawing to show when the canvas is (re)built or ``clears`` changes.
        clears: a counter the page raises to empty the canvas; the returned value carries the
            counter it was drawn under, so a value from before a clear can be told apart.
        brush: brush diameter in logical pixels.
        max_size: largest side on screen, CSS pixels (smaller when its column is narrower).
        key: the widget's identity.
    """
    return _component(strokes=strokes or [], clears=clears, brush=brush, max_size=max_size, key=key, default=None)
