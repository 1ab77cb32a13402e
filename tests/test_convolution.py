"""The worked convolution (nnviz.convolution) against the network itself: every number equals
what a forward hook records in the real forward pass, for the shipped CNN and for CNNs with batch
normalisation (both orders), at inner and border positions; and the `convolve` command."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from nnviz.checkpoints import save_checkpoint
from nnviz.cli import main
from nnviz.convolution import kernel_positions, next_layer, worked_convolution
from nnviz.models import CNN

POSITIONS = [(0, 0), (0, 27), (27, 0), (27, 27), (13, 14), (1, 26), (20, 3)]  # corners and edges: zero padding


def hooked_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each layer's input and output as a forward hook sees them in one ``model(x)`` call."""
    seen, handles = {}, []
    for name, module in model.named_children():
        def hook(m, args, out, name=name):
            seen[name] = (args[0].detach().clone(), out.detach().clone())
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return seen


def bn_cnn(pool_before_norm: bool, seed: int) -> CNN:
    """A small CNN with batch normalisation, random weights and random-but-fixed running stats, in eval mode."""
    torch.manual_seed(seed)
    model = CNN(channels=(4, 6), hidden=16, kernel_size=5, batch_norm=True, pool_before_norm=pool_before_norm)
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.3, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
    return model.eval()


@pytest.fixture(scope="module")
def digits(mnist_test):
    images, labels = mnist_test
    return images[:3]


def networks(cnn):
    return {"shipped": cnn[0], "batch norm": bn_cnn(False, 1), "pool before norm": bn_cnn(True, 2)}


def check_worked(model, x, layer, channel, r, c, seen):
    w = worked_convolution(model, x, layer, channel, r, c)
    conv = dict(model.named_children())[layer]
    layer_in, layer_out = seen[layer]
    # the kernel is the stored weights; the bias the stored bias (0 without one)
    assert np.array_equal(w.kernel, conv.weight[channel].detach().numpy())
    assert w.bias == (float(conv.bias[channel].detach()) if conv.bias is not None else 0.0)
    # the patch is the real input under the kernel, with zero padding outside
    padded = torch.nn.functional.pad(layer_in[0], (2, 2, 2, 2))
    assert np.array_equal(w.patch, padded[:, r:r + 5, c:c + 5].numpy())
    assert np.array_equal(w.products, w.patch * w.kernel)
    # the output is the layer's real output, and Σ products + bias equals it
    assert w.output == float(layer_out[0, channel, r, c])
    assert w.sum_of_products == pytest.approx(w.output, abs=1e-4)
    assert float(w.products.sum()) + w.bias == pytest.approx(w.output, abs=1e-4)
    return w


@pytest.mark.parametrize("kind", ["shipped", "batch norm", "pool before norm"])
def test_worked_convolution_equals_the_forward_pass(cnn, digits, kind):
    model = networks(cnn)[kind]
    for i, x in enumerate(digits):
        x = x[None]
        seen = hooked_outputs(model, x)
        for layer, side in (("conv1", 28), ("conv2", 14)):
            channels = dict(model.named_children())[layer].out_channels
            for r, c in POSITIONS:
                r, c = r * side // 28, c * side // 28
                w = check_worked(model, x, layer, (i * 7 + r + c) % channels, r, c, seen)
                # the steps end at the value the next layer really reads
                last = w.steps[-1]
                nxt = next_layer(model, layer)
                read = seen[nxt][0][0]
                if read.ndim == 1:  # the flattening reads the (C, H, W) map in that order
                    read = read.reshape(seen[last["layer"]][1][0].shape)
                pr, pc = last["position"]
                assert last["value"] == float(read[w.channel, pr, pc])


