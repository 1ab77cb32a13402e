"""The drawing shared between pages (Draw, Inspect) through session state.

``st.session_state["drawing"]`` holds the latest canvas image, ``(H, W, 4)`` uint8 RGBA, or None;
``st.session_state["drawing_strokes"]`` the strokes it was drawn from (flat ``[x0, y0, …]`` lists
in the 280×280 canvas), to redraw them when a student comes back to the Draw page. Tests inject a
drawing by setting ``"drawing"``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from nnviz.preprocess import BlankDrawing, DigitInput, digit_from_strokes, mnist_style
from nnviz.unsure import DigitLikeness

DRAWING = "drawing"
DRAWING_STROKES = "drawing_strokes"


def current_drawing() -> np.ndarray | None:
    """The latest drawing of this session, or None."""
    return st.session_state.get(DRAWING)


def current_strokes() -> list | None:
    """The strokes of the latest drawing, or None (none drawn, or an injected image)."""
    return st.session_state.get(DRAWING_STROKES)


def current_digit() -> DigitInput:
    """The latest drawing as the networks see it: from its strokes when it has them
    (:func:`nnviz.preprocess.digit_from_strokes`), else from its image (an injected one).

    Raises:
        BlankDrawing: nothing drawn yet, or almost nothing.
    """
    drawing, strokes = current_drawing(), current_strokes()
    if drawing is None:
        raise BlankDrawing()
    return digit_from_strokes(strokes, drawing.shape[1], drawn=drawing) if strokes else mnist_style(drawing)


def store_drawing(image: np.ndarray | None, strokes: list | None) -> None:
    """Remember the canvas's image and strokes for this session."""
    st.session_state[DRAWING] = image
    st.session_state[DRAWING_STROKES] = strokes


def clear_drawing() -> None:
    st.session_state[DRAWING] = None
    st.session_state[DRAWING_STROKES] = None


@st.cache_resource(show_spinner=False)
def digit_likeness() -> DigitLikeness:
    """The "does this look like a digit" check (:mod:`nnviz.unsure`), loaded once per server."""
    return DigitLikeness()
