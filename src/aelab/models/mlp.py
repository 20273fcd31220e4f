"""Fully connected autoencoder (two-moons / digits / Fashion-MNIST studies) and its VAE."""

from __future__ import annotations

import math

import torch

from .base import Autoencoder, GaussianPosterior, ModelOutput, ae_output
from .blocks import mlp
from .configs import MLPAEConfig, MLPVAEConfig  # noqa: F401 (re-exported)


class MLPAutoencoder(Autoencoder):
    """Encoder in → hidden×layers (Linear+ReLU) → bottleneck (linear); decoder mirrors it
    and ends linear (or with a sigmoid for images). Inputs of any shape are flattened."""

    def __init__(self, input_size: int, latent_dim: int, hidden_size: int, layers: int,
                 cfg: MLPAEConfig | None = None, input_shape: tuple[int, ...] | None = None):
        cfg = cfg or MLPAEConfig(latent_dim, hidden_size, layers)
        super().__init__(cfg, input_shape or (input_size,))
        self.latent_dim = latent_dim
        hidden = [hidden_size] * layers
        self.encoder = mlp([input_size, *hidden, self._code_width(latent_dim)])
        self.decoder = mlp([latent_dim, *hidden, input_size])
        self.logits = cfg.output == "sigmoid"
        self.loss_units = _units(cfg.loss)

    @classmethod
    def from_config(cls, cfg, input_shape):
        return cls(math.prod(input_shape), cfg.latent_dim, cfg.hidden_size, cfg.layers,
                   cfg, input_shape)

    def _code_width(self, latent: int) -> int:
        return latent

    def _decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(z.shape[0], *self.input_shape)  # (B, *input_shape)

    def _encoder_out(self, x):
        return self.encoder(x.flatten(1))  # (B, code width)

    def encode(self, x):
        return self._encoder_out(x)  # (B, latent)

    def decode(self, z):
        raw = self._decode_raw(z)
        return torch.sigmoid(raw) if self.logits else raw

    def forward(self, x, y=None) -> ModelOutput:
        z = self.encode(x)
        return ae_output(self.cfg.loss, self._decode_raw(z), x, z, self.logits, self.cfg.ssim_weight)


class MLPVAE(GaussianPosterior, MLPAutoencoder):
    """Same MLP, the encoder emits (mu, logvar); loss = −ELBO per image (recon + β·KL)."""


def _units(loss: str) -> str:
    from ..losses import LOSS_UNITS

    return LOSS_UNITS[loss]
