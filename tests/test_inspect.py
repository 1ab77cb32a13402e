"""Opening the network: activations equal what forward hooks see, every figure shows exactly the
tensor it claims to, the layer table is read from the model, concurrent inspections of one
shared model do not mix, and the ``inspect`` command prints and exports the same numbers."""

from __future__ import annotations

import copy
import json
import threading

import numpy as np
import pytest
import torch

from nnviz.figures import layers as figs
from nnviz.figures.attribution import attribution_overlay
from nnviz.inspection import capture_activations, grad_cam_layer, inspect, layer_table, summary


def tile_values(fig, i: int) -> np.ndarray:
    """The ``(h, w)`` numbers of tile ``i`` of a :func:`nnviz.figures.tiles.tile_grid` figure, read
    back from its z (the figure's meta says where each tile lies)."""
    top, left = fig.layout.meta["tiles"][i]
    h, w = fig.layout.meta["tile_shape"]
    return np.asarray(fig.data[0].z, dtype=float)[top:top + h, left:left + w]


def hooked_outputs(model, x):
    """Reference: every layer's output recorded with forward hooks on a private copy of the model."""
    private = copy.deepcopy(model)
    seen = {}
    handles = [m.register_forward_hook(lambda mod, inp, out, n=n: seen.__setitem__(n, out.detach().clone()))
               for n, m in private.named_children()]
    with torch.no_grad():
        logits = private(x)
    for h in handles:
        h.remove()
    return seen, logits


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_activations_equal_forward_hook_outputs(name, request, mnist_test):
    model, _ = request.getfixturevalue(name)
    x = mnist_test[0][:3]
    acts = capture_activations(model, x)
    seen, logits = hooked_outputs(model, x)
    assert list(acts) == [n for n, _ in model.named_children()]
    for layer, out in seen.items():
        torch.testing.assert_close(acts[layer], out, rtol=0, atol=0)
    torch.testing.assert_close(next(reversed(acts.values())), logits, rtol=0, atol=0)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_layer_table_is_read_from_the_model(cnn, mlp):
    cnn_model, _ = cnn
    mlp_model, _ = mlp
    rows = layer_table(cnn_model)
    assert [r.name for r in rows] == [n for n, _ in cnn_model.named_children()]
    by_name = {r.name: r for r in rows}
    assert by_name["conv1"].output_shape == (32, 28, 28) and by_name["conv1"].parameters == 32 * 25 + 32
    assert by_name["pool2"].output_shape == (64, 7, 7) and by_name["relu1"].parameters == 0
    assert by_name["fc2"].output_shape == (10,)
    assert sum(r.parameters for r in rows) == sum(p.numel() for p in cnn_model.parameters())
    assert sum(r.parameters for r in layer_table(mlp_model)) == sum(p.numel() for p in mlp_model.parameters())
    assert grad_cam_layer(cnn_model) == "relu2" and grad_cam_layer(mlp_model) is None


def test_feature_map_figure_z_equals_the_layer_output(cnn, mnist_test):
    cnn_model, _ = cnn
    x = mnist_test[0][7:8]
    result = inspect(cnn_model, x, with_attribution=False)
    seen, _ = hooked_outputs(cnn_model, x)
    for layer in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2"):
        fig = figs.layer_figures(cnn_model, result, layer, [str(c) for c in range(10)])["feature_maps"]
        maps = seen[layer][0].numpy()
        assert len(fig.layout.meta["tiles"]) == maps.shape[0]
        for c in range(maps.shape[0]):
            np.testing.assert_array_equal(tile_values(fig, c), maps[c].astype(float))
        z = np.asarray(fig.data[0].z, dtype=float)
        assert np.isnan(z).sum() == z.size - maps.size  # everything else is gap
    conv = figs.feature_map_grid(seen["conv1"][0].numpy(), "conv1")
    assert conv.data[0].zmid == 0 and conv.data[0].zmin == -conv.data[0].zmax  # signed: centred on zero


def test_kernel_figures_equal_the_weight_tensor(cnn):
    cnn_model, _ = cnn
    w1 = cnn_model.conv1.weight.detach().numpy()
    fig = figs.kernel_grid(w1, "conv1")
    for o in range(w1.shape[0]):
        np.testing.assert_array_equal(tile_values(fig, o), w1[o, 0].astype(float))
    assert fig.data[0].zmid == 0 and fig.data[0].zmin == -np.abs(w1).max()
    w2 = cnn_model.conv2.weight.detach().numpy()
    full = figs.kernel_grid(w2, "conv2")
    o, i = w2.shape[:2]
    assert len(full.layout.meta["tiles"]) == o * i
    for r, c in [(0, 0), (5, 17), (i - 1, o - 1)]:  # tile r·O + c is kernel weight[c, r]
        np.testing.assert_array_equal(tile_values(full, r * o + c), w2[c, r].astype(float))
    one = figs.kernel_grid(w2, "conv2", in_channel=3)
    for c in range(o):
        np.testing.assert_array_equal(tile_values(one, c), w2[c, 3].astype(float))


