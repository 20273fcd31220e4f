"""The random-forest probe (aelab.probe) on cases whose answer is known."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from aelab.data.contract import Processed
from aelab.core.io import read_json
from aelab.models import build_model
from aelab.models.base import Autoencoder
from aelab.core.params import ClassifyParams
from aelab.probe import run_probe, write_probe

CFG = ClassifyParams(n_estimators=30, max_train=0, max_test=0, n_samples=60, gmm_components=(1, 2, 3))


def blobs(n_classes=4, n=400, d=4, seed=0, labels=True) -> Processed:
    """Well separated Gaussian blobs as a 'points' dataset (identity standardization)."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=2 * n, centers=n_classes, n_features=d, cluster_std=1.0, random_state=seed)
    x, y = x.astype(np.float32), y.astype(np.int64)
    if not labels:
        y = np.full_like(y, -1)
    meta = {"name": "blobs", "kind": "points", "shape": [d], "class_names": [f"c{i}" for i in range(n_classes)],
            "standardize": {"mean": [0.0] * d, "std": [1.0] * d}}
    return Processed(x[:n], y[:n], x[n:], y[n:], meta)


class Identity(Autoencoder):
    """encode = decode = identity: reconstructions equal the originals."""

    def __init__(self, d):
        super().__init__(None, (d,))
        self.latent_dim = d
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def encode(self, x):
        return x.flatten(1)

    def decode(self, z):
        return z


class Noise(Identity):
    """Reconstructions are fresh Gaussian noise, unrelated to the input."""

    def reconstruct(self, x, sample=False):
        g = torch.Generator().manual_seed(len(x))
        return torch.randn(x.shape, generator=g) * 5


def test_identity_reconstructions_keep_accuracy_and_agree(tmp_path):
    data = blobs()
    res = run_probe(Identity(4), data, CFG, name="identity")
    acc = res.metrics["accuracy"]
    assert acc["test_reconstructions"] == acc["test_originals"] > 0.9
    # identity x̂ = x: the forest of reconstructions is the forest of originals
    assert acc["test_reconstructions_recon_forest"] == acc["test_originals"]
    assert "train_originals" not in acc  # a forest memorises its training set: no information
    assert res.metrics["agreement_test"] == 1.0
    n = acc["test_originals_n"]
    assert n == len(data.x_test) and acc["test_originals_lo"] < acc["test_originals"] <= acc["test_originals_hi"]
    s = res.metrics["samples"]
    assert s["sampler"] == "gmm" and s["n"] == CFG.n_samples
    assert abs(sum(s["class_fraction"].values()) - 1) < 1e-9 and 0 < s["mean_max_prob"] <= 1
    write_probe(res, tmp_path / "m.json", tmp_path / "plots", tmp_path / "data")
    rows = list(csv.reader(open(tmp_path / "data/confusion_test_reconstructions.csv")))
    assert rows[0] == ["actual", "predicted"] and len(rows) == 1 + len(data.x_test)
    assert {p.name for p in (tmp_path / "plots").iterdir()} == {"confusion.png", "samples.png"}  # PNGs only
    assert {p.name for p in (tmp_path / "data").iterdir()} == {f"confusion_test_{s}.csv" for s in
                                                             ("originals", "reconstructions")}
    assert read_json(tmp_path / "m.json")["accuracy"]["test_originals"] == pytest.approx(acc["test_originals"])


def test_noise_reconstructions_score_near_chance():
    res = run_probe(Noise(4), blobs(), CFG, name="noise")
    acc, chance = res.metrics["accuracy"], res.metrics["chance_accuracy"]
    assert acc["test_originals"] > 0.9
    assert abs(acc["test_reconstructions"] - chance) < 0.12, acc
    assert res.metrics["agreement_test"] < 0.5
    # noise carries no class: the forest fitted on noise reconstructions is at chance too
    assert abs(acc["test_reconstructions_recon_forest"] - chance) < 0.12, acc


class CountingOptimizer(Identity):
    """An identity whose encode() 'optimises' (flagged like a GAN); counts encoded inputs."""

    encode_by_optimization = True
    has_prior = True  # like a GAN: samples come from the prior, not from encoded train codes

    def __init__(self, d):
        super().__init__(d)
        self.encoded = 0

    def sample(self, n, generator=None):
        return torch.randn(n, self.latent_dim, generator=generator)

    def encode(self, x):
        self.encoded += len(x)
        return super().encode(x)


def test_models_that_optimise_codes_reconstruct_a_capped_subset(tmp_path):
    import dataclasses

    model = CountingOptimizer(4)
    cfg = dataclasses.replace(CFG, max_optimized=25)
    res = run_probe(model, blobs(), cfg, name="slow")
    assert res.metrics["n_reconstructed"] == 25
    assert model.encoded == 2 * 25  # 25 test + 25 train images, not 400 + 400
    assert res.metrics["accuracy"]["test_reconstructions"] > 0.8  # identity: still readable
    write_probe(res, tmp_path / "m.json", tmp_path / "plots", tmp_path / "data")
    rows = list(csv.reader(open(tmp_path / "data/confusion_test_reconstructions.csv")))
    assert len(rows) == 1 + 25
    assert run_probe(Identity(4), blobs(), cfg).metrics["n_reconstructed"] == 400  # others: all


