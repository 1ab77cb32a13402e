"""``python -m nnviz train --model numpy-mlp`` writes a checkpoint and a model card saying that the
NumPy code trained it; the checkpoint loads as an ordinary digit network."""

import json

import numpy as np

from nnviz.cli import main
from nnviz.predict import DigitClassifier


def test_train_numpy_mlp_writes_a_checkpoint_with_its_card(tmp_path, capsys):
    out = tmp_path / "tiny-numpy"
    status = main(["train", "--model", "numpy-mlp", "--hidden", "16", "16", "--epochs", "2", "--train-size", "3000",
                   "--out", str(out), "--quiet"])
    assert status == 0, capsys.readouterr().err
    assert "trained by the NumPy code" in capsys.readouterr().out
    card = json.loads((tmp_path / "tiny-numpy.json").read_text())
    assert (tmp_path / "tiny-numpy.safetensors").is_file()
    assert "NumPy" in card["trained_by"] and "SGD" in card["recipe"]
    assert card["architecture"] == {"kind": "mlp", "hidden": [16, 16], "activation": "relu", "in_features": 784,
                                    "num_classes": 10, "dropout": 0.0}
    assert card["hyperparameters"]["epochs"] == 2 and card["hyperparameters"]["train_size"] == 3000
    assert card["split"]["n_train"] == 3000 and card["split"]["n_test"] == 10000
    assert card["metrics"]["epochs_completed"] == 2 and card["metrics"]["test_accuracy"] > 0.7
    assert card["training_time_s"] > 0 and card["date"] and card["dataset"] == "mnist"
    classifier = DigitClassifier(str(tmp_path / "tiny-numpy.json"))
    assert [n for n, _ in classifier.model.named_children()] == ["flatten", "fc1", "relu1", "fc2", "relu2", "fc3"]


def test_options_that_do_not_apply_are_refused(tmp_path, capsys):
    status = main(["train", "--model", "numpy-mlp", "--optimizer", "adam", "--out", str(tmp_path / "x")])
    assert status == 2 and "does not apply" in capsys.readouterr().err


def test_train_numpy_model_trains_the_given_network_and_stops_when_asked():
    from nnviz.numpy_mlp import NumpyTrainConfig, predict_proba
    from nnviz.numpy_runs import new_numpy_mlp, train_numpy_model
    from nnviz.events import BatchEnd
    seen = []
    mlp = new_numpy_mlp((8,), "relu", "mnist", seed=0)
    before = mlp.weights[0].copy()
    model, card = train_numpy_model(mlp, NumpyTrainConfig(epochs=3, train_size=2000), on_event=seen.append,
                                    should_stop=lambda: len(seen) >= 10)
    assert len(seen) == 10 and all(isinstance(e, BatchEnd) for e in seen)
    assert card["metrics"]["stopped_early"] and card["metrics"]["epochs_completed"] == 0
    assert not np.array_equal(mlp.weights[0], before)  # the caller's network is the one trained, in place
    assert predict_proba(mlp, np.zeros((1, 784))).shape == (1, 10)
    assert model.fc1.weight.shape == (8, 784)
