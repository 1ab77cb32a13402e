"""Server-wide cached resources. ``st.cache_resource`` shares one object between all sessions,
so what is cached here must never be mutated by a page (prediction does not mutate)."""

from __future__ import annotations

import streamlit as st

from nnviz.checkpoints import list_cards
from nnviz.predict import DigitClassifier


@st.cache_resource(show_spinner="Loading the trained network…")
def digit_classifier(name: str) -> DigitClassifier:
    """The classifier for checkpoint ``name``, loaded once per server."""
    return DigitClassifier(name)


def digit_model_cards() -> list[dict]:
    """Cards of the digit checkpoints (shipped and saved by users), shipped first."""
    return [c for c in list_cards() if c.get("dataset") == "mnist"]
