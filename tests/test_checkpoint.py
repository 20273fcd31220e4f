"""Model files: identical weights give identical bytes (DVC hashes stay put), and they load."""

from __future__ import annotations

import hashlib

import torch

from aelab.checkpoint import load_checkpoint, save_checkpoint
from aelab.models import build_model

CFG = {"latent_dim": 1, "hidden_size": 16, "layers": 2}


def _model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model("mlp_ae", CFG, (2,))


def _save(path, model):
    save_checkpoint(path, model, model_name="mlp_ae", variant="moons_ae", dataset="moons")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_weights_saved_to_different_paths_give_identical_bytes(tmp_path):
    (tmp_path / "b").mkdir()
    first = _save(tmp_path / "a.pt", _model())
    assert _save(tmp_path / "b" / "other_name.pt", _model()) == first  # rebuilt, same seed
    assert _save(tmp_path / "a.pt", _model()) == first  # overwritten in place
    assert _save(tmp_path / "c.pt", _model(seed=1)) != first  # the bytes do follow the weights


def test_saved_model_round_trips(tmp_path):
    model = _model().eval()
    _save(tmp_path / "m.pt", model)
    loaded, record = load_checkpoint(tmp_path / "m.pt")
    assert record["model"] == "mlp_ae" and record["variant"] == "moons_ae" and loaded.cfg == model.cfg
    x = torch.randn(8, 2)
    with torch.inference_mode():
        assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
    assert not list(tmp_path.glob(".m.pt.*"))  # no temp file left behind