def test_same_seed_same_metrics():
    a = run_probe(Identity(4), blobs(), CFG).metrics
    b = run_probe(Identity(4), blobs(), CFG).metrics
    assert a == b


def test_unlabelled_dataset_is_skipped_not_fatal(tmp_path):
    res = run_probe(Identity(4), blobs(labels=False), CFG, name="nolabels")
    assert "no labels" in res.metrics["skipped"]
    write_probe(res, tmp_path / "m.json", tmp_path / "plots", tmp_path / "data")
    assert "skipped" in read_json(tmp_path / "m.json")
    assert (tmp_path / "plots/skipped.png").exists()


def test_images_and_prior_sampling(tmp_path):
    """An (untrained) VAE on tiny images: prior samples, image figures, two-class labels."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120).astype(np.int64)
    x = (rng.random((120, 1, 4, 4)) < 0.3 + 0.4 * y[:, None, None, None]).astype(np.uint8) * 255
    meta = {"name": "bits", "kind": "image", "shape": [1, 4, 4], "value_range": [0, 255],
            "class_names": ["sparse", "dense"]}
    data = Processed(x[:80], y[:80], x[80:], y[80:], meta)
    torch.manual_seed(0)
    model = build_model("mlp_vae", {"latent_dim": 2, "hidden_size": 8, "layers": 1}, (1, 4, 4))
    res = run_probe(model, data, CFG, name="vae")
    assert res.metrics["samples"]["sampler"] == "prior"
    rates = {"test_originals", "test_reconstructions", "train_reconstructions",
             "test_reconstructions_recon_forest"}
    assert set(res.metrics["accuracy"]) == {f"{r}{s}" for r in rates for s in ("", "_n", "_lo", "_hi")}
    write_probe(res, tmp_path / "m.json", tmp_path / "plots", tmp_path / "data")
    assert (tmp_path / "plots/samples.png").stat().st_size > 0


def test_confusion_figure_names_the_rows_once_at_the_left(monkeypatch):
    """The panels share their rows (true classes): long class names drawn again on the right
    panel ran over the left panel's cells (emoji), so only the first panel labels them."""
    import aelab.core.io as aio
    from aelab.probe import ProbeResult, _confusion_figure

    figs = []
    monkeypatch.setattr(aio, "save_figure", lambda fig, path: figs.append(fig))
    names = ["Misc Symbols and Pictographs", "Flags", "Skin-tone variants"]
    y = np.array([0, 1, 2, 0, 1, 2])
    res = ProbeResult({"variant": "v"}, names, {"kind": "image"},
                      {"test_originals": (y, y), "test_reconstructions": (y, np.roll(y, 1))})
    _confusion_figure(res, "unused.png")
    left, right = figs[0].axes[:2]
    figs[0].canvas.draw()
    assert [t.get_text() for t in left.get_yticklabels()] == names
    assert right.yaxis.get_tick_params()["labelleft"] is False
    assert (left.get_ylabel(), right.get_ylabel()) == ("actual", "")


def test_samples_figure_keeps_long_class_names_clear_of_the_images(monkeypatch):
    """The bar chart of predicted classes names them at its left: emoji's long names ran
    over the sample images beside it. Every name ends left of the chart and right of
    the last column of images."""
    import aelab.core.io as aio
    from aelab.probe import ProbeResult, _samples_figure

    figs = []
    monkeypatch.setattr(aio, "save_figure", lambda fig, path: figs.append(fig))
    names = ["Emoticons", "Misc Symbols and Pictographs", "Supplemental Symbols and Pictographs",
             "Misc Symbols and Dingbats", "Skin-tone variants", "ZWJ sequences", "Flags"]
    n = 20
    rng = np.random.default_rng(0)
    res = ProbeResult({"variant": "v", "samples": {"n": n, "sampler": "prior", "mean_max_prob": 0.5,
                                                    "class_fraction": {c: 1 / len(names) for c in names}}},
                      names, {"kind": "image"}, samples=rng.random((n, 3, 32, 32)),
                      sample_pred=rng.integers(0, len(names), n), sample_prob=rng.random(n))
    _samples_figure(res, "unused.png")
    fig = figs[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    *images, chart = fig.axes
    labels = [t.get_window_extent(renderer) for t in chart.get_yticklabels()]
    assert [t.get_text().replace("\n", " ") for t in chart.get_yticklabels()] == names
    images_right = max(ax.get_window_extent(renderer).x1 for ax in images)
    assert images_right < min(b.x0 for b in labels)
    assert max(b.x1 for b in labels) <= chart.get_window_extent(renderer).x0
