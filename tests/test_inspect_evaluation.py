"""How good is it: the confusion matrix on the 10,000 official test images agrees with
``evaluate`` and lists the right images; the embedding map places new points."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz import evaluation
from nnviz.embedding import fit_embedding, penultimate_features, sample_indices
from nnviz.figures.embedding import embedding_scatter
from nnviz.figures.evaluation import confusion_matrix_figure, digit_gallery
from nnviz.training import evaluate


def test_confusion_matrix_sums_to_10000_and_matches_evaluate(cnn, mnist_test):
    model, _ = cnn
    images, labels = mnist_test
    report = evaluation.compute_test_report(model, images, labels)
    assert report.confusion.shape == (10, 10) and report.confusion.sum() == 10_000
    np.testing.assert_array_equal(report.confusion.sum(1), np.bincount(labels.numpy(), minlength=10))
    accuracy, _ = evaluate(model, images, labels)
    assert np.trace(report.confusion) == round(accuracy * 10_000)
    predictions = model(images[:500]).argmax(1).numpy()
    np.testing.assert_array_equal(report.predictions[:500], predictions)
    np.testing.assert_allclose(report.per_class_accuracy, np.diag(report.confusion) / report.confusion.sum(1))

    worst = report.most_confident_mistakes(16)
    assert len(worst) == 16 and (report.predictions[worst] != report.labels[worst]).all()
    assert (np.diff(report.confidence[worst]) <= 0).all()
    assert report.confidence[worst[0]] >= report.confidence[report.mistakes()].max()
    cell = report.cell(4, 9)
    assert len(cell) == report.confusion[4, 9]
    assert (report.labels[cell] == 4).all() and (report.predictions[cell] == 9).all()

    fig = confusion_matrix_figure(report.confusion, [str(c) for c in range(10)])
    np.testing.assert_array_equal(np.asarray(fig.data[0].customdata), report.confusion)
    assert np.asarray(fig.data[1].customdata).sum() == 10_000


def test_digit_gallery_shows_the_images(mnist_test_pixels):
    pixels, _ = mnist_test_pixels
    imgs = pixels[:5] / 255.0
    fig = digit_gallery(imgs, [str(i) for i in range(5)], "t")
    top, left = fig.layout.meta["tiles"][3]
    np.testing.assert_array_equal(np.asarray(fig.data[0].z)[top:top + 28, left:left + 28], imgs[3])


def test_pca_embedding_places_the_features_it_was_fitted_on_exactly(cnn, mnist_test):
    model, _ = cnn
    images, labels = mnist_test
    idx = sample_indices(labels.numpy(), 500)
    assert len(idx) == 500 and len(set(idx)) == 500
    assert np.bincount(labels.numpy()[idx], minlength=10).min() == 50
    features = penultimate_features(model, images[idx])
    assert features.shape == (500, 128)
    emb = fit_embedding(features, "pca")
    np.testing.assert_allclose(emb.place(features[:3]), emb.points[:3], rtol=1e-4, atol=1e-4)
    fig = embedding_scatter(emb.points, labels.numpy()[idx], labels.numpy()[idx], idx, [str(c) for c in range(10)],
                            "pca", star=emb.points[0])
    assert sum(len(t.x) for t in fig.data[:10]) == 500 and fig.data[-1].marker.symbol == "star"
    with pytest.raises(ValueError, match="unknown projection"):
        fit_embedding(features, "umap")


@pytest.mark.slow
def test_tsne_embedding_places_a_new_point_among_its_neighbours(cnn, mnist_test):
    model, _ = cnn
    images, labels = mnist_test
    idx = sample_indices(labels.numpy(), 300)
    emb = fit_embedding(penultimate_features(model, images[idx]), "tsne")
    assert emb.points.shape == (300, 2)
    outside = np.setdiff1d(np.arange(len(labels)), idx)[:5]  # test images the map was not fitted on
    placed = emb.place(penultimate_features(model, images[outside]))
    assert placed.shape == (5, 2)
    for i, star in zip(outside, placed):
        near = np.linalg.norm(emb.points - star, axis=1).argsort()[:10]
        assert (labels.numpy()[idx][near] == labels[i].item()).mean() >= 0.8, f"test image #{i}"
