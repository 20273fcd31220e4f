"""Health checks (aelab.health) and honest statistics (aelab.stats) on known answers.

Each check fires on a fixture model built to be degenerate in exactly that way and stays
quiet on a healthy one (the identity), so a check that cannot fire fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_probe import CFG, Identity, blobs

from aelab import health
from aelab.health import HealthParams
from aelab.probe import run_probe
from aelab.stats import auroc_entry, code_mmd2, rate_entry, wilson
from aelab.tasks.common import variance_ratio

H = HealthParams()


class MeanOutput(Identity):
    """Every input reconstructs to the same point: output collapse, forest at chance."""

    def decode(self, z):
        return torch.zeros_like(z) + 0.5


class OneClassSampler(Identity):
    """A 'prior' whose samples are all one blob: mode collapse."""

    has_prior = True

    def __init__(self, d, centre):
        super().__init__(d)
        self.centre = torch.as_tensor(centre, dtype=torch.float32)

    def sample(self, n, generator=None):
        return self.centre + 0.01 * torch.randn(n, len(self.centre), generator=generator)


def test_wilson_interval_matches_the_textbook_values():
    # 8/10: Wilson 95% = (0.4902, 0.9433) (e.g. Brown, Cai & DasGupta 2001, table values)
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 50)[0] == 0.0 and wilson(50, 50)[1] == 1.0
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_rate_entry_carries_n_and_an_interval_around_the_rate():
    e = rate_entry("acc", np.r_[np.ones(70, bool), np.zeros(30, bool)])
    assert e["acc"] == 0.7 and e["acc_n"] == 100 and e["acc_lo"] < 0.7 < e["acc_hi"]


def test_auroc_interval_brackets_the_value_and_shrinks_with_n():
    rng = np.random.default_rng(0)

    def entry(n):
        s = np.r_[rng.normal(0, 1, n), rng.normal(1, 1, n)]
        return auroc_entry("a", np.r_[np.zeros(n), np.ones(n)], s, seed=0, rounds=300)

    small, large = entry(50), entry(2000)
    assert small["a_lo"] <= small["a"] <= small["a_hi"] and large["a_lo"] <= large["a"] <= large["a_hi"]
    assert large["a_hi"] - large["a_lo"] < (small["a_hi"] - small["a_lo"]) / 3
    assert large["a"] == pytest.approx(0.76, abs=0.03)  # Φ(1/√2) for unit-shifted normals


def test_code_mmd2_is_at_the_floor_for_gaussian_codes_and_far_above_for_shifted_ones():
    rng = np.random.default_rng(1)
    gauss = code_mmd2(rng.normal(size=(500, 2)), seed=0)
    shifted = code_mmd2(rng.normal(size=(500, 2)) + 3.0, seed=0)
    assert abs(gauss["code_mmd2_vs_normal"]) < 5 * abs(gauss["code_mmd2_floor"]) + 0.01
    assert shifted["code_mmd2_vs_normal"] > 50 * (abs(gauss["code_mmd2_vs_normal"]) + 1e-3)


def test_output_collapse_fires_on_a_constant_model_not_on_the_identity():
    x = torch.from_numpy(blobs().x_test)
    collapsed = variance_ratio(MeanOutput(4).reconstruct(x), x)
    healthy = variance_ratio(Identity(4).reconstruct(x), x)
    assert collapsed == 0.0 and healthy == pytest.approx(1.0)
    assert "output_collapse" in health.output_collapse(collapsed, H)
    assert health.output_collapse(healthy, H) == {}


def test_probe_at_chance_and_one_class_fire_on_collapsed_reconstructions():
    bad = health.probe_health(run_probe(MeanOutput(4), blobs(), CFG).metrics, H)
    # CFG judges 60 samples: below the default min_n, which small_n rightly flags
    good = health.probe_health(run_probe(Identity(4), blobs(), CFG).metrics, HealthParams(min_n=50))
    assert not bad["ok"] and {"probe_at_chance", "one_class_dominates"} <= set(bad["warnings"])
    assert bad["warnings"]["one_class_dominates"]["share"] == 1.0  # one output → one label
    assert good["ok"], good


def test_mode_collapse_fires_when_samples_cover_one_class():
    data = blobs()
    centre = data.x_train[data.y_train == 0].mean(0)
    m = run_probe(OneClassSampler(4, centre), data, CFG).metrics
    verdict = health.probe_health(m, H)
    assert m["samples"]["classes_seen"] == 1
    assert {"mode_collapse", "samples_one_class"} <= set(verdict["warnings"])
    assert verdict["warnings"]["mode_collapse"]["classes_seen"] == 1


def test_posterior_collapse_from_a_vae_whose_posterior_is_the_prior():
    from aelab.losses import kl_normal_per_dim

    mu, logvar = torch.zeros(64, 2), torch.zeros(64, 2)  # q(z|x) = N(0, I) for every x
    kl = kl_normal_per_dim(mu, logvar).mean(0)  # (2,) nats
    assert kl.tolist() == [0.0, 0.0]
    w = health.posterior_collapse(float(kl.sum()), float(kl.max()), 2, H)["posterior_collapse"]
    assert w["kl_nats_max_dim"] == 0.0 and "ignores the code" in w["why"]
    assert health.posterior_collapse(4.0, 2.0, 2, H) == {}  # 2 nats per dimension: in use


def test_posterior_collapse_asks_whether_any_dimension_carries_the_code():
    # a 300-D code of which a few dimensions carry 25 nats (the large MLP VAE): in use
    assert health.posterior_collapse(25.0, 3.1, 300, H) == {}
    # the same KL spread thin over all 300 dimensions: 0.083 nats each, the code is ignored
    w = health.posterior_collapse(25.0, 25.0 / 300, 300, H)["posterior_collapse"]
    assert round(w["kl_nats_max_dim"], 3) == 0.083 and w["threshold"] == H.kl_nats_per_dim
    # just under / at the threshold in the strongest dimension
    assert "posterior_collapse" in health.posterior_collapse(0.9, 0.49, 2, H)
    assert health.posterior_collapse(0.9, 0.5, 2, H) == {}
    # no per-dimension figure (older metrics): the total spread evenly — 25/300 is collapsed
    assert "posterior_collapse" in health.posterior_collapse(25.0, None, 300, H)
    assert health.posterior_collapse(None, None, 2, H) == {}  # not a VAE


def test_divergence_fires_on_a_rising_or_non_finite_loss_only():
    assert "divergence" in health.divergence(1.0, 1.5, H)
    assert "divergence" in health.divergence(1.0, math.inf, H)
    assert health.divergence(1.0, 0.4, H) == {}


def test_small_n_names_each_rate_below_the_minimum():
    m = {"latent.knn_accuracy": 0.5, "latent.knn_accuracy_n": 24,
         "anomaly.auroc": 0.9, "anomaly.auroc_n": 1000}
    w = health.small_n(m, H)["small_n"]
    assert w["rates"] == {"latent.knn_accuracy": 24}


def test_evaluate_health_combines_checks_and_skips_divergence_for_adversarial_fits():
    metrics = {"reconstruct.test.variance_ratio": 0.02, "latent.dim": 2,
               "latent.knn_accuracy": 0.12, "latent.knn_chance": 0.11}
    train = {"first_epoch": {"train_loss": 1.0}, "train": {"loss": 3.0}, "test": {"kl_nats": 0.1}}
    v = health.evaluate_health(metrics, train, True, H)
    assert set(v["warnings"]) == {"output_collapse", "posterior_collapse", "codes_at_chance", "divergence"}
    assert "divergence" not in health.evaluate_health(metrics, train, False, H)["warnings"]
    fine = {"reconstruct.test.variance_ratio": 0.8, "latent.dim": 2,
            "latent.knn_accuracy": 0.9, "latent.knn_chance": 0.11}
    assert health.evaluate_health(fine, {"first_epoch": {"train_loss": 1.0}, "train": {"loss": 0.5}},
                                  True, H) == {"ok": True, "warnings": {}}
