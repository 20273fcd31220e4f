"""Fully connected autoencoder (two-moons / digits / Fashion-MNIST studies) and its VAE."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from ..config import spec
from .base import Autoencoder, GaussianPosterior, ModelOutput, ae_output
from .blocks import mlp


@dataclass(frozen=True)
class MLPAEConfig:
    """bottleneck_size: latent dimensions (default 2); hidden_size: width of every hidden
    layer (64); layers: hidden layers in the encoder, mirrored by the decoder (2);
    output: 'linear' (points, standardized data) or 'sigmoid' (images in [0, 1]);
    loss: reconstruction loss (see aelab.losses; 'mse' = MSE per coordinate,
    'bce' = nats per image); ssim_weight: weight of the SSIM term in 'bce_ssim'."""

    bottleneck_size: int = spec(2, ge=1)
    hidden_size: int = spec(64, ge=1)
    layers: int = spec(2, ge=1)
    output: Literal["linear", "sigmoid"] = "linear"
    loss: Literal["mse", "sse", "l1", "bce", "ssim", "bce_ssim"] = "mse"
    ssim_weight: float = spec(1.0, ge=0)

    def validate(self, key: str) -> None:
        from ..errors import ConfigError

        if self.loss in ("bce", "bce_ssim") and self.output != "sigmoid":
            raise ConfigError(f"{key}.loss", f"{self.loss!r} needs output: sigmoid (values in [0, 1])")


@dataclass(frozen=True)
class MLPVAEConfig(MLPAEConfig):
    """As MLPAEConfig (loss defaults to 'bce', output to 'sigmoid'), plus beta: weight of
    the KL term (1 = the ELBO)."""

    output: Literal["linear", "sigmoid"] = "sigmoid"
    loss: Literal["mse", "sse", "l1", "bce", "ssim", "bce_ssim"] = "bce"
    beta: float = spec(1.0, ge=0)


class MLPAutoencoder(Autoencoder):
    """Encoder in → hidden×layers (Linear+ReLU) → bottleneck (linear); decoder mirrors it
    and ends linear (or with a sigmoid for images). Inputs of any shape are flattened."""

    def __init__(self, input_size: int, bottleneck_size: int, hidden_size: int, layers: int,
                 cfg: MLPAEConfig | None = None, input_shape: tuple[int, ...] | None = None):
        cfg = cfg or MLPAEConfig(bottleneck_size, hidden_size, layers)
        super().__init__(cfg, input_shape or (input_size,))
        self.latent_dim = bottleneck_size
        hidden = [hidden_size] * layers
        self.encoder = mlp([input_size, *hidden, self._code_width(bottleneck_size)])
        self.decoder = mlp([bottleneck_size, *hidden, input_size])
        self.logits = cfg.output == "sigmoid"
        self.loss_units = _units(cfg.loss)

    @classmethod
    def from_config(cls, cfg, input_shape):
        return cls(math.prod(input_shape), cfg.bottleneck_size, cfg.hidden_size, cfg.layers,
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
