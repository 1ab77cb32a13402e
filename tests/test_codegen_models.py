"""The generated script's network is nnviz's network: for every architecture option the Train page
and the command line offer, ``make_net()`` of the script that :func:`nnviz.codegen.standalone_script`
writes has the same layers (names, types, settings, parameter and buffer shapes) as
:func:`nnviz.models.build_model`, and with the same weights loaded gives the same logits."""

from __future__ import annotations

import itertools

import pytest
import torch

from nnviz.codegen import standalone_script
from nnviz.models import build_model, sized_for
from nnviz.names import ACTIVATIONS, OPTIMIZERS, SCHEDULES
from nnviz.training import TrainConfig

DATASETS = ("mnist", "cifar10-animals")  # 1×28×28 and 3×32×32 inputs

MLPS = [(sized_for({"kind": "mlp", "hidden": hidden, "activation": activation, "dropout": dropout}, dataset), dataset)
        for activation, dropout, hidden, dataset in itertools.product(ACTIVATIONS, (0.0, 0.2), ([24, 12], [], [16]),
                                                                      DATASETS)]
CNNS = [(sized_for({"kind": "cnn", "channels": [4, 6], "hidden": 16, "kernel_size": kernel, "dropout": dropout,
                    "batch_norm": batch_norm, "pool_before_norm": pool_before_norm}, dataset), dataset)
        for batch_norm, pool_before_norm, dropout, kernel, dataset in itertools.product(
            (False, True), (False, True), (0.0, 0.25), (3, 5), DATASETS)]


def generated_net(architecture: dict, dataset: str, config: TrainConfig | None = None) -> torch.nn.Module:
    """``make_net()`` of the generated script, executed (its ``main()`` is not run)."""
    namespace: dict = {"__name__": "generated"}
    source = standalone_script(architecture, dataset, config or TrainConfig())
    exec(compile(source, "train_nnviz.py", "exec"), namespace)
    return namespace["make_net"]()


def layers(model: torch.nn.Module) -> list[tuple]:
    """Each layer's name, its repr (type and settings: channels, kernel, padding, bias, p …), and the
    names and shapes of its parameters and buffers."""
    return [(name, repr(layer), [(n, tuple(t.shape)) for n, t in layer.state_dict().items()])
            for name, layer in model.named_children()]


def name(case) -> str:
    a = case[0]
    if a["kind"] == "mlp":
        return f"mlp-{a['activation']}-{a['hidden']}-drop{a['dropout']}-in{a['in_features']}"
    return (f"cnn-k{a['kernel_size']}-bn{int(a['batch_norm'])}-poolfirst{int(a['pool_before_norm'])}"
            f"-drop{a['dropout']}-in{a['in_channels']}")


@pytest.mark.parametrize("case", MLPS + CNNS, ids=name)
def test_the_generated_network_equals_the_library_network(case):
    architecture, dataset = case
    torch.manual_seed(0)
    ours = build_model(architecture).eval()
    theirs = generated_net(architecture, dataset).eval()
    assert layers(theirs) == layers(ours)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    # Batch normalisation's running statistics, made unlike their defaults so that they count.
    for buffer in ours.buffers():
        if buffer.is_floating_point():
            buffer.uniform_(0.5, 1.5)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    c, side = (1, 28) if dataset == "mnist" else (3, 32)
    x = torch.randn(5, c, side, side, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = ours(x), theirs(x)
    assert expected.shape == (5, architecture["num_classes"])
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_the_comparison_sees_a_different_network():
    """``layers`` tells networks apart that differ only in a setting (here the kernel size)."""
    a, b = (sized_for({"kind": "cnn", "channels": [4, 6], "hidden": 16, "kernel_size": k}, "mnist") for k in (3, 5))
    assert layers(build_model(a)) != layers(build_model(b))
    assert layers(generated_net(a, "mnist")) != layers(build_model(b))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_generated_script_builds_the_optimizer_and_schedule_of_the_run(optimizer, schedule):
    """The script's optimizer line is the library's: same class and settings (momentum, Nesterov,
    weight decay) as :func:`nnviz.training.make_optimizer`; the schedule is OneCycleLR or none."""
    from nnviz.training import make_optimizer

    config = TrainConfig(optimizer=optimizer, schedule=schedule, weight_decay=1e-4)
    source = standalone_script(sized_for({"kind": "mlp", "hidden": [8]}, "mnist"), "mnist", config)
    line = next(line for line in source.splitlines() if line.strip().startswith("optimizer = "))
    model = build_model(sized_for({"kind": "mlp", "hidden": [8]}, "mnist"))
    theirs = eval(line.split("=", 1)[1], {"torch": torch, "model": model,  # noqa: S307 (our own generated line)
                                          "args": type("Args", (), {"lr": config.learning_rate})})
    ours = make_optimizer(model, config)
    assert type(theirs) is type(ours)
    assert theirs.defaults == ours.defaults
    assert ("OneCycleLR" in source) == (schedule == "onecycle")
