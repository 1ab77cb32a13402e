"""Each name list once (nnviz/names.py): every table keyed by an activation, optimizer, schedule or
model kind covers exactly the registry's names, and every place that offers a choice offers the
registry's: the command line, the Train page, the class board's checks, the training loop."""

from __future__ import annotations

import pytest
import torch

from nnviz import class_runs, models, numpy_mlp
from nnviz.cli import build_parser
from nnviz.figures.activation_functions import FORMULAS
from nnviz.names import ACTIVATIONS, MODEL_KINDS, OPTIMIZERS, SCHEDULES, TORCH_KINDS
from nnviz.training import TrainConfig, make_optimizer, make_scheduler


def test_every_activation_has_a_torch_module_a_numpy_function_and_a_formula():
    assert set(models.ACTIVATIONS) == set(numpy_mlp.ACTIVATIONS) == set(FORMULAS) == set(ACTIVATIONS)
    z = torch.linspace(-3, 3, 13, dtype=torch.float64)
    for name in ACTIVATIONS:  # the PyTorch and the from-scratch networks compute the same function
        f, _ = numpy_mlp.ACTIVATIONS[name]
        torch.testing.assert_close(torch.from_numpy(f(z.numpy())), models.ACTIVATIONS[name]()(z))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_and_schedule_builds_and_validates(name):
    model = torch.nn.Linear(4, 2)
    for schedule in SCHEDULES:
        config = TrainConfig(optimizer=name, schedule=schedule)
        config.validate()
        optimizer = make_optimizer(model, config)
        assert type(optimizer).__name__ == OPTIMIZERS[name].torch_class
        assert (make_scheduler(optimizer, config, total_steps=100) is None) == (schedule == "constant")
    with pytest.raises(ValueError, match="unknown optimizer"):
        TrainConfig(optimizer="rmsprop").validate()


def test_the_command_line_offers_the_registrys_names():
    parser = build_parser()
    for kind in MODEL_KINDS:
        assert parser.parse_args(["train", "--model", kind]).model == kind
    for name in OPTIMIZERS:
        assert parser.parse_args(["train", "--model", "cnn", "--optimizer", name]).optimizer == name
    for name in ACTIVATIONS:
        assert parser.parse_args(["train", "--model", "mlp", "--activation", name]).activation == name
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--model", "transformer"])


def test_the_library_builds_every_torch_kind_and_the_board_accepts_every_kind():
    for kind in TORCH_KINDS:
        assert models.build_model(models.architecture_for(kind, "mnist")) is not None
    with pytest.raises(ValueError, match="unknown model kind"):
        models.build_model({"kind": "numpy-mlp"})  # the NumPy network is nnviz.numpy_mlp's, not torch's
    for kind in MODEL_KINDS:
        arch = {"kind": kind, "channels": [4, 8]} if kind == "cnn" else {"kind": kind, "hidden": [8], "activation": "tanh"}
        assert class_runs._architecture(arch)["kind"] == kind
    with pytest.raises(ValueError):
        class_runs._architecture({"kind": "mlp", "hidden": [8], "activation": "swish"})
