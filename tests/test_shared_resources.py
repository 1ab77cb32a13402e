"""A class of thirty must not hold thirty copies of a network: the large objects are loaded once
per server (``st.cache_resource``) and every session gets the same object, and a session's own state
holds no network and no large array."""

from __future__ import annotations

import numpy as np
import torch
from streamlit.testing.v1 import AppTest


def _shared_ids() -> dict:
    """Runs inside an AppTest session: the identity of each server-wide object this session gets."""
    import streamlit as st

    from ui.drawing import digit_likeness
    from ui.inspect_cache import test_set
    from ui.resources import digit_classifier
    from ui.under_the_hood import numpy_network

    classifier = digit_classifier("digits-cnn")
    st.session_state["ids"] = {
        "digit classifier": id(classifier), "its network": id(classifier.model),
        "digit likeness": id(digit_likeness()), "MNIST test set": id(test_set()[0]),
        "NumPy network": id(numpy_network("digits-numpy", "sha")),
    }


def test_two_sessions_get_the_same_network_objects_not_copies():
    first, second = AppTest.from_function(_shared_ids, default_timeout=120), AppTest.from_function(_shared_ids, default_timeout=120)
    first.run()
    second.run()
    assert not first.exception and not second.exception
    assert first.session_state["ids"] == second.session_state["ids"]


def _large_values(value, seen: set, path: str = "") -> list[str]:
    """Paths of networks, and of arrays or tensors over 1 MB, reachable from a session-state value."""
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, torch.nn.Module):
        return [f"{path}: a network"]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        size = value.nbytes if isinstance(value, np.ndarray) else value.element_size() * value.nelement()
        return [f"{path}: {size / 1e6:.1f} MB array"] if size > 1_000_000 else []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple, set)):
        items = enumerate(value)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        items = vars(value).items()
    else:
        return []
    return [hit for k, v in items for hit in _large_values(v, seen, f"{path}.{k}")]


def test_a_session_on_each_digit_page_holds_no_network_and_no_large_array(open_page):
    for page in ["app_pages/draw.py", "app_pages/inspect.py", "app_pages/under_the_hood.py"]:
        at = open_page(page)
        state = {key: at.session_state[key] for key in at.session_state}
        assert _large_values(state, set()) == [], page


def test_the_check_finds_a_network_kept_in_session_state():
    # The walk above must be able to see a per-session copy, or the test would pass vacuously.
    assert _large_values({"mine": [torch.nn.Linear(784, 10)]}, set()) == [".mine.0: a network"]
    assert _large_values({"x": np.zeros((1000, 1000))}, set()) == [".x: 8.0 MB array"]
