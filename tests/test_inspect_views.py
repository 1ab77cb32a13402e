"""The Inspect page's stored test-set views (nnviz.test_set_views) and its feature map's star."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnviz import test_set_views
from nnviz.checkpoints import load_checkpoint, resolve_checkpoint
from nnviz.embedding import penultimate_features
from nnviz.evaluation import compute_test_report
from nnviz.figures.embedding import embedding_scatter
from nnviz.inspection import penultimate_layer
from numerics import ambiguous_predictions, float32_error


@pytest.mark.parametrize("name", ["digits-cnn", "digits-mlp"])
def test_shipped_views_match_the_weights_and_a_recomputation(name, mnist_test):
    """The shipped file is for these weights, and its report and features equal freshly computed
    ones — on any CPU: the file was made on one CPU, and another may round float32 sums
    differently, so the comparison allows each stored number its quantisation step plus both
    CPUs' float32 error (tests/numerics.py), and no more."""
    images, labels = mnist_test
    model, card = load_checkpoint(name)
    path = test_set_views.shipped_path(resolve_checkpoint(name))
    assert path.name == f"{name}.inspect.npz" and path.stat().st_size < 400_000
    views = test_set_views.read(path, card["weights_sha256"])
    assert views is not None
    report = compute_test_report(model, images, labels)
    # A prediction may differ only where the two top logits are closer than float32 can tell apart.
    suspects = np.flatnonzero(views.report.predictions != report.predictions)
    assert len(suspects) <= 2, suspects
    assert ambiguous_predictions(model, torch.cat([images[suspects], images[:1000]]))[:len(suspects)].all(), suspects
    np.testing.assert_array_equal(views.report.labels, report.labels)
    # float16 storage: half a step (2^-12 at most for values up to 1), plus compute noise
    np.testing.assert_allclose(views.report.probabilities, report.probabilities, atol=1e-3)
    features = penultimate_features(model, images[views.indices])
    _, allowance = float32_error(model, images[views.indices], upto=penultimate_layer(model))
    allowance = allowance.flatten(1).numpy()
    span = features.max(0) - features.min(0)
    # half a uint8 step of the storing CPU's span (which differs from ours by at most 4 allowances),
    # plus the storing and this CPU's float32 errors, plus the dequantisation's own rounding
    tolerance = (span + 4 * allowance) / 510 + 2 * allowance + 1e-6 * (1 + np.abs(features))
    excess = np.abs(views.features - features) - tolerance
    assert (excess <= 0).all(), f"{(excess > 0).sum()} features off, worst by {excess.max():.3g}"
    # PCA places the map's own images on their stored points
    np.testing.assert_allclose(views.embedding("pca").place(features), views.points["pca"], atol=1e-3)


def test_a_stale_file_is_ignored(tmp_path, monkeypatch, mnist_test):
    """A file made for other weights is not read; the views are computed and cached by hash."""
    images, labels = mnist_test
    monkeypatch.setenv("NNVIZ_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(test_set_views, "EMBEDDING_SIZE", 200)  # keeps t-SNE quick
    model, card = load_checkpoint("digits-mlp")
    assert test_set_views.read(test_set_views.shipped_path(resolve_checkpoint("digits-mlp")), "0" * 64) is None
    computed = []
    views = test_set_views.load_or_compute(model, "f" * 64, images, labels, resolve_checkpoint("digits-mlp"),
                                           on_compute=lambda: computed.append(1))
    assert computed == [1] and len(views.indices) == 200
    assert test_set_views.cache_path("f" * 64).is_file()
    again = test_set_views.load_or_compute(model, "f" * 64, images, labels, resolve_checkpoint("digits-mlp"),
                                           on_compute=lambda: computed.append(2))
    assert computed == [1]  # read from the disk cache
    np.testing.assert_array_equal(again.points["tsne"], views.points["tsne"])


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_the_star_is_drawn_last_on_top_and_labelled(method):
    """The student's input is the last WebGL trace (plotly draws WebGL above SVG traces, so an SVG
    star lies under the dots) and carries its label as an annotation, for both projections."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    fig = embedding_scatter(rng.normal(size=(200, 2)), labels, labels, np.arange(200), [str(c) for c in range(10)],
                            method, star=np.array([0.1, 0.2]), star_label="your drawing")
    star = fig.data[-1]
    assert star.type == "scattergl" and star.marker.symbol == "star" and star.name == "your drawing"
    assert all(t.type == "scattergl" for t in fig.data)
    assert [(a.x, a.y) for a in fig.layout.annotations if "your drawing" in a.text] == [(0.1, 0.2)]
