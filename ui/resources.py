"""Server-wide cached resources. ``st.cache_resource`` shares one object between all sessions,
so what is cached here must never be mutated by a page (prediction does not mutate)."""

from __future__ import annotations

import streamlit as st
import torch

from nnviz.memory import release_freed_memory_every
from nnviz.predict import DigitClassifier
from ui import saved_models
from ui.session_reaper import end_expired_sessions_every

# Sessions come and go all lesson long; what they freed goes back to the system instead of staying
# in glibc's arenas at the class's peak (measured in benchmarks/load_test.py). Once per process;
# every page imports this module.
release_freed_memory_every(30)
# A closed tab's session is ended once its reconnect time has passed, not at the next tab's close.
end_expired_sessions_every(10)


@st.cache_resource(show_spinner="Loading the trained network…")
def digit_classifier(name: str) -> DigitClassifier:
    """The classifier for checkpoint ``name``, loaded once per server."""
    return DigitClassifier(name)


def digit_model_cards(problems: list[str] | None = None) -> list[dict]:
    """Cards of the digit checkpoints this session may use (shipped, and the ones it saved: see
    :mod:`ui.saved_models`), shipped first; checkpoints that cannot be loaded are left out, and
    with ``problems`` a sentence naming each one's file is appended there."""
    cards, found = saved_models.visible_cards()
    if problems is not None:
        problems.extend(found)
    return [c for c in cards if c.get("dataset") == "mnist"]


def choose_digit_model(key: str, with_accuracy: bool = False) -> str:
    """A radio button of the digit networks (shipped and this session's saved ones) and a way to
    open one saved earlier; returns the chosen name. A network that cannot be loaded is named in a
    warning and left out. With none available, shows how to train one and stops the page."""
    problems: list[str] = []
    cards = digit_model_cards(problems)
    for problem in problems:
        st.warning(problem, icon=":material/broken_image:")
    if not cards:
        st.error("No trained digit network found in `trained/`. See the README to train one.")
        st.stop()
    labels = {c["name"]: f"{c['architecture']['kind'].upper()} — {c['name']}" + (
        f" ({accuracy:.2%} on MNIST test)" if with_accuracy and (accuracy := c.get("metrics", {}).get("test_accuracy"))
        is not None else "") for c in cards}
    chosen = st.radio("Network", list(labels), format_func=labels.get, horizontal=True, key=key)
    saved_models.open_saved_model(key)
    return chosen


def use_one_thread_for_inference() -> None:
    """Run this script thread's torch work on one CPU thread.

    A single image through these small networks takes well under a millisecond of compute, so a
    second intra-op thread only adds hand-off cost, and with a class of sessions sharing the
    server's cores, one thread per request gives the best total throughput (measured: 0.6 ms
    against 94 ms for one CNN forward pass on a busy 2-core machine). torch's setting applies to
    the calling thread and to threads created after it, so pages call this at the top of each run;
    the training worker sets its own count.
    """
    torch.set_num_threads(1)
