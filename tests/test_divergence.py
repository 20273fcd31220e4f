"""A diverging run stops at the batch that went wrong (aelab.divergence), healthy runs do not.

Two moons through the MLP autoencoder: Adam at lr 10 explodes within the first epochs and
must raise TrainingDiverged naming stage, epoch, batch and term; lr 1e-3 must train on.
Through the train stage, a divergence leaves no model file and no metrics.
"""

from __future__ import annotations

import math
import re

import pytest
import torch

from aelab import stage_fns
from aelab.core.config import parse
from aelab.divergence import DivergenceGuard
from aelab.core.errors import TrainingDiverged
from aelab.models import build_model
from aelab.core.params import Params, TrainParams, user_errors
from aelab.train import fit

CPU = torch.device("cpu")
MESSAGE = re.compile(r"^train@moons: epoch \d+, batch \d+/\d+: loss term '\w+' is ")


def _moons(n: int, seed: int) -> torch.Tensor:
    from sklearn.datasets import make_moons

    x, _ = make_moons(n, noise=0.1, random_state=seed)
    x = (x - x.mean(0)) / x.std(0)  # standardized points, as the data contract hands them over
    return torch.tensor(x, dtype=torch.float32)


def _fit(lr: float, **train):
    torch.manual_seed(0)
    model = build_model("mlp_ae", {"latent_dim": 1, "hidden_size": 32, "layers": 2}, (2,))
    cfg = TrainParams(epochs=4, batch_size=32, lr=lr, **train)
    return fit(model, _moons(320, 0), _moons(100, 1), cfg, CPU, name="moons")


def test_adam_at_lr_10_raises_naming_epoch_batch_and_term():
    with pytest.raises(TrainingDiverged) as err:
        _fit(10.0)
    msg = str(err.value)
    assert MESSAGE.match(msg) and "\n" not in msg, msg
    assert "learning rate" in msg


def test_healthy_lr_trains_all_epochs():
    res = _fit(1e-3)
    assert res.epochs == 4 and len(res.history) == 4 and math.isfinite(res.train["loss"])


def test_nan_is_caught_even_with_the_factor_off():
    with pytest.raises(TrainingDiverged, match=r"is (nan|inf|-inf)"):
        _fit(1e6, optimizer="sgd", diverge_factor=0.0)


def _guard_epoch(guard, epoch, losses):
    for v in losses:
        guard.add({"loss": torch.tensor(v), "kl_nats": torch.tensor(0.0)})
    guard.end_epoch(epoch, sum(losses) / len(losses))


def test_limit_is_first_batch_in_epoch_1_then_epoch_1_mean():
    guard = DivergenceGuard("x", 10.0)
    _guard_epoch(guard, 1, [4.0, 2.0, 1.0, 1.0])  # mean 2, all under 10 × 4
    with pytest.raises(TrainingDiverged, match=r"epoch 2, batch 3/3: loss term 'loss' is 25.*10 × "
                                               r"epoch 1's mean training loss 2\b"):
        _guard_epoch(guard, 2, [1.0, 19.0, 25.0])
    with pytest.raises(TrainingDiverged, match="epoch 1, batch 2/2: .* first batch loss 1"):
        _guard_epoch(DivergenceGuard("x", 10.0), 1, [1.0, 11.0])


def test_models_whose_loss_may_rise_or_go_negative_get_the_finiteness_check_only():
    guard = DivergenceGuard("gan", 10.0, monotone=False)
    _guard_epoch(guard, 1, [-0.5, 0.7])
    _guard_epoch(guard, 2, [50.0, 900.0])  # e.g. G's loss while D wins: not divergence
    with pytest.raises(TrainingDiverged, match="epoch 3, batch 1/1: loss term 'loss' is inf"):
        _guard_epoch(guard, 3, [math.inf])


def _params(lr: float) -> Params:
    return parse(Params, {
        "datasets": ["moons"], "data": {"moons": {"n_train": 320, "n_test": 100, "test_noises": []}},
        "runtime": {"threads": 1, "device": "cpu"},
        "train": {"epochs": 3, "batch_size": 32, "lr": lr},
        "variants": {"moons": {"dataset": "moons", "model": "mlp_ae", "latent_dim": 1,
                               "hidden_size": 32, "layers": 2}},
    }, "")


def test_train_stage_that_diverges_writes_no_model_and_no_metrics(tmp_path, monkeypatch, capsys):
    from aelab.core import paths

    monkeypatch.chdir(tmp_path)
    params = _params(10.0)
    stage_fns.download(params, "moons")
    stage_fns.preprocess(params, "moons")
    with pytest.raises(SystemExit) as exit_, user_errors("train@moons"):
        stage_fns.train(params, "moons")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: train@moons: train@moons: epoch "), err
    assert not paths.model_file("moons").exists() and not paths.train_metrics("moons").exists()


def test_a_download_that_fails_half_way_keeps_the_previous_raw_folder(tmp_path, monkeypatch):
    """download@ fills a hidden temp folder and swaps it in only at the end: a source that
    dies after writing part of its files leaves the old raw folder byte for byte, and no
    temp beside it once the next run has started."""
    import dataclasses
    import hashlib

    from aelab.core import paths
    from aelab.data import registry

    monkeypatch.chdir(tmp_path)
    params = _params(1e-3)
    stage_fns.download(params, "moons")
    raw = paths.raw_dir("moons")

    def digest():
        return {str(p.relative_to(raw)): hashlib.md5(p.read_bytes()).hexdigest()
                for p in sorted(raw.rglob("*")) if p.is_file()}

    before = digest()
    assert before

    def dies_half_way(cfg, out):
        (out / "part.npy").write_bytes(b"half a file")
        raise OSError("connection reset")

    spec = dataclasses.replace(registry.DATASETS["moons"], download=dies_half_way)
    monkeypatch.setitem(registry.DATASETS, "moons", spec)
    with pytest.raises(OSError, match="connection reset"):
        stage_fns.download(params, "moons")
    assert digest() == before
    assert [p.name for p in raw.parent.iterdir()] == ["moons"]  # no temp folder left beside it
