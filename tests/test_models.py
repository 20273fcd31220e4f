"""Contract tests over every registered model × every input kind it supports.

Input kinds: 2-D points (2,), 8×8 digits (1, 8, 8), MNIST-like (1, 28, 28), RGB (3, 32, 32).
Which pairs a model takes is the registry's answer (aelab.models.supports, given the
test config); UNSUPPORTED pins that answer so no pair drops out silently.

The models run with small widths (TEST_CFG) to keep the suite fast; the architectures are
the defaults'. Overfitting uses a structured batch of 64 distinct binary images (a row
band and a column band at 8×8 positions; RGB: rows, columns, both) or 64 standardized
moons, and must bring the loss below 10% of its start within 200 Adam steps. VAEs run
with beta 0.05 there: the −ELBO of 64 distinct images is bounded below by log 64 ≈ 4.2
nats (the KL needed to tell them apart), more than 10% of the start for 8×8 images.
The RBM is judged on its logged reconstruction MSE (its CD loss is not a likelihood).
The GAN has tests of its own. The whole file takes ~35 s on a 2-core CPU with one thread;
the two overfits of the photo-study nets at 32×32 (~8 s each) are marked slow.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from aelab.checkpoint import load_checkpoint, save_checkpoint
from aelab.core.config import parse, to_dict
from aelab.core.errors import ConfigError
from aelab.models import MODELS, build_model, supports
from aelab.models.base import Autoencoder
from aelab.core.params import TrainParams

torch.set_num_threads(1)

KINDS = {"points": (2,), "digits": (1, 8, 8), "mnist": (1, 28, 28), "rgb32": (3, 32, 32)}

TEST_CFG = {
    "mlp_ae": dict(latent_dim=16),
    "mlp_vae": dict(latent_dim=16, beta=0.05),
    "conv_ae": dict(latent_dim=16, filters=(16, 32), dense=64),
    "conv_vae": dict(latent_dim=16, filters=(16, 32), dense=64, beta=0.05),
    "deep_cae": dict(filters=16, latent_dim=64),
    "deep_vae": dict(filters=16, latent_dim=16, beta=0.05),
    "res_conv_ae": dict(latent_dim=16, filters=(8, 16), blocks=1),
    "mmd_ae": dict(lam=1.0),
    "gan": dict(filters=(8, 16), latent_dim=8, encode_steps=10, encoder_epochs=2),
    "gan_mlp": dict(backbone="mlp", hidden_sizes=(32, 64), latent_dim=8, encode_steps=10, encoder_epochs=2),
    "stacked_ae": dict(hidden_sizes=(64,), latent_dim=16),
    "rbm": dict(latent_dim=64),
    "dbm": dict(latent_dim=64, top_dim=32, mf_steps=5, sample_steps=20),
}
# Cases beyond the registry's names: a registered model under another config choice (the
# GAN's fully connected backbone), run through every contract test like a model of its own.
CONFIG_CASES = {"gan_mlp": "gan"}
CASES = [*MODELS, *CONFIG_CASES]
KIND_CFG = {  # (model, kind) → extra test settings
    ("mlp_ae", "points"): dict(latent_dim=2),
    ("mlp_vae", "points"): dict(latent_dim=2, output="linear", loss="mse", beta=0.01),
    ("stacked_ae", "points"): dict(output="linear", loss="mse", n_classes=2),
    ("deep_cae", "digits"): dict(n_up=1, n_down=2),  # 4·2¹ = 8
    ("deep_vae", "digits"): dict(n_up=1, n_down=2),
    **{(m, k): dict(output="sigmoid", loss="bce") for m in ("mlp_ae",) for k in ("digits", "mnist", "rgb32")},
    **{("mmd_ae", k): dict(output="sigmoid", encoder="mlp", latent_dim=16) for k in ("mnist", "rgb32")},
    ("mmd_ae", "digits"): dict(output="sigmoid"),
}
UNSUPPORTED = {  # pinned: conv nets need images; deep nets need side 4·2^n_up; the RBM needs [0, 1] data
    *((m, "points") for m in ("conv_ae", "conv_vae", "deep_cae", "deep_vae", "res_conv_ae", "gan", "gan_mlp", "rbm", "dbm")),
    ("deep_cae", "mnist"), ("deep_vae", "mnist"),
}
OVERFIT_LR = {"rbm": 1e-2, ("rbm", "rgb32"): 3e-3, "deep_cae": 3e-3}
# 28×28 and 32×32 overfits take ~1–8 s each on a 2-core CPU: the slow tier runs them, while
# the fast tier has every model overfit its cheapest shape (points or 8×8 digits; every
# image model takes digits, asserted in test_every_model_overfits_a_cheap_shape_in_the_fast_tier)
SLOW_OVERFIT_KINDS = {"mnist", "rgb32"}


def cfg_for(name: str, kind: str) -> dict:
    return {**TEST_CFG[name], **KIND_CFG.get((name, kind), {})}


def model_of(case: str) -> str:
    """The registry name of a test case."""
    return CONFIG_CASES.get(case, case)


def _pairs():
    for name in CASES:
        for kind in KINDS:
            if (name, kind) not in UNSUPPORTED:
                yield name, kind


PAIRS = list(_pairs())
IDS = [f"{n}-{k}" for n, k in PAIRS]


def make_batch(kind: str, n: int = 64):
    """64 distinct structured samples and labels; images are binary in [0, 1]."""
    shape = KINDS[kind]
    if len(shape) == 1:
        from sklearn.datasets import make_moons

        x, y = make_moons(n, noise=0.05, random_state=0)
        x = (x - x.mean(0)) / x.std(0)
        return torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    c, h, w = shape
    out = torch.zeros(n, c, h, w)
    bh, bw = max(1, h // 8), max(1, w // 8)
    for k in range(n):
        r, q = (k // 8) % 8 * h // 8, k % 8 * w // 8
        row, col = torch.zeros(h, w), torch.zeros(h, w)
        row[r:r + bh], col[:, q:q + bw] = 1, 1
        both = torch.maximum(row, col)
        out[k] = torch.stack([both] if c == 1 else [row, col, both])
    return out, torch.arange(n) % 10


def make_model(name: str, kind: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(model_of(name), cfg_for(name, kind), KINDS[kind])


def run(model, x, y):
    return model(x, y) if model.needs_labels else model(x)


def _bounded(name: str, kind: str) -> bool:
    """Whether outputs are sigmoid values in [0, 1] under the test config."""
    return KINDS[kind] != (2,)


# ---- registry --------------------------------------------------------------------------

def test_supported_pairs_are_pinned():
    computed = {(n, k) for n in CASES for k in KINDS if not supports(model_of(n), KINDS[k], cfg_for(n, k))}
    assert computed == UNSUPPORTED


def _refusal(name: str, kind: str) -> tuple[str, str]:
    """(ConfigError.key, message fragment) the registry gives for an unsupported pair."""
    if kind == "points":
        if model_of(name) in ("rbm", "dbm"):
            return "model", "needs data in [0, 1] (images); got points of shape (2,)"
        return "model_args", "needs images C×H×W; got input shape (2,)"
    return "model_args.n_up", "n_up=3 decodes 32×32 images but the input is (1, 28, 28)"


@pytest.mark.parametrize("name,kind", sorted(UNSUPPORTED))
def test_unsupported_pairs_raise_config_error(name, kind):
    key, words = _refusal(name, kind)
    with pytest.raises(ConfigError) as err:
        build_model(model_of(name), cfg_for(name, kind), KINDS[kind])
    assert err.value.key == key and words in err.value.message, (err.value.key, err.value.message)


@pytest.mark.parametrize("name", list(MODELS))
def test_config_dataclass_contract(name):
    cls, cfg_cls = MODELS[name]
    assert dataclasses.is_dataclass(cfg_cls) and cfg_cls.__dataclass_params__.frozen
    doc = " ".join((c.__doc__ or "") for c in cfg_cls.__mro__)
    missing = [f.name for f in dataclasses.fields(cfg_cls) if f.name not in doc]
    assert not missing, f"{cfg_cls.__name__} docstring does not list {missing}"
    default = parse(cfg_cls, {}, "model_args")
    assert parse(cfg_cls, to_dict(default), "model_args") == default  # YAML round trip
    for flag in ("has_encoder", "encode_by_optimization", "has_own_fit", "has_prior", "stochastic",
                 "needs_labels"):
        assert isinstance(getattr(cls, flag), bool), f"{cls.__name__}.{flag} is not declared as a bool"
    # a model that declares its own fit overrides own_fit; no other model does
    assert (cls.own_fit is not Autoencoder.own_fit) == cls.has_own_fit


def test_capabilities_are_declared_where_they_differ_from_the_default():
    own = {n for n, (cls, _) in MODELS.items() if cls.has_own_fit}
    assert own == {"gan", "stacked_ae", "dbm"}
    assert {n for n, (cls, _) in MODELS.items() if cls.encode_by_optimization} == {"gan"}


def test_unknown_model_names_the_choices():
    with pytest.raises(ConfigError, match="conv_vae"):
        build_model("nope", {}, (1, 28, 28))


# ---- per model × input kind -------------------------------------------------------------

@pytest.mark.parametrize("name,kind", PAIRS, ids=IDS)
def test_shapes_ranges_and_loss(name, kind):
    model = make_model(name, kind)
    x, y = make_batch(kind, 16)
    shape = KINDS[kind]
    assert model.loss_units
    out = run(model, x, y)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert out.recon.shape == x.shape and out.z.shape == (16, model.latent_dim)
    assert all(v.dim() == 0 and torch.isfinite(v) and not v.requires_grad for v in out.logs.values())
    model.eval()
    with torch.inference_mode():  # as the task suite calls them
        z = model.encode(x)
        assert z.shape == (16, model.latent_dim)
        outs = [model.decode(z), model.reconstruct(x), model.reconstruct(x, sample=True)]
        if model.has_prior:
            outs.append(model.sample(5, generator=torch.Generator().manual_seed(0)))
            assert outs[-1].shape == (5, *shape)
        line = torch.lerp(z[:1], z[1:2], torch.linspace(0, 1, 7)[:, None])  # interpolation
        outs.append(model.decode(line))
        if model.stochastic:
            assert not torch.equal(model.reconstruct(x, sample=True), model.reconstruct(x, sample=True))
    for o in outs:
        assert o.shape[1:] == shape and torch.isfinite(o).all()
        if _bounded(name, kind):
            assert o.min() >= 0 and o.max() <= 1


@pytest.mark.parametrize("name,kind", PAIRS, ids=IDS)
def test_every_parameter_gets_a_finite_gradient(name, kind):
    model = make_model(name, kind)
    if name == "stacked_ae":
        model.set_classify(True)  # the head only learns in classification mode
    x, y = make_batch(kind, 16)
    run(model, x, y).loss.backward()
    if model_of(name) == "gan":  # E learns in its own phase, from the inversion loss
        from aelab.models.gan import _Inversion

        _Inversion(model)(x).loss.backward()
    named = list(model.named_parameters())
    assert named, "the model has no parameters to check"
    for pname, p in named:
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"


def _overfit_params():
    for name, kind in PAIRS:
        if model_of(name) == "gan":
            continue  # adversarial: see test_gan_*
        if name == "dbm":
            continue  # learns through own_fit (greedy pre-training first): see tests/test_dbm.py
        marks = [pytest.mark.slow] if kind in SLOW_OVERFIT_KINDS else []
        yield pytest.param(name, kind, id=f"{name}-{kind}", marks=marks)


@pytest.mark.parametrize("name,kind", list(_overfit_params()))
def test_overfits_64_samples(name, kind):
    model = make_model(name, kind)
    x, y = make_batch(kind)
    lr = OVERFIT_LR.get((name, kind), OVERFIT_LR.get(name, 3e-3))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    metric = (lambda o: o.logs["recon_mse"]) if name == "rbm" else (lambda o: o.loss)
    start = best = None
    for step in range(200):
        out = run(model, x, y)
        value = float(metric(out).detach())
        start = value if start is None else start
        best = value if best is None else min(best, value)
        if best < 0.1 * start:
            break
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert best < 0.1 * start, f"{name} on {kind}: {start:.4g} → best {best:.4g} in 200 steps"


def test_every_model_overfits_a_cheap_shape_in_the_fast_tier():
    fast = {p.values[0] for p in _overfit_params() if not p.marks}
    overfit = {p.values[0] for p in _overfit_params()}
    assert overfit == fast and len(fast) >= 8, overfit - fast


@pytest.mark.parametrize("name,kind", PAIRS, ids=IDS)
def test_checkpoint_round_trip(name, kind, tmp_path):
    model = make_model(name, kind)
    x, y = make_batch(kind, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):  # move weights and BN statistics off their initial values
        opt.zero_grad()
        run(model, x, y).loss.backward()
        opt.step()
    if name == "stacked_ae":
        model.set_classify(True)
    model.eval()
    save_checkpoint(tmp_path / "m.pt", model, model_name=model_of(name), variant="t", dataset=kind)
    loaded, record = load_checkpoint(tmp_path / "m.pt")
    assert type(loaded) is type(model) and loaded.cfg == model.cfg and record["model"] == model_of(name)
    with torch.inference_mode():
        z = model.encode(x)
        assert torch.equal(loaded.encode(x), z)
        assert torch.equal(loaded.decode(z), model.decode(z))
        assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
        if name == "stacked_ae":
            assert loaded._classify and torch.equal(loaded.classify_logits(x), model.classify_logits(x))


IMAGE_PAIRS = [(n, k) for n, k in PAIRS if len(KINDS[k]) == 3]


@pytest.mark.parametrize("name,kind", IMAGE_PAIRS, ids=[f"{n}-{k}" for n, k in IMAGE_PAIRS])
def test_inference_layout_keeps_outputs_and_makes_conv_weights_channels_last(name, kind):
    """evaluate@ and classify@ run conv models channels-last on the CPU (faster oneDNN
    kernels): same outputs to float rounding; models without 2-D convs left untouched."""
    import copy

    from aelab.core.runtime import cpu_layout, has_conv

    model = make_model(name, kind)
    x, y = make_batch(kind, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):  # off the initial weights and BN statistics, as a trained model is
        opt.zero_grad()
        run(model, x, y).loss.backward()
        opt.step()
    model.eval()
    fast = cpu_layout(copy.deepcopy(model), "cpu")
    convs = [m for m in fast.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert has_conv(model) == bool(convs)
    if convs:
        assert all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
        assert not all(p.is_contiguous() for p in fast.parameters())
    else:
        assert all(p.is_contiguous() for p in fast.parameters())
    torch.manual_seed(1)
    with torch.inference_mode():
        z = model.encode(x)
    torch.manual_seed(1)
    with torch.inference_mode():
        z_fast = fast.encode(x)
        torch.testing.assert_close(z_fast, z, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(fast.decode(z), model.decode(z), rtol=1e-4, atol=1e-5)
    assert cpu_layout(model, "cuda") is model  # the trained layout is kept off the CPU


@pytest.mark.parametrize("name,kind", IMAGE_PAIRS, ids=[f"{n}-{k}" for n, k in IMAGE_PAIRS])
def test_training_layout_gives_the_same_loss_and_gradients(name, kind):
    """train@ runs conv models channels-last on the CPU: the loss and every gradient agree
    with NCHW to float rounding (relative to the tensor's gradient norm). Gradients that are
    zero in exact arithmetic (a bias right before BatchNorm: ~1e-10, rounding noise in
    either layout) are skipped. Models with BatchNorm get a looser bound: PyTorch's
    channels-last BatchNorm on the CPU is about 10× less accurate than its NCHW kernel (a
    channel of mean 3 and std 0.01: output error 1.5e-4 vs 1.2e-5 against float64), which
    the residual nets compound to 1.8% on their first conv's gradient (NCHW: 0.06%); a
    layout bug (values from the wrong strides) is off by O(1)."""
    import copy

    from aelab.core.runtime import cpu_layout

    model = make_model(name, kind).train()
    fast = cpu_layout(copy.deepcopy(model), "cpu")
    x, y = make_batch(kind, 16)
    losses = []
    for m in (model, fast):
        torch.manual_seed(2)  # the same noise draws (VAE sampling, GAN prior) on both sides
        out = run(m, x, y)
        out.loss.backward()
        losses.append(out.loss.detach())
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-4, atol=1e-5)
    slow_g = {k: p.grad for k, p in model.named_parameters() if p.grad is not None}
    fast_g = {k: p.grad for k, p in fast.named_parameters() if p.grad is not None}
    assert slow_g.keys() == fast_g.keys() and slow_g
    tol = 5e-2 if any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) else 1e-3
    for k, g in slow_g.items():
        if g.norm() > 1e-6:
            assert float((fast_g[k] - g).norm() / g.norm()) < tol, k


# ---- family specifics ------------------------------------------------------------------

def test_keras_port_parameter_counts():
    vae = build_model("conv_vae", {}, (1, 28, 28))
    assert vae.n_params == 134_165  # keras.io/examples/generative/vae: 69,076 + 65,089
    assert sum(p.numel() for p in vae.encoder.parameters()) == 69_076
    assert sum(p.numel() for p in vae.decoder.parameters()) == 65_089
    ae = build_model("conv_ae", {}, (1, 28, 28))
    assert ae.n_params == 134_131  # one Dense(16 → 2) instead of two: 69,042 + 65,089


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_deeper_conv_variant_and_residual_twins(shape):
    deep = build_model("conv_ae", {"filters": [32, 64, 128], "convs_per_stage": 2}, shape)
    with_skip = build_model("res_conv_ae", {"residual": True}, shape)
    without = build_model("res_conv_ae", {"residual": False}, shape)
    x = torch.rand(2, *shape)
    for m in (deep, with_skip, without):
        assert m(x).recon.shape == x.shape
    assert with_skip.n_params == without.n_params  # the skip is the only difference


def test_deep_cae_defaults_match_the_photo_study():
    cae = build_model("deep_cae", {}, (3, 32, 32))
    vae = build_model("deep_vae", {}, (3, 32, 32))
    assert (cae.latent_dim, vae.latent_dim) == (256, 32)
    z = cae.encode(torch.rand(2, 3, 32, 32))
    assert z.min() >= 0 and z.max() <= 1  # sigmoid code
    with pytest.raises(ConfigError) as err:
        build_model("deep_cae", {}, (1, 28, 28))
    assert err.value.key == "model_args.n_up"
    with pytest.raises(ConfigError, match="n_up: 4"):
        build_model("deep_cae", {}, (3, 64, 64))


@pytest.mark.parametrize("bandwidths,why", [
    ([1.0, 2.0], "3 to 7"), ([0.5, 1, 2, 4, 8, 16, 32, 64], "3 to 7"),
    ([1.0, 3.0, 9.0], "twice"), ([0.25, 0.5, 1.0, 4.0], "twice"), ([0.0, 0.0, 0.0], "> 0")])
def test_mmd_bandwidths_are_validated(bandwidths, why):
    from aelab.models.mmd import MMDAEConfig

    with pytest.raises(ConfigError, match=why) as err:
        parse(MMDAEConfig, {"bandwidths": bandwidths}, "variants.moons_mmd_z2")
    assert err.value.key.startswith("variants.moons_mmd_z2.bandwidths")  # [i] names the bad value
    with pytest.raises(ConfigError) as err:
        build_model("mmd_ae", {"bandwidths": bandwidths}, (2,))
    assert err.value.key.startswith("model_args.bandwidths")
    parse(MMDAEConfig, {"bandwidths": [4.0, 1.0, 2.0]}, "k")  # order does not matter


def test_mmd_logs_both_terms_and_defaults_to_no_bottleneck():
    model = build_model("mmd_ae", {}, (2,))
    assert model.latent_dim == 2 and model.has_prior
    out = model(make_batch("points")[0])
    assert set(out.logs) == {"recon_sse", "mmd2"}
    assert torch.allclose(out.loss, out.logs["recon_sse"] + 10.0 * out.logs["mmd2"])


def test_rbm_samples_by_gibbs_chain():
    model = make_model("rbm", "digits")
    s = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert s.shape == (4, 1, 8, 8) and s.min() >= 0 and s.max() <= 1


# ---- GAN (adversarial loop) ---------------------------------------------------------------

def _d_accuracy(gan, x, z):
    gan.eval()
    with torch.inference_mode():
        real, fake = gan._d(x), gan._d(gan.decode(z))
    return float(((real > 0).float().mean() + (fake < 0).float().mean()) / 2)


@pytest.mark.parametrize("case", ["gan", "gan_mlp"])  # both backbones, one loop
def test_gan_own_fit_trains_both_players(case):
    gan = make_model(case, "mnist")
    x, _ = make_batch("mnist")
    z = torch.randn(64, gan.latent_dim, generator=torch.Generator().manual_seed(1))
    g0 = [p.detach().clone() for p in gan.generator.parameters()]
    acc0, rows = _d_accuracy(gan, x, z), []
    cfg = TrainParams(epochs=6, batch_size=32, lr=2e-3)
    res = gan.own_fit(x_train=x, x_test=x[:32], cfg=cfg, device=torch.device("cpu"),
                         y_train=None, y_test=None, seed=0, name="gan",
                         on_epoch=lambda e, r: rows.append(r))
    assert len(rows) == 6 + 2 and res.epochs == 6 and res.history == rows  # + encoder_epochs
    assert [r["epoch"] for r in rows] == list(range(1, 9))  # the encoder phase continues the count
    assert set(res.phases) == {"adversarial", "encoder"} and "encoder/train/loss" in rows[-1]
    rows = rows[:6]
    for key in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "test/d_loss"):
        assert key in rows[-1]
    assert rows[-1]["train/d_loss"] < rows[0]["train/d_loss"]  # D learns to tell them apart
    assert rows[-1]["train/d_real"] > rows[-1]["train/d_fake"]
    assert _d_accuracy(gan, x, z) > max(acc0, 0.6)
    assert any(not torch.equal(a, b) for a, b in zip(g0, gan.generator.parameters()))  # G moved


def test_gan_latent_recovery_beats_the_prior_mode():
    torch.manual_seed(0)
    gan = build_model("gan", {**cfg_for("gan", "digits"), "encode_steps": 50, "encoder_epochs": 0},
                      (1, 8, 8))
    assert gan.encoder is None
    gan.eval()
    with torch.inference_mode():
        target = gan.decode(torch.randn(8, gan.latent_dim, generator=torch.Generator().manual_seed(3)))
        z = gan.encode(target)
        err = (gan.decode(z) - target).pow(2).mean()
        err0 = (gan.decode(torch.zeros_like(z)) - target).pow(2).mean()
    assert not any(p.grad is not None for p in gan.parameters())  # G untouched
    assert err < 0.5 * err0
    assert torch.equal(gan.encode(target), z)  # deterministic


def test_gan_inversion_encoder_learns_and_leaves_g_alone():
    """E trained on G's own samples (G frozen) beats the zero start; refinement beats E."""
    torch.manual_seed(0)
    cfg = {**cfg_for("gan", "digits"), "encode_steps": 0, "encoder_epochs": 15, "encoder_lr": 3e-3}
    gan = build_model("gan", cfg, (1, 8, 8))
    gan.eval()
    with torch.no_grad():
        for m in gan.generator.modules():  # a random G barely depends on z; make it
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                m.weight.mul_(3)
        x = gan.decode(torch.randn(256, gan.latent_dim, generator=torch.Generator().manual_seed(3)))
    g0 = [p.detach().clone() for p in gan.generator.parameters()]
    res = gan._fit_encoder(x[:192], x[192:], TrainParams(epochs=1, batch_size=32, lr=1e-3),
                           torch.device("cpu"), 0, "gan", [], None)
    assert all(torch.equal(a, b) for a, b in zip(g0, gan.generator.parameters()))
    assert all(p.requires_grad for p in gan.generator.parameters())  # restored afterwards
    assert not gan.generator.training  # BN statistics untouched
    test = x[192:]
    with torch.inference_mode():
        err = lambda z: float((gan.decode(z) - test).pow(2).mean())  # noqa: E731
        e_zero, e_enc = err(torch.zeros(len(test), gan.latent_dim)), err(gan.encode(test))
    assert res["test_loss"] < 3 * res["train_loss"] and e_enc < 0.7 * e_zero, (e_enc, e_zero)
    refined = build_model("gan", {**cfg, "encode_steps": 30}, (1, 8, 8))
    refined.load_state_dict(gan.state_dict())
    refined.eval()
    with torch.inference_mode():
        assert err(refined.encode(test)) < e_enc



def test_gan_latent_regression_encoder_recovers_prior_codes():
    """encoder_target 'latent': E learns ‖E(G(z)) − z‖² on fresh prior draws (G frozen), so
    it recovers held-out codes of G's own samples far better than the prior mean does, and
    distinct images get distinct codes (no collapse onto one code)."""
    torch.manual_seed(0)
    cfg = {**cfg_for("gan", "digits"), "encode_steps": 0, "encoder_epochs": 20, "encoder_lr": 3e-3,
           "encoder_target": "latent"}
    gan = build_model("gan", cfg, (1, 8, 8))
    gan.eval()
    with torch.no_grad():
        for m in gan.generator.modules():  # as above: make a random G depend on z
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                m.weight.mul_(3)
        z_test = torch.randn(64, gan.latent_dim, generator=torch.Generator().manual_seed(5))
        images = gan.decode(z_test)
    g0 = [p.detach().clone() for p in gan.generator.parameters()]
    res = gan._fit_encoder(images, images, TrainParams(epochs=1, batch_size=32, lr=1e-3),
                           torch.device("cpu"), 0, "gan", rows := [], None)
    assert all(torch.equal(a, b) for a, b in zip(g0, gan.generator.parameters()))
    assert res["loss_units"] == "squared error/code"
    assert {"encoder/train/latent_sse", "encoder/train/image_sse"} <= set(rows[-1])
    with torch.inference_mode():
        codes = gan.encode(images)
    err = float((codes - z_test).pow(2).sum(1).mean())
    assert err < 0.5 * float(z_test.pow(2).sum(1).mean()), err  # the prior mean scores ≈ latent_dim
    assert float(codes.std(0).mean()) > 0.3  # spread across images, not one code

# ---- stacked AE (greedy layer-wise phases) ---------------------------------------------

def test_stacked_ae_phases_on_digits(tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32)[:, None]  # (N, 1, 8, 8)
    y = torch.tensor(d.target)
    torch.manual_seed(0)
    model = build_model("stacked_ae", {"hidden_sizes": [64], "latent_dim": 16}, (1, 8, 8))
    rows = []
    cfg = TrainParams(epochs=10, batch_size=64, lr=1e-2)
    res = model.own_fit(x_train=x[:600], x_test=x[600:900], cfg=cfg, device=torch.device("cpu"),
                           y_train=y[:600], y_test=y[600:900], seed=0, name="sae",
                           on_epoch=lambda e, r: rows.append(r))
    assert list(res.phases) == ["pretrain_layer1", "pretrain_layer2", "head", "finetune"]
    for ph in res.phases.values():
        assert 0 <= ph["test_accuracy"] <= 1 and ph["seconds"] >= 0
    assert res.phases["finetune"]["test_accuracy"] > 0.75
    assert len(rows) == 40 and "layer1/train/loss" in rows[0] and "finetune/train/ce_nats" in rows[-1]
    assert model._classify
    with torch.inference_mode():
        assert model.reconstruct(x[:4]).shape == (4, 1, 8, 8)
    with pytest.raises(ConfigError, match="labels"):
        model.own_fit(x_train=x[:10], x_test=x[:10], cfg=cfg, device=torch.device("cpu"),
                         y_train=torch.full((10,), -1), y_test=y[:10], seed=0, name="sae", on_epoch=None)


def test_bce_warmup_trains_on_bce_then_the_configured_loss_and_evaluates_on_it():
    model = build_model("conv_ae", {"latent_dim": 2, "loss": "l1", "warmup_bce_epochs": 1}, (1, 8, 8))
    x = torch.rand(4, 1, 8, 8)
    model.train()
    model.start_epoch(1)
    assert set(model(x).logs) == {"recon_bce_per_pixel"}  # warm-up epoch: BCE, per pixel like L1
    model.start_epoch(2)
    assert set(model(x).logs) == {"recon_l1"}
    model.start_epoch(1)
    model.eval()
    assert set(model(x).logs) == {"recon_l1"}  # evaluation reports the configured loss