def test_fully_connected_figures_equal_their_tensors(mlp, mnist_test):
    mlp_model, _ = mlp
    x = mnist_test[0][:1]
    result = inspect(mlp_model, x, with_attribution=False)
    out = figs.layer_figures(mlp_model, result, "fc1", [str(c) for c in range(10)])
    np.testing.assert_array_equal(np.asarray(out["units"].data[0].y), result.activations["fc1"].numpy().astype(float))
    w = mlp_model.fc1.weight.detach().numpy()
    shown = out["weight_images"]
    units = [int(label.split()[1]) for label in shown.layout.meta["labels"]]
    assert units[0] == int(result.activations["fc1"].argmax())  # most active unit first
    for t, u in enumerate(units):
        np.testing.assert_array_equal(tile_values(shown, t), w[u].reshape(28, 28).astype(float))
    hist = out["parameters"]
    counts, _ = figs.histogram_counts(w)
    np.testing.assert_array_equal(np.asarray(hist.data[0].y), counts)
    assert np.asarray(hist.data[1].y).sum() == mlp_model.fc1.bias.numel()
    output = figs.layer_figures(mlp_model, result, "fc3", [str(c) for c in range(10)])["output"]
    np.testing.assert_allclose(np.asarray(output.data[0].y), result.logits.astype(float))
    np.testing.assert_allclose(np.asarray(output.data[1].y), torch.softmax(torch.from_numpy(result.logits), 0).numpy(),
                               rtol=1e-6)


def test_attribution_overlay_shows_the_map_itself(cnn, mnist_test):
    cnn_model, _ = cnn
    result = inspect(cnn_model, mnist_test[0][:1])
    fig = attribution_overlay(result.image, result.grad_cam, "Grad-CAM")
    np.testing.assert_array_equal(np.asarray(fig.data[1].z), result.grad_cam.astype(float))
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), result.image.astype(float))


def test_two_threads_inspecting_one_shared_model_each_get_their_own(cnn, mnist_test):
    cnn_model, _ = cnn
    images, _ = mnist_test
    inputs = [images[i:i + 1] for i in (0, 1)]
    expected = [hooked_outputs(cnn_model, x)[0] for x in inputs]
    expected_cam = [inspect(cnn_model, x).grad_cam for x in inputs]
    barrier = threading.Barrier(2)
    failures: list[str] = []

    def worker(k: int) -> None:
        barrier.wait()
        for _ in range(25):
            result = inspect(cnn_model, inputs[k])
            for layer, out in expected[k].items():
                if not torch.equal(result.activations[layer], out[0]):
                    failures.append(f"thread {k}: {layer} differs")
            if not np.allclose(result.grad_cam, expected_cam[k], rtol=1e-5, atol=1e-7):
                failures.append(f"thread {k}: Grad-CAM differs")

    threads = [threading.Thread(target=worker, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:5]
    assert all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks for m in cnn_model.modules())
    assert all(p.grad is None for p in cnn_model.parameters())


def test_inspect_rejects_a_batch_and_a_bad_target(cnn, mnist_test):
    cnn_model, _ = cnn
    with pytest.raises(ValueError, match="one image"):
        inspect(cnn_model, mnist_test[0][:2])
    with pytest.raises(ValueError, match="target class"):
        inspect(cnn_model, mnist_test[0][:1], target=10)


def test_cli_prints_the_layer_statistics(capsys, cnn, mnist_test):
    from nnviz.cli import main

    cnn_model, _ = cnn
    assert main(["inspect", "--model", "digits-cnn", "--layer", "conv1", "mnist:0", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = summary(capture_activations(cnn_model, mnist_test[0][:1])["conv1"][0])
    (row,) = report["layers"]
    assert row["shape"] == [32, 28, 28] and report["prediction"] == "7"
    for key in ("min", "max", "mean"):
        assert row[key] == pytest.approx(expected[key], rel=1e-6)
    names = [n for n, _ in cnn_model.named_children()]
    assert main(["inspect", "--model", "digits-cnn", "--layer", "conv9", "mnist:0"]) == 1
    assert capsys.readouterr().err == f"error: model 'digits-cnn' has no layer 'conv9'; layers: {', '.join(names)}\n"
    assert main(["inspect", "--model", "digits-cnn", "mnist:0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "digits-cnn on MNIST test image #0 (label 7): predicts 7 (100.0%)"
    assert [line.split()[0] for line in lines[1:]] == names  # one line per layer, in order
    assert all(" output " in line for line in lines[1:])


def test_cli_writes_png_figures(tmp_path, capsys):
    from nnviz.cli import main

    assert main(["inspect", "--model", "digits-cnn", "--layer", "conv1", "mnist:0", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["input.png", "conv1-feature_maps.png", "conv1-kernels.png", "conv1-parameters.png",
                            "grad-cam.png", "saliency.png"])
    for p in tmp_path.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


def test_capture_of_chosen_layers_matches_the_full_capture(cnn, mnist_test):
    from nnviz.inspection import penultimate_layer

    cnn_model, _ = cnn
    x = mnist_test[0][:8]
    name = penultimate_layer(cnn_model)
    some = capture_activations(cnn_model, x, [name, "conv1"])
    assert list(some) == ["conv1", name]  # in layer order, nothing else kept
    full = capture_activations(cnn_model, x)
    assert all(torch.equal(some[k], full[k]) for k in some)
