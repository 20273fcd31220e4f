"""The GAN's MLP backbone (GANConfig.backbone) and the Fréchet distance of study_gan_backbones.

The registry-wide GAN contract (shapes, gradients, checkpoints) runs over both backbones in
tests/test_models.py; the study end to end is in tests/test_studies.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from aelab.errors import ConfigError
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
