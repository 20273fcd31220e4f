"""The GAN's MLP backbone (GANConfig.backbone) and the Fréchet distance of study_gan_backbones.

The registry-wide GAN contract (shapes, gradients, checkpoints) runs over both backbones in
tests/test_models.py; the study end to end is in tests/test_studies.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from aelab.core.errors import ConfigError
from aelab.models import build_model
from aelab.studies.gan_backbones import frechet_between, frechet_distance

torch.set_num_threads(1)

MLP = dict(backbone="mlp", latent_dim=8, hidden_sizes=(32, 64), encoder_epochs=1)


def test_mlp_generator_and_discriminator_shapes_and_ranges():
    torch.manual_seed(0)
    gan = build_model("gan", MLP, (1, 28, 28)).eval()
    layers = [type(m) for m in gan.modules()]
    assert nn.Linear in layers and not any(issubclass(t, nn.modules.conv._ConvNd) for t in layers)
    z = torch.randn(5, 8)
    with torch.inference_mode():
        img = gan.decode(z)  # sigmoid(G(z))
        assert gan.generator(z).shape == (5, 1, 28, 28)  # logits
        assert img.shape == (5, 1, 28, 28) and img.min() >= 0 and img.max() <= 1
        assert img.std() > 0  # not a constant image
        assert gan.discriminator(img).shape == (5, 1) and gan._d(img).shape == (5,)
        assert gan.encoder(img).shape == (5, 8)  # E: D's architecture, latent outputs
    # D's widths are G's reversed: 784 → 64 → 32 → 1
    d_widths = [m.out_features for m in gan.discriminator if isinstance(m, nn.Linear)]
    g_widths = [m.out_features for m in gan.generator if isinstance(m, nn.Linear)]
    assert d_widths == [64, 32, 1] and g_widths == [32, 64, 784]


def test_backbones_share_the_loop_and_the_conv_one_is_unchanged():
    torch.manual_seed(0)
    conv = build_model("gan", dict(latent_dim=32, filters=(32, 64)), (1, 28, 28))
    assert conv.cfg.backbone == "conv"
    assert conv.n_params == 307_042  # mnist_gan's count in metrics/train before the backbone option
    assert type(conv) is type(build_model("gan", MLP, (1, 28, 28)))  # one class, a config choice
    # the MLP backbone takes any image size (no stride-2 stages)
    assert build_model("gan", MLP, (3, 5, 7)).sample(2).shape == (2, 3, 5, 7)
    with pytest.raises(ConfigError, match="hidden_sizes"):
        build_model("gan", {**MLP, "hidden_sizes": ()}, (1, 28, 28))


def test_frechet_distance_is_zero_for_identical_sets():
    a = np.random.default_rng(0).normal(size=(400, 6)) @ np.random.default_rng(1).normal(size=(6, 6))
    assert frechet_between(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_between(a, a + 1.0) == pytest.approx(6.0, rel=1e-8)  # a pure shift by (1, …, 1)


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    shift = np.array([3.0, -1.0, 0.5])
    cov = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
    # same covariance: only the means differ, d² = ‖Δμ‖²
    assert frechet_distance(np.zeros(3), cov, shift, cov) == pytest.approx(shift @ shift, rel=1e-9)
    # diagonal covariances: d² = ‖Δμ‖² + Σ (σ₁ − σ₂)²
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([2.0, 2.0, 1.5])
    want = shift @ shift + ((s1 - s2) ** 2).sum()
    assert frechet_distance(np.zeros(3), np.diag(s1 ** 2), shift, np.diag(s2 ** 2)) == pytest.approx(want)
    # from samples of N(0, Σ) and N(shift, Σ): the estimate approaches ‖Δμ‖² = 10.25
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal(np.zeros(3), cov, 20000)
    y = rng.multivariate_normal(shift, cov, 20000)
    assert frechet_between(x, y) == pytest.approx(shift @ shift, abs=0.1)


# ---- the deep backbone: the photo study's blocks ----

DEEP = dict(backbone="deep", latent_dim=8, filters=(16,), n_down=2, n_up=2, seed_channels=4,
            batchnorm=False, encoder_epochs=1)


def test_deep_generator_is_the_deep_vae_decoder_and_the_discriminator_its_encoder():
    """G has the deep VAE decoder's exact layers and weights shapes; D and E the encoder's,
    with 1 and latent_dim outputs; the trunk's activations are leaky in D only by `leak`."""
    gan = build_model("gan", DEEP, (3, 16, 16))
    vae = build_model("deep_vae", dict(latent_dim=8, filters=16, n_down=2, n_up=2, seed_channels=4), (3, 16, 16))
    shapes = lambda net: [tuple(t.shape) for t in net.state_dict().values()]  # noqa: E731
    assert shapes(gan.generator) == shapes(vae.decoder)
    assert [type(m) for m in gan.generator] == [type(m) for m in vae.decoder]
    assert shapes(gan.discriminator)[:-2] == shapes(vae.encoder)[:-2]  # same convs, own head
    assert shapes(gan.discriminator)[-2:] == [(1, 16 * 4 * 4), (1,)]
    assert shapes(gan.encoder)[-2:] == [(8, 16 * 4 * 4), (8,)]
    assert any(isinstance(m, nn.LeakyReLU) for m in gan.discriminator)
    relu = build_model("gan", {**DEEP, "leak": 0.0}, (3, 16, 16))
    assert [type(m) for m in relu.discriminator][:-2] == [type(m) for m in vae.encoder][:-2]
    with torch.inference_mode():
        img = gan.sample(5)
    assert img.shape == (5, 3, 16, 16) and 0 <= img.min() and img.max() <= 1


def test_deep_backbone_batchnorm_and_the_errors_name_the_key():
    bn = build_model("gan", {**DEEP, "batchnorm": True}, (3, 16, 16))
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.generator) == 2  # one per transposed conv
    assert not any(isinstance(m, nn.BatchNorm2d) for m in bn.discriminator)
    with pytest.raises(ConfigError, match=r"model_args\.filters.*one width"):
        build_model("gan", {**DEEP, "filters": (16, 32)}, (3, 16, 16))
    with pytest.raises(ConfigError, match=r"n_up=2 decodes 16×16 images but the input is \(3, 32, 32\); use n_up: 3"):
        build_model("gan", DEEP, (3, 32, 32))


def test_deep_gan_trains_through_its_own_loop():
    """Two epochs on 32 tiny images: finite losses for both players, E trained after."""
    from aelab.core.params import TrainParams

    torch.manual_seed(0)
    x = torch.rand(32, 3, 16, 16)
    gan = build_model("gan", DEEP, (3, 16, 16))
    res = gan.own_fit(x_train=x, x_test=x[:8], cfg=TrainParams(epochs=2, batch_size=16, lr=2e-4),
                      device=torch.device("cpu"), name="deep")
    assert res.epochs == 2 and set(res.phases) == {"adversarial", "encoder"}
    assert all(np.isfinite(v) for v in res.train.values())
    assert res.history[0]["train/d_loss"] > 0
