"""The photo study's convolutional CAE and VAE (emoji / cats / pistachios at 32×32).

Encoder: Conv2D(k3, 'same', `filters`, ReLU) at full resolution, then `n_down` Conv2D
(k3, stride 2, 'same', `filters`, ReLU) → Flatten → Dense to the code (sigmoid on the
CAE's code, so codes lie in [0, 1]^latent; (mu, logvar) for the VAE). Decoder: Dense
(4·4·`seed_channels`, ReLU) → reshape → `n_up` ConvTranspose (k3, stride 2, `filters`,
ReLU) → Conv2D (C channels, k3, 'same', sigmoid). The decoder starts at 4×4, so the image
side must be 4·2^n_up (n_up = 3 for 32×32: 4 → 8 → 16 → 32). With n_down = 4 a 32×32
image ends at 2×2 in the encoder; it is simply flattened.
"""

from __future__ import annotations

from torch import nn

from ..core.errors import ConfigError
from .blocks import Reshape
from .configs import DeepCAEConfig, DeepVAEConfig  # noqa: F401 (re-exported)
from .conv import ConvAutoencoder, ConvVAE, check_image_input

SEED_SIDE = 4  # the decoder's Dense layer produces 4×4 maps


def deep_encoder(input_shape, filters: int, n_down: int, out_width: int, leak: float = 0.0) -> nn.Sequential:
    """(B, C, S, S) → (B, out_width): the input conv, n_down stride-2 convs, all `filters`
    channels, ReLU (LeakyReLU(leak) when leak > 0: the GAN's discriminator), Flatten, Dense."""
    c, h, w = input_shape
    f = filters
    act = (lambda: nn.LeakyReLU(leak)) if leak > 0 else nn.ReLU
    enc: list[nn.Module] = [nn.Conv2d(c, f, 3, padding=1), act()]
    for _ in range(n_down):
        enc += [nn.Conv2d(f, f, 3, stride=2, padding=1), act()]
        h, w = (h + 1) // 2, (w + 1) // 2
    enc += [nn.Flatten(), nn.Linear(f * h * w, out_width)]  # (B, f·2·2) → out for 32×32
    return nn.Sequential(*enc)


def deep_decoder(out_shape, filters: int, n_up: int, seed_channels: int, latent: int,
                 batchnorm: bool = False) -> nn.Sequential:
    """(B, latent) → (B, C, S, S) logits (sigmoid outside): Dense to a 4×4 seed of
    seed_channels, n_up stride-2 transposed convs of `filters` (BN before each ReLU when
    batchnorm: the GAN's generator may ask for it), a 3×3 conv to C channels."""
    s, k, f = SEED_SIDE, seed_channels, filters
    bn = (lambda n: [nn.BatchNorm2d(n)]) if batchnorm else (lambda n: [])
    dec: list[nn.Module] = [nn.Linear(latent, k * s * s), nn.ReLU(), Reshape(k, s, s)]
    for i in range(n_up):
        dec += [nn.ConvTranspose2d(k if i == 0 else f, f, 3, stride=2, padding=1, output_padding=1),
                *bn(f), nn.ReLU()]  # doubles H, W
    dec.append(nn.Conv2d(f, out_shape[0], 3, padding=1))  # logits; sigmoid in decode()
    return nn.Sequential(*dec)


def deep_nets(cfg: DeepCAEConfig, input_shape, code_width: int, variational: bool):
    """(encoder, decoder) of the CAE (sigmoid code) or VAE (code_width = 2·latent)."""
    enc = deep_encoder(input_shape, cfg.filters, cfg.n_down, code_width)  # built first: seeded weights
    if not variational:
        enc.append(nn.Sigmoid())
    dec = deep_decoder(input_shape, cfg.filters, cfg.n_up, cfg.seed_channels, cfg.latent_dim)
    return enc, dec


def check_deep_input(cfg, input_shape) -> None:
    """Square images of side 4·2^cfg.n_up (any config with n_up: deep CAE/VAE, deep GAN)."""
    check_image_input(input_shape, 2)
    side = SEED_SIDE * 2 ** cfg.n_up
    if tuple(input_shape[1:]) != (side, side):
        fit = [n for n in range(1, 9) if SEED_SIDE * 2 ** n == input_shape[1]]
        hint = f"use n_up: {fit[0]}" if fit and input_shape[1] == input_shape[2] else \
            "needs square images of side 4·2^n_up"
        raise ConfigError("model_args.n_up", f"n_up={cfg.n_up} decodes {side}×{side} images but the "
                          f"input is {tuple(input_shape)}; {hint}")


class DeepCAE(ConvAutoencoder):
    """Photo-study CAE: codes in [0, 1] (sigmoid), decoder from a 4×4 seed."""

    nets = staticmethod(deep_nets)

    @classmethod
    def check_input(cls, cfg, input_shape) -> None:
        check_deep_input(cfg, input_shape)


class DeepVAE(ConvVAE):
    """Photo-study VAE (latent 32): the same nets, the encoder emits (mu, logvar)."""

    nets = staticmethod(deep_nets)

    @classmethod
    def check_input(cls, cfg, input_shape) -> None:
        check_deep_input(cfg, input_shape)
