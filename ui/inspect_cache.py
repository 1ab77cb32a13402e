"""Server-wide caches for the Inspect page: the test set, each model's test report and embedding.

The test set and embeddings are shared between all sessions by ``st.cache_resource``, the test
report by :func:`nnviz.evaluation.test_report`'s own cache (one cache each). All are computed once
per model (keyed by the card's ``weights_sha256``, so a retrained model is recomputed) and only
read afterwards.
"""

from __future__ import annotations

import streamlit as st

from nnviz.data import load_tensors, raw_pixels
from nnviz.embedding import fit_embedding, penultimate_features, sample_indices
from nnviz.evaluation import test_report as compute_report
from ui.resources import digit_classifier

EMBEDDING_SIZE = 2000  # test images on the embedding map


@st.cache_resource(show_spinner="Loading the MNIST test set…")
def test_set() -> tuple:
    """``(images (10000, 1, 28, 28) normalised, labels (10000,) int64, pixels (10000, 28, 28) float32 in [0, 1])``."""
    images, labels = load_tensors("mnist", train=False)
    return images, labels, raw_pixels(images, "mnist")[:, 0].numpy()


def _sha(name: str) -> str:
    return str(digit_classifier(name).card.get("weights_sha256", name))


def test_report(name: str):
    """The :class:`nnviz.evaluation.TestReport` of model ``name`` on the 10,000 test images,
    computed once per weights (cached by :func:`nnviz.evaluation.test_report`, keyed by the card's
    ``weights_sha256``; the spinner shows only while it computes)."""
    images, labels, _ = test_set()
    with st.spinner("Classifying the 10,000 test images (once per network)…"):
        return compute_report(digit_classifier(name).model, images, labels, key=_sha(name))


@st.cache_resource(show_spinner="Projecting the features to 2-D (once per network and method)…")
def _embedding(name: str, sha: str, method: str):
    images, labels, _ = test_set()
    idx = sample_indices(labels.numpy(), EMBEDDING_SIZE)
    features = penultimate_features(digit_classifier(name).model, images[idx])
    return idx, fit_embedding(features, method)


def embedding(name: str, method: str):
    """``(test indices (2000,), Embedding)`` of model ``name``'s penultimate features."""
    return _embedding(name, _sha(name), method)
