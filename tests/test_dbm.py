"""The deep Boltzmann machine: its samplers, greedy pre-training, joint training and mean field.

The structured fixture is 12-pixel binary images (1×3×4) drawn from two prototypes with 5% of
the pixels flipped. At that size the DBM's likelihood is exact by enumeration (2¹² visible ×
2^top_dim top states, h1 summed out analytically), so "training lowers the data's energy"
is checked against the true log-likelihood, not only against a proxy. ~5 s on one thread.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from aelab.core.config import parse
from aelab.core.errors import ConfigError
from aelab.models import build_model
from aelab.models.configs import DBMConfig
from aelab.models.dbm import _LayerRBM, _log_odds, pseudo_ll
from aelab.core.params import TrainParams
from aelab.train import fit

torch.set_num_threads(1)

SHAPE = (1, 3, 4)
D = 12
SMALL = dict(latent_dim=8, top_dim=4, mf_steps=10, pretrain_epochs=0, sample_steps=20)
CPU = torch.device("cpu")


def prototypes(n: int, seed: int = 0, noise: float = 0.05) -> torch.Tensor:
    """(n, 1, 3, 4) binary: half the first prototype, half its complement-like second, each
    pixel flipped with probability `noise`."""
    g = torch.Generator().manual_seed(seed)
    protos = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
                           [0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0]], dtype=torch.float32)
    x = protos[torch.arange(n) % 2]
    flip = torch.rand(n, D, generator=g) < noise
    return torch.where(flip, 1 - x, x).reshape(n, *SHAPE)


def small_dbm(seed: int = 0, **kw):
    torch.manual_seed(seed)
    return build_model("dbm", {**SMALL, **kw}, SHAPE)


def all_binary(n: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))  # (2^n, n)


@torch.no_grad()
def exact_free_energy(model, v) -> torch.Tensor:
    """F(v) = −log Σ_{h1,h2} exp(−E), (B,): h1 analytically, h2 enumerated."""
    h2 = all_binary(model.W2.shape[1])  # (K, H2)
    f = torch.stack([model.free_energy(v, h.expand(len(v), -1)) for h in h2], 1)  # (B, K)
    return -torch.logsumexp(-f, 1)


@torch.no_grad()
def exact_log_lik(model, v) -> torch.Tensor:
    """log p(v), (B,) nats, with log Z over all 2^D visible states."""
    log_z = torch.logsumexp(-exact_free_energy(model, all_binary(D)), 0)
    return -exact_free_energy(model, v) - log_z


def train_params(**kw) -> TrainParams:
    return TrainParams(**{**dict(epochs=10, batch_size=10, lr=0.02, optimizer="sgd", momentum=0.5), **kw})


@pytest.fixture(scope="module")
def trained():
    """A small DBM after pre-training and joint training on the prototypes."""
    model = small_dbm(pretrain_epochs=5)
    x = prototypes(200)
    res = model.own_fit(x_train=x, x_test=prototypes(50, seed=1), cfg=train_params(), device=CPU)
    return model, x, res


# ---- samplers: shapes, ranges, clamping ------------------------------------------------------

def test_encode_decode_sample_and_chain_shapes(trained):
    model, x, _ = trained
    z = model.encode(x[:16])
    assert z.shape == (16, 8) and model.latent_dim == 8 and 0 <= z.min() and z.max() <= 1
    for out in (model.decode(z), model.reconstruct(x[:16]), model.reconstruct(x[:16], sample=True)):
        assert out.shape == (16, *SHAPE) and 0 <= out.min() and out.max() <= 1
    s = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert s.shape == (5, *SHAPE) and 0 <= s.min() and s.max() <= 1
    assert torch.equal(s, model.sample(5, generator=torch.Generator().manual_seed(0)))  # seeded
    v = x[:16].flatten(1)
    chain = model.gibbs_chain(v, [5, 1, 2], torch.Generator().manual_seed(3))
    assert len(chain) == 3 and all(p.shape == (16, D) and 0 <= p.min() and p.max() <= 1 for p in chain)
    with pytest.raises(ValueError, match=r"^steps must be >= 1, got \[0, 1\]$"):
        model.gibbs_chain(v, [0, 1])
    with pytest.raises(ValueError, match=r"^steps must be >= 1, got 0$"):
        model.gibbs_clamped(v, torch.ones_like(v, dtype=torch.bool), 0)


def test_inpaint_never_changes_the_known_pixels(trained):
    model, x, _ = trained
    v = x[:40].flatten(1)
    known = torch.rand(40, D, generator=torch.Generator().manual_seed(0)) < 0.5
    out = model.gibbs_clamped(v, known, 30, torch.Generator().manual_seed(1))
    assert out.shape == v.shape and 0 <= out.min() and out.max() <= 1
    assert torch.equal(out[known], v[known])
    # the fill follows the known half: pixels 0-5 known from prototype A → 6-11 filled off
    a = torch.tensor([1.0] * 6 + [0.0] * 6).expand(20, -1)
    left = torch.zeros(20, D, dtype=torch.bool)
    left[:, :6] = True
    filled = model.gibbs_clamped(a, left, 30, torch.Generator().manual_seed(2))
    assert filled[:, 6:].mean() < 0.3, filled[:, 6:].mean()


# ---- greedy pre-training ---------------------------------------------------------------------

def test_pretraining_initialises_the_weights_from_the_layer_rbms():
    x, xt = prototypes(200), prototypes(50, seed=1)
    cfg = train_params(epochs=5)
    model = small_dbm(pretrain_epochs=5)
    w1, w2 = model.W1.detach().clone(), model.W2.detach().clone()
    mse0 = float((model.reconstruct(xt) - xt).pow(2).mean().detach())
    torch.manual_seed(7)
    phases = model.pretrain(x, xt, cfg, CPU, seed=0)
    assert set(phases) == {"pretrain_layer1", "pretrain_layer2"}
    assert not torch.allclose(model.W1, w1) and not torch.allclose(model.W2, w2)
    mse = float((model.reconstruct(xt) - xt).pow(2).mean().detach())
    assert mse < 0.5 * mse0, (mse0, mse)
    # layer 1 is exactly a doubled RBM trained alone by train.fit from the same start
    twin = small_dbm(pretrain_epochs=5)
    with torch.no_grad():
        twin.b_v.copy_(_log_odds(x))
    layer = _LayerRBM(twin, twin.W1, twin.b_v, torch.nn.Parameter(torch.zeros(8)), 2, 1)
    torch.manual_seed(7)
    fit(layer, x, xt, cfg, CPU, seed=0)
    torch.testing.assert_close(model.W1, twin.W1, rtol=0, atol=1e-6)


# ---- joint training lowers the data's energy -----------------------------------------------

def test_joint_training_lowers_the_energy_of_the_data():
    x = prototypes(200)
    model = small_dbm(pretrain_epochs=0)  # joint training alone: mean field + PCD
    noise = torch.bernoulli(torch.full((200, D), 0.5), generator=torch.Generator().manual_seed(5))
    v = x.flatten(1)
    f0, ll0 = exact_free_energy(model, v).mean(), exact_log_lik(model, v).mean()
    res = model.own_fit(x_train=x, x_test=prototypes(50, seed=1), cfg=train_params(epochs=20), device=CPU)
    f1, ll1 = exact_free_energy(model, v).mean(), exact_log_lik(model, v).mean()
    assert f1 < f0 - 1, (f0, f1)  # the data's free energy went down …
    assert f1 < exact_free_energy(model, noise).mean() - 2  # … and lies below random vectors'
    assert ll1 > ll0 + 2 and ll1 > -6, (ll0, ll1)  # exact log p: from −8.3 (uniform) to near −3.1
    pll = [r["joint/train/pseudo_ll"] for r in res.history]
    assert pll[-1] > pll[0], pll  # the logged proxy improves too
    assert set(res.phases) == {"joint"} and res.epochs == 20


def test_own_fit_runs_all_phases_in_order(trained):
    _, _, res = trained
    assert list(res.phases) == ["pretrain_layer1", "pretrain_layer2", "joint"]
    assert res.epochs == 5 + 5 + 10 == len(res.history)
    assert [r["epoch"] for r in res.history] == list(range(1, 21))
    assert "layer1/train/loss" in res.history[0] and "joint/test/pseudo_ll" in res.history[-1]


def test_own_fit_learns_the_contract_batch():
    """tests/test_models.py's 64 distinct 8×8 band images (its generic Adam overfit skips the
    DBM): pre-training + joint training bring the reconstruction MSE below 10% of the start
    (measured: 2.5%; joint training alone from the random init got stuck at 24–66%)."""
    from test_models import make_batch

    torch.manual_seed(0)
    model = build_model("dbm", dict(latent_dim=64, top_dim=32, mf_steps=5, pretrain_epochs=25), (1, 8, 8))
    x, _ = make_batch("digits")
    with torch.no_grad():
        start = float((model.reconstruct(x) - x).pow(2).mean())
    model.own_fit(x_train=x, x_test=x, cfg=train_params(epochs=25, batch_size=16, lr=0.05), device=CPU)
    with torch.no_grad():
        end = float((model.reconstruct(x) - x).pow(2).mean())
    assert end < 0.1 * start, (start, end)


# ---- mean field and the logged pseudo-likelihood ----------------------------------------------

def test_mean_field_converges_to_a_fixed_point(trained):
    model, x, _ = trained
    v = x.flatten(1)
    mu1, mu2 = model.mean_field(v, 50)
    nxt1, nxt2 = model.mean_field(v, 51)
    assert (nxt1 - mu1).abs().max() < 1e-4 and (nxt2 - mu2).abs().max() < 1e-4
    torch.testing.assert_close(mu1, model._p_h1(v, mu2), rtol=0, atol=1e-4)  # the equations hold
    torch.testing.assert_close(mu2, model._p_h2(mu1), rtol=0, atol=1e-4)
    short, _ = model.mean_field(v, model.cfg.mf_steps)  # the configured steps are near it already
    assert (short - mu1).abs().max() < 1e-2


def test_pseudo_likelihood_is_the_conditional_rbms():
    model = small_dbm().double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    v = torch.bernoulli(torch.full((30, D), 0.4, dtype=torch.float64))
    _, mu2 = model.mean_field(v)
    flip = torch.randint(D, (30,))
    ours = pseudo_ll(v, model.W1, model.b_v, model.b1 + mu2 @ model.W2.t(), flip)
    vt = v.clone()
    vt[torch.arange(30), flip] = 1 - vt[torch.arange(30), flip]
    with torch.no_grad():
        ref = D * torch.nn.functional.logsigmoid(model.free_energy(vt, mu2) - model.free_energy(v, mu2))
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-9)


# ---- config ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value", [("mf_steps", 0), ("top_dim", 0), ("latent_dim", 0),
                                       ("binarize", "grey"), ("pretrain_epochs", -1)])
def test_config_errors_name_the_dotted_key(key, value):
    with pytest.raises(ConfigError) as err:
        parse(DBMConfig, {key: value}, "variants.mnist_dbm")
    assert err.value.key == f"variants.mnist_dbm.{key}"


def test_points_are_refused():
    with pytest.raises(ConfigError) as err:
        build_model("dbm", SMALL, (2,))
    assert err.value.key == "model"
    assert "a Bernoulli DBM needs data in [0, 1] (images); got points of shape (2,)" in err.value.message
