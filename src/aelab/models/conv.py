"""Convolutional AE and VAE: a port of the Keras "Variational AutoEncoder" example.

Source: keras.io/examples/generative/vae (fchollet). Encoder Conv2D 32 → 64 (kernel 3,
stride 2, 'same', ReLU) → Flatten → Dense 16 ReLU → z_mean, z_log_var (2 each); decoder
Dense 7·7·64 ReLU → reshape → Conv2DTranspose 64 → 32 (kernel 3, stride 2, 'same', ReLU)
→ Conv2DTranspose 1 (kernel 3, 'same', sigmoid); loss BCE summed per image + KL.
For 1×28×28 and latent 2 the VAE has 69,076 + 65,089 = 134,165 parameters, the AE
(one Dense 16 → latent instead of two) 69,042 + 65,089 = 134,131.

Keras 'same' with stride 2 gives ceil(n/2); in PyTorch that is padding=1 for a k3 s2
conv (28 → 14 → 7) and ConvTranspose2d(k3, s2, padding=1, output_padding=op) with
op = target − (2·n − 1) ∈ {0, 1} on the way back (7 → 14 → 28, or 4 → 7 for odd sizes),
so any H×W works. `convs_per_stage` > 1 adds stride-1 convs per stage (the "deeper
conv net" variant, e.g. filters (32, 64, 128) with 2 convs per stage).

The builders below (conv_encoder/conv_decoder) also serve the GAN; ConvAutoencoder and
ConvVAE are the AE/VAE mechanics that deep.py and resconv.py reuse with other nets.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..core.errors import ConfigError
from .base import Autoencoder, GaussianPosterior, ModelOutput, ae_output
from .blocks import Reshape
from .configs import ConvAEConfig, ConvVAEConfig, Loss, _check_filters  # noqa: F401 (re-exported)

def _act(leak: float) -> nn.Module:
    return nn.LeakyReLU(leak) if leak > 0 else nn.ReLU()


def conv_encoder(in_shape: tuple[int, ...], filters, convs_per_stage: int, dense: int,
                 out_dim: int, leak: float = 0.0, batchnorm: bool = False):
    """(B, C, H, W) → (B, out_dim); also returns the spatial sizes [(H, W), …] per stage."""
    c, h, w = in_shape
    sizes, layers = [(h, w)], []
    for i, f in enumerate(filters):
        for j in range(convs_per_stage):
            layers.append(nn.Conv2d(c, f, 3, stride=2 if j == 0 else 1, padding=1))
            if batchnorm and (i, j) != (0, 0):  # DCGAN: no BN on the discriminator's input
                layers.append(nn.BatchNorm2d(f))
            layers.append(_act(leak))
            c = f
        h, w = (h + 1) // 2, (w + 1) // 2  # 'same', stride 2: ceil(n / 2)
        sizes.append((h, w))
    layers.append(nn.Flatten())
    width = c * h * w  # Keras: 7·7·64 = 3136 for 28×28
    if dense:
        layers += [nn.Linear(width, dense), _act(leak)]
        width = dense
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers), sizes


def conv_decoder(out_shape: tuple[int, ...], filters, convs_per_stage: int, latent: int,
                 sizes, batchnorm: bool = False) -> nn.Sequential:
    """(B, latent) → (B, C, H, W) logits, mirroring conv_encoder (sizes from it)."""
    c_out = out_shape[0]
    rev = list(filters)[::-1]
    h, w = sizes[-1]
    layers: list[nn.Module] = [nn.Linear(latent, rev[0] * h * w)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(rev[0] * h * w))
    layers += [nn.ReLU(), Reshape(rev[0], h, w)]  # (B, F, H/2^s, W/2^s)
    c = rev[0]
    for i, f in enumerate(rev):
        th, tw = sizes[-2 - i]
        op = (th - (2 * h - 1), tw - (2 * w - 1))  # 0 or 1: undo ceil(n / 2) exactly
        layers.append(nn.ConvTranspose2d(c, f, 3, stride=2, padding=1, output_padding=op))
        layers += [nn.BatchNorm2d(f)] if batchnorm else []
        layers.append(nn.ReLU())
        for _ in range(convs_per_stage - 1):
            layers.append(nn.Conv2d(f, f, 3, padding=1))
            layers += [nn.BatchNorm2d(f)] if batchnorm else []
            layers.append(nn.ReLU())
        c, h, w = f, th, tw
    layers.append(nn.ConvTranspose2d(c, c_out, 3, stride=1, padding=1))  # logits; sigmoid outside
    return nn.Sequential(*layers)


def conv_nets(cfg: ConvAEConfig, input_shape, code_width: int, variational: bool):
    encoder, sizes = conv_encoder(input_shape, cfg.filters, cfg.convs_per_stage, cfg.dense, code_width)
    decoder = conv_decoder(input_shape, cfg.filters, cfg.convs_per_stage, cfg.latent_dim, sizes)
    return encoder, decoder


def check_image_input(input_shape, min_side: int, key: str = "model_args") -> None:
    """Raise ConfigError unless input_shape is C×H×W with H, W ≥ min_side."""
    if len(input_shape) != 3:
        raise ConfigError(key, f"needs images C×H×W; got input shape {tuple(input_shape)} "
                          "(use mlp_ae/mmd_ae for point data)")
    if min(input_shape[1:]) < min_side:
        raise ConfigError(key, f"needs H, W ≥ {min_side} for its stride-2 stages; got {tuple(input_shape)}")


class ConvAutoencoder(Autoencoder):
    """Deterministic AE from an encoder (→ code) and a decoder (→ logits); decode() applies
    the sigmoid, so outputs are in [0, 1]. Subclasses swap the nets via `nets`."""

    nets: Callable = staticmethod(conv_nets)

    def __init__(self, cfg, input_shape):
        super().__init__(cfg, input_shape)
        cfg.validate("model_args")
        self.check_input(cfg, self.input_shape)
        self.latent_dim = cfg.latent_dim
        self.encoder, self.decoder = self.nets(cfg, self.input_shape, self._code_width(cfg.latent_dim),
                                               self.stochastic)
        glorot_init(self)
        from ..losses import LOSS_UNITS

        self.loss_units = LOSS_UNITS[cfg.loss]
        self.loss_warmup_epochs = cfg.warmup_bce_epochs

    @classmethod
    def check_input(cls, cfg, input_shape) -> None:
        """Raise ConfigError (naming the key) if this config cannot take input_shape."""
        check_image_input(input_shape, 2 ** len(cfg.filters))

    def _code_width(self, latent: int) -> int:
        return latent

    logits = True  # the decoder emits logits; decode() applies the sigmoid

    def _encoder_out(self, x):
        return self.encoder(x)  # (B, code width)

    def _decode_raw(self, z):
        return self.decoder(z)  # (B, C, H, W) logits

    def encode(self, x):
        return self._encoder_out(x)  # (B, latent)

    def decode(self, z):
        return torch.sigmoid(self._decode_raw(z))  # (B, C, H, W) in [0, 1]

    def forward(self, x, y=None) -> ModelOutput:
        z = self.encode(x)
        return ae_output(self._loss_name(), self._decode_raw(z), x, z, True, self.cfg.ssim_weight)


class ConvVAE(GaussianPosterior, ConvAutoencoder):
    """The encoder emits (mu, logvar) (the Keras z_mean, z_log_var); loss = −ELBO per image."""


def glorot_init(module: nn.Module) -> nn.Module:
    """Keras defaults (glorot_uniform weights, zero biases) on every conv/dense layer.

    PyTorch's default (uniform ±1/√fan_in, variance 1/(3·fan_in)) shrinks the signal about
    6× per ReLU layer; plain ten-layer nets like deep.py then start in the mean-image
    solution and stay there. Glorot keeps the port faithful and those nets trainable."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module
