"""Checkpoints: a saved model comes back identical; a mismatched one is refused clearly."""

import json

import pytest
import torch

from nnviz.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from nnviz.models import architecture_for, build_model

CNN = architecture_for("cnn", "mnist", channels=(32, 64), dropout=0.25)
MLP = architecture_for("mlp", "mnist", hidden=(512, 256), dropout=0.2)


@pytest.fixture
def saved_cnn(tmp_path):
    torch.manual_seed(1)
    arch = dict(CNN)
    model = build_model(arch).eval()
    card = {"architecture": arch, "dataset": "mnist", "metrics": {"test_accuracy": None}}
    return model, save_checkpoint(model, card, tmp_path / "tiny-cnn")


def test_round_trip_gives_the_same_logits(saved_cnn):
    model, card_path = saved_cnn
    loaded, card = load_checkpoint(card_path)
    x = torch.randn(4, 1, 28, 28)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert card["tensors"]["conv1.weight"] == [32, 1, 5, 5]
    assert card["name"] == "tiny-cnn"
    assert sorted(p.name for p in card_path.parent.iterdir()) == ["tiny-cnn.json", "tiny-cnn.safetensors"]


def test_weights_of_another_architecture_are_refused(saved_cnn):
    _, card_path = saved_cnn
    card = json.loads(card_path.read_text())
    card["architecture"]["channels"] = [8, 16]  # the card now says something the weights are not
    card.pop("tensors")
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="shapes disagree.*conv1.weight"):
        load_checkpoint(card_path)


def test_replaced_weights_are_refused(saved_cnn, tmp_path):
    _, card_path = saved_cnn
    other = build_model(MLP)
    other_card = save_checkpoint(other, {"architecture": MLP}, tmp_path / "other")
    card_path.with_suffix(".safetensors").write_bytes(other_card.with_suffix(".safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="does not match its model card"):
        load_checkpoint(card_path)


def test_a_pickle_is_never_loaded(saved_cnn):
    model, card_path = saved_cnn
    weights = card_path.with_suffix(".safetensors")
    torch.save(model.state_dict(), weights)  # a pickled file where safetensors should be
    card = json.loads(card_path.read_text())
    card.pop("weights_sha256")
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(card_path)


def test_unknown_names_list_what_exists():
    with pytest.raises(CheckpointError, match="available: .*digits-cnn"):
        load_checkpoint("digits-rnn")


def test_a_failed_save_leaves_the_previous_checkpoint_intact(saved_cnn, monkeypatch):
    model, card_path = saved_cnn
    before = card_path.with_suffix(".safetensors").read_bytes(), card_path.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr("nnviz.checkpoints.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(build_model(CNN), {"architecture": CNN},
                        card_path.with_suffix(""))
    assert (card_path.with_suffix(".safetensors").read_bytes(), card_path.read_text()) == before
    assert not list(card_path.parent.glob("*.tmp")), "temporary files are cleaned up"
