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


def test_train_stage_trains_conv_models_channels_last_and_saves_nchw_weights(tmp_path, monkeypatch):
    """train@ runs a conv model channels-last on the CPU (aelab.core.runtime.cpu_layout:
    faster oneDNN steps) and turns it back before saving: the checkpoint's tensors are
    plain NCHW, as an NCHW-trained model's are."""
    import aelab.train
    from aelab import stage_fns
    from aelab.core import paths
    from aelab.core.config import parse
    from aelab.core.params import Params

    monkeypatch.chdir(tmp_path)
    params = parse(Params, {
        "datasets": ["digits"], "data": {"digits": {"test_size": 0.25, "seed": 0}},
        "runtime": {"threads": 1, "device": "cpu"},
        "train": {"epochs": 1, "batch_size": 64, "lr": 1e-3},
        "variants": {"dconv": {"dataset": "digits", "model": "conv_ae", "latent_dim": 4,
                               "filters": [8, 16], "dense": 32}},
    }, "")
    seen = {}
    real_fit = aelab.train.fit

    def spy(model, **kw):
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
        # (a 1-channel conv's weight is both layouts at once: at least one must differ)
        seen["channels_last"] = (
            bool(convs) and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
            and not all(m.weight.is_contiguous() for m in convs))
        return real_fit(model, **kw)

    monkeypatch.setattr(aelab.train, "fit", spy)
    stage_fns.download(params, "digits")
    stage_fns.preprocess(params, "digits")
    stage_fns.train(params, "dconv")
    assert seen == {"channels_last": True}
    saved = torch.load(paths.model_file("dconv"), weights_only=True)["state_dict"]
    assert any(t.dim() == 4 for t in saved.values())
    assert all(t.is_contiguous() for t in saved.values())
