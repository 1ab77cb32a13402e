"""What each channel looks for: activation maximisation beats the test set, dataset examples and their
receptive-field boxes, the shipped file, and the ``visualize`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nnviz import feature_visualization as fv
from nnviz.checkpoints import resolve_checkpoint


@pytest.fixture(scope="module")
def examples(cnn, mnist_test):
    """The CNN's dataset examples of relu1, relu2 and the logits over all 10,000 test images."""
    model, _ = cnn
    images, _ = mnist_test
    return {layer: fv.dataset_examples(model, layer, images) for layer in ("relu1", "relu2", "fc2")}


@pytest.mark.slow
@pytest.mark.parametrize("layer, channels, with_init", [
    ("relu2", [0, 42], False),  # from the random starts alone
    ("fc2", [1, 7], True),      # class logits, as the app and the command find them (also from the best test image)
    ("relu1", [12, 17], True),  # weak conv1 channels (negative bias, rare ink pattern)
])
def test_the_optimised_input_excites_its_channel_as_much_as_the_best_test_image(cnn, examples, mnist_test_pixels,
                                                                                layer, channels, with_init):
    model, _ = cnn
    ex = examples[layer]
    pixels, _ = mnist_test_pixels
    init = pixels[ex.indices[channels, 0]] if with_init else None
    found = fv.visualize(model, layer, channels, steps=fv.STEPS, init=init)
    best = ex.activations[channels, 0]
    assert found.images.dtype == np.uint8 and found.images.shape == (len(channels), 28, 28)
    assert np.all(found.activations >= best - 0.1 * np.abs(best)), (found.activations, best)
    # what is returned is what the uint8 image gives
    for c, img, value in zip(channels, found.images, found.activations):
        assert fv.objective(model, layer, c, img) == pytest.approx(float(value), rel=1e-5, abs=1e-6)


def test_dataset_examples_are_the_highest_of_all_test_images(cnn, mnist_test, examples):
    model, _ = cnn
    images, _ = mnist_test
    means = fv.layer_means(model, "relu2", images).numpy()
    ex = examples["relu2"]
    for c in (3, 40):
        assert np.all(np.diff(ex.activations[c]) <= 0)  # highest first
        assert ex.activations[c, 0] == pytest.approx(means[:, c].max())
        assert ex.activations[c, -1] >= np.sort(means[:, c])[-9] - 1e-6
        np.testing.assert_allclose(ex.activations[c], means[ex.indices[c], c], rtol=1e-5)
    assert np.all(examples["fc2"].boxes == [0, 0, 27, 27])


def test_receptive_boxes_follow_kernel_stride_and_padding(cnn):
    model, _ = cnn
    assert fv._receptive_box(model, "conv1", 10, 10) == (8, 8, 12, 12)  # the 5×5 kernel around it
    assert fv._receptive_box(model, "conv1", 0, 27) == (0, 25, 2, 27)   # clipped at the border
    for r, k in ((5, 7), (0, 0), (13, 13)):
        top, left, bottom, right = fv._receptive_box(model, "relu2", r, k)
        assert (top, bottom) == (max(2 * r - 6, 0), min(2 * r + 7, 27))
        assert (left, right) == (max(2 * k - 6, 0), min(2 * k + 7, 27))
    assert fv._receptive_box(model, "fc1", 0, 0) == (0, 0, 27, 27)


def test_the_examples_box_is_where_the_feature_map_peaks(cnn, mnist_test, examples):
    model, _ = cnn
    images, _ = mnist_test
    ex = examples["relu1"]
    c = 5
    maps = fv._run(fv._head(model, "relu1"), images[ex.indices[c, :1]])[0, c]
    r, k = divmod(int(maps.flatten().argmax()), maps.shape[-1])
    assert tuple(ex.boxes[c, 0]) == fv._receptive_box(model, "relu1", r, k)


def test_the_shipped_file_matches_the_network_and_is_small(cnn, mnist_test_pixels):
    model, card = cnn
    path = fv.shipped_path(resolve_checkpoint("digits-cnn"))
    assert path.stat().st_size < 1_000_000
    views = fv.read(path, card["weights_sha256"])
    assert views is not None and {"relu1", "relu2", "fc2"} <= set(views)
    assert fv.read(path, "0" * 64) is None  # other weights: ignored
    pixels, _ = mnist_test_pixels
    for layer, v in views.items():
        count = fv.channel_count(model, layer)
        assert v.images.shape == (count, 28, 28) and v.images.dtype == np.uint8
        measured = fv.layer_means(model, layer, fv.pixels_to_inputs(v.images, 0.1307, 0.3081)).numpy()
        np.testing.assert_allclose(measured[np.arange(count), np.arange(count)], v.activations, rtol=1e-4, atol=1e-5)
        best = v.examples.activations[:, 0]
        assert np.all(v.activations >= best - 0.1 * np.abs(best)), layer  # within 10 %, for signed values too
        np.testing.assert_array_equal(v.example_pixels, pixels[v.examples.indices])


def test_a_students_network_is_computed_once_then_read_from_the_cache(tmp_path, monkeypatch, mnist_test,
                                                                      mnist_test_pixels):
    from nnviz.models import architecture_for, build_model

    monkeypatch.setenv("NNVIZ_CACHE_DIR", str(tmp_path))
    torch.manual_seed(0)
    model = build_model(architecture_for("cnn", "mnist", channels=(4, 8), cnn_hidden=16)).eval()
    images, _ = mnist_test
    pixels, _ = mnist_test_pixels
    calls, progress = [], []

    def test_set():
        calls.append(1)
        return images[:500], pixels[:500]

    first = fv.load_or_compute(model, "abc", "relu1", test_set, on_progress=lambda f, s: progress.append(f))
    again = fv.load_or_compute(model, "abc", "relu1", test_set)
    assert calls == [1] and progress[-1] == 1.0 and all(0 <= f <= 1 for f in progress)
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.examples.indices, again.examples.indices)


@pytest.mark.slow
def test_visualize_command_writes_the_png_it_measures(tmp_path, capsys, cnn):
    from nnviz.cli import main

    model, _ = cnn
    out = tmp_path / "channel.png"
    assert main(["visualize", "--model", "digits-cnn", "--layer", "relu2", "--channel", "5", "--out", str(out),
                 "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"activation", "dataset_examples", "seconds"} <= set(report)
    with Image.open(out) as img:
        assert img.mode == "L" and img.size == (28, 28)
        written = np.asarray(img)
    assert report["activation"] == fv.objective(model, "relu2", 5, written)
    acts = [e["activation"] for e in report["dataset_examples"]]
    assert len(acts) == 9 and acts == sorted(acts, reverse=True)
    assert report["activation"] >= 0.9 * acts[0]
    assert report["seconds"] > 0


@pytest.mark.parametrize("args, message", [
    (["--layer", "conv9", "--channel", "0"], "no layer 'conv9'"),
    (["--layer", "conv1", "--channel", "32"], "0…31"),
    (["--layer", "conv1", "--channel", "-1"], "0…31"),
])
def test_visualize_command_says_what_is_wrong(tmp_path, capsys, args, message):
    from nnviz.cli import main

    assert main(["visualize", "--model", "digits-cnn", *args, "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert main(["visualize", "--model", "digits-cnn", "--layer", "fc2", "--channel", "0",
                 "--out", str(tmp_path / "missing" / "x.png")]) == 1
    assert "does not exist" in capsys.readouterr().err