@pytest.mark.parametrize("kind", ["shipped", "batch norm", "pool before norm"])
def test_steps_follow_the_networks_own_order(cnn, digits, kind):
    model = networks(cnn)[kind]
    x = digits[:1]
    seen = hooked_outputs(model, x)
    w = worked_convolution(model, x, "conv1", 1, 9, 12)
    order = [n for n in dict(model.named_children()) if n in ("bn1", "relu1", "pool1")]
    assert [s["layer"] for s in w.steps] == order
    value = w.output
    for step in w.steps:
        assert step["input"] == pytest.approx(value, abs=1e-6)
        out = seen[step["layer"]][1][0]
        r, c = step["position"]
        assert step["value"] == float(out[w.channel, r, c])
        if step["name"] == "ReLU":
            assert step["value"] == max(step["input"], 0.0)
        elif step["name"] == "batch normalisation":
            bn = dict(model.named_children())[step["layer"]]
            assert step["running_mean"] == float(bn.running_mean[w.channel])
            assert step["gamma"] == float(bn.weight[w.channel].detach())
            by_hand = (step["input"] - step["running_mean"]) / np.sqrt(step["running_var"] + step["eps"]) \
                * step["gamma"] + step["beta"]
            assert step["value"] == pytest.approx(by_hand, abs=1e-5)
        elif step["name"] == "max pooling":
            window = np.array(step["window"])
            before = seen[step["layer"]][0][0, w.channel]
            top, left = step["window_top_left"]
            assert np.array_equal(window, before[top:top + 2, left:left + 2].numpy())
            assert step["max"] == step["value"] == window.max()
            assert step["wins"] == (window[tuple(step["in_window"])] == window.max())
            assert (r, c) == (w.row // 2, w.col // 2) and tuple(step["in_window"]) == (w.row % 2, w.col % 2)
        value = step["value"]


def test_a_losing_and_a_winning_position_in_a_pooling_window(cnn, digits):
    model, x = cnn[0], digits[:1]
    w = worked_convolution(model, x, "conv1", 0, 0, 0)
    fmap = torch.relu(torch.from_numpy(w.feature_map))
    wins = {(r, c): worked_convolution(model, x, "conv1", 0, r, c).steps[-1]["wins"]
            for r in range(6, 8) for c in range(12, 14)}
    window = fmap[6:8, 12:14]
    assert any(wins.values())
    assert wins == {(r, c): bool(fmap[r, c] == window.max()) for r, c in wins}


def test_feature_map_and_positions_for_the_animation(cnn, digits):
    model, x = cnn[0], digits[:1]
    seen = hooked_outputs(model, x)
    w = worked_convolution(model, x, "conv2", 5, 3, 4)
    assert np.array_equal(w.feature_map, seen["conv2"][1][0, 5].numpy())
    positions = kernel_positions(*w.feature_map.shape)
    assert len(positions) == 196 and positions[0] == (0, 0) and positions[1] == (0, 1) and positions[-1] == (13, 13)
    assert w.patch.shape == w.kernel.shape == w.products.shape == (32, 5, 5)
    assert w.channel_sums.sum() == pytest.approx(w.output - w.bias, abs=1e-4)


@pytest.mark.parametrize("args, words", [
    (("fc1", 0, 0, 0), "not a convolution layer"), (("conv1", 32, 0, 0), "channel 32"),
    (("conv1", 0, 28, 0), "row 28"), (("conv2", 0, 0, 14), "column 14"), (("conv1", -1, 0, 0), "channel -1"),
    (("conv1", 0.5, 0, 0), "whole number"), (("nope", 0, 0, 0), "conv1, conv2")])
def test_bad_layer_channel_or_position_is_a_clear_value_error(cnn, digits, args, words):
    with pytest.raises(ValueError, match=words):
        worked_convolution(cnn[0], digits[:1], *args)


def test_an_mlp_has_no_convolution_to_work_through(mlp, digits):
    with pytest.raises(ValueError, match="no convolutions"):
        worked_convolution(mlp[0], digits[:1], "fc1", 0, 0, 0)


# --- the command line ------------------------------------------------------------------------------


def test_convolve_json_holds_the_librarys_numbers(cnn, mnist_test, capsys):
    status = main(["convolve", "--model", "digits-cnn", "--layer", "conv2", "--channel", "7", "--row", "0",
                   "--col", "13", "mnist:3", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert {"patch", "kernel", "products", "bias", "output", "steps"} <= set(report)
    w = worked_convolution(cnn[0], mnist_test[0][3:4], "conv2", 7, 0, 13)
    for key in ("patch", "kernel", "products"):
        assert np.array(report[key]).shape == (32, 5, 5)
        assert np.array_equal(np.array(report[key], np.float32), getattr(w, key))  # unrounded float32
    assert report["bias"] == w.bias and report["output"] == w.output
    assert [(s["name"], s["value"]) for s in report["steps"]] == [(s["name"], s["value"]) for s in w.steps]
    assert [s["name"] for s in report["steps"]] == ["ReLU", "max pooling"]
    assert np.array(report["products"]).sum() + report["bias"] == pytest.approx(report["output"], abs=1e-4)


def test_convolve_a_saved_network_with_batch_norm_from_an_image_file(tmp_path, mnist_test_pixels, canvas, capsys):
    from PIL import Image

    model = bn_cnn(False, 3)
    card = save_checkpoint(model, {"architecture": {"kind": "cnn", "channels": [4, 6], "hidden": 16, "kernel_size": 5,
                                                    "batch_norm": True}, "dataset": "mnist"}, tmp_path / "bn-net")
    image = tmp_path / "digit.png"
    Image.fromarray(canvas(mnist_test_pixels[0][5])[..., :3]).save(image)
    assert main(["convolve", "--model", str(card), "--layer", "conv1", "--channel", "2", "--row", "27",
                 "--col", "0", str(image), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bias"] == 0.0  # no bias before a batch normalisation
    assert [s["name"] for s in report["steps"]] == ["batch normalisation", "ReLU", "max pooling"]
    assert np.array(report["patch"])[0, -2:, :].tolist() == [[0.0] * 5] * 2  # below the image: zero padding
    assert np.array(report["patch"])[0, :, :2].tolist() == [[0.0] * 2] * 5  # left of it


@pytest.mark.parametrize("argv, status, words", [
    (["--layer", "fc1", "--channel", "0", "--row", "0", "--col", "0", "mnist:0"], 2, "conv1, conv2"),
    (["--layer", "conv1", "--channel", "40", "--row", "0", "--col", "0", "mnist:0"], 2, "0…31"),
    (["--layer", "conv1", "--channel", "0", "--row", "0", "--col", "0", "mnist:99999"], 2, "mnist:INDEX"),
    (["--layer", "conv1", "--channel", "0", "--row", "0", "--col", "0", "missing.png"], 1, "missing.png")])
def test_convolve_bad_arguments_get_a_message_not_a_traceback(argv, status, words, capsys):
    assert main(["convolve", "--model", "digits-cnn", *argv]) == status
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
