"""The drawing shared between pages (Draw, Inspect) through session state.

``st.session_state["drawing"]`` holds the latest canvas image, ``(H, W, 4)`` uint8 RGBA, or None;
``st.session_state["drawing_json"]`` the canvas's own JSON, to redraw the strokes when a student
comes back to the Draw page. Tests inject a drawing by setting ``"drawing"``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

DRAWING = "drawing"
DRAWING_JSON = "drawing_json"


def current_drawing() -> np.ndarray | None:
    """The latest drawing of this session, or None."""
    return st.session_state.get(DRAWING)


def store_drawing(image: np.ndarray | None, json_data: dict | None) -> None:
    """Remember the canvas's image and strokes for this session."""
    st.session_state[DRAWING] = image
    st.session_state[DRAWING_JSON] = json_data


def clear_drawing() -> None:
    st.session_state[DRAWING] = None
    st.session_state[DRAWING_JSON] = None
