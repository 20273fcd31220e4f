"""MMD-regularised autoencoder without a bottleneck (a WAE-MMD, Tolstikhin et al. 2018).

Per sample: loss = ‖x − x̂‖² (summed over coordinates) + λ · MMD²(codes of the batch,
as many draws from N(0, I)), MMD² the unbiased estimate with a sum of 3–7 RBF or IMQ
kernels whose bandwidths double from one to the next (aelab.losses.mmd2). By default the
code has the data's dimension (2 for the moons), so the net learns an invertible-ish map
of the data onto a standard normal; sample() decodes N(0, I) draws.

Encoder: an MLP (hidden_size × layers, ReLU) or a ResNet of `res_blocks` residual blocks
z_l = z_{l−1} + f_l(z_{l−1}), f_l an MLP with 1 or 2 hidden layers of res_expansion × dim
units (blocks.ResidualMLPBlock). The decoder mirrors the encoder. When latent_dim differs
from the data dimension the ResNet adds one linear map at the code end (each side).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .base import Autoencoder, ModelOutput
from .blocks import ResidualMLPBlock, mlp
from .configs import MMDAEConfig


class MMDAutoencoder(Autoencoder):
    """Deterministic encoder/decoder; the MMD term pulls the code distribution to N(0, I)."""

    has_prior = True
    loss_units = "SE/sample + λ·MMD²"

    def __init__(self, cfg: MMDAEConfig, input_shape):
        super().__init__(cfg, input_shape)
        cfg.validate("model_args")
        d = math.prod(self.input_shape)
        self.latent_dim = cfg.latent_dim or d
        self.logits = cfg.output == "sigmoid"
        if cfg.encoder == "mlp":
            hidden = [cfg.hidden_size] * cfg.layers
            self.encoder = mlp([d, *hidden, self.latent_dim])
            self.decoder = mlp([self.latent_dim, *hidden, d])
        else:
            self.encoder, self.decoder = self._resnets(cfg, d)

    def _resnets(self, cfg: MMDAEConfig, d: int):
        def blocks():
            return [ResidualMLPBlock(d, cfg.res_expansion, cfg.res_hidden_layers)
                    for _ in range(cfg.res_blocks)]

        proj = self.latent_dim != d
        enc = blocks() + ([nn.Linear(d, self.latent_dim)] if proj else [])
        dec = ([nn.Linear(self.latent_dim, d)] if proj else []) + blocks()
        return nn.Sequential(*enc), nn.Sequential(*dec)

    def encode(self, x):
        return self.encoder(x.flatten(1))  # (B, latent)

    def _decode_raw(self, z):
        return self.decoder(z).reshape(z.shape[0], *self.input_shape)

    def decode(self, z):
        raw = self._decode_raw(z)
        return torch.sigmoid(raw) if self.logits else raw

    def forward(self, x, y=None) -> ModelOutput:
        from ..losses import mmd2, reconstruction

        z = self.encode(x)
        raw = self._decode_raw(z)
        rec = reconstruction("sse", raw, x, self.logits)  # (B,) squared error per sample
        zf = z.float()
        with torch.autocast(z.device.type, enabled=False):  # bf16 loses the small MMD² differences
            m = mmd2(zf, torch.randn_like(zf), self.cfg.kernel, self.cfg.bandwidths) if len(z) > 1 \
                else zf.sum() * 0.0
        loss = rec.mean() + self.cfg.lam * m
        recon = torch.sigmoid(raw) if self.logits else raw
        return ModelOutput(loss, recon, z, {"recon_sse": rec.mean().detach(), "mmd2": m.detach()})
