"""Server-wide caches for the Inspect page: the test set, and each network's test-set views (its
test report and the maps of its learned features).

The views come from :mod:`nnviz.test_set_views`: the file shipped beside the checkpoint
(``trained/<name>.inspect.npz``), or the disk cache for a network a user trained, or — the first
time only — computed under a spinner that says what is being computed. Keyed by the card's
``weights_sha256``, so a retrained network is recomputed. ``st.cache_resource`` shares them
between all sessions; they are only read.
"""

from __future__ import annotations

import logging

import streamlit as st

from nnviz import test_set_views
from nnviz.checkpoints import resolve_checkpoint
from nnviz.data import DatasetUnavailable, load_tensors, raw_pixels
from nnviz.samples import DATA_HINT
from ui.resources import digit_classifier

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner="Loading the MNIST test set…")
def test_set() -> tuple:
    """``(images (10000, 1, 28, 28) normalised, labels (10000,) int64, pixels (10000, 28, 28) float32 in [0, 1])``."""
    images, labels = load_tensors("mnist", train=False)
    return images, labels, raw_pixels(images, "mnist")[:, 0].numpy()


# A failed load is not kept by st.cache_resource: remember the failure for a minute, so that an
# offline server does not retry the download at every rerun of every session.
@st.cache_data(ttl=60, show_spinner=False)
def missing_test_set() -> str | None:
    """None when the MNIST test set is loaded; else a short plain sentence saying that it is missing
    (the full reason, with where to put the files, goes to the server's log for the teacher). The
    Inspect page then shows only what works without it."""
    try:
        test_set()
        return None
    except DatasetUnavailable as exc:
        log.warning("Inspect without the MNIST test set: %s", exc)
        return f"This part needs the 10,000 MNIST test images, which are not on this server: {DATA_HINT}."


def _sha(name: str) -> str:
    return str(digit_classifier(name).card.get("weights_sha256", name))


# The spinner shows only while the function runs: a blink when the views are read from the file
# shipped beside the checkpoint or from the disk cache, ~15 s the one time they are computed.
@st.cache_resource(show_spinner="Reading or, the first time only, computing this network's test-set views: "
                                "classifying the 10,000 test images and projecting their features to 2-D with "
                                "PCA and t-SNE (about 15 s once, then kept on disk)…")
def _views(name: str, sha: str) -> test_set_views.TestSetViews:
    images, labels, _ = test_set()
    return test_set_views.load_or_compute(digit_classifier(name).model, sha, images, labels,
                                          checkpoint=resolve_checkpoint(name))


def views(name: str) -> test_set_views.TestSetViews:
    """Model ``name``'s :class:`nnviz.test_set_views.TestSetViews` (stored, cached or computed once)."""
    return _views(name, _sha(name))


def test_report(name: str):
    """The :class:`nnviz.evaluation.TestReport` of model ``name`` on the 10,000 test images."""
    return views(name).report


def embedding(name: str, method: str):
    """``(test indices (2000,), Embedding)`` of model ``name``'s penultimate features."""
    v = views(name)
    return v.indices, v.embedding(method)
