"""Bernoulli restricted Boltzmann machine trained by contrastive divergence (CD-k).

Energy E(v, h) = −vᵀb_v − hᵀb_h − vᵀWh with binary v (pixels in [0, 1] read as
probabilities) and binary h. CD-k runs through the one training loop: the loss
F(v) − F(v_k), F the free energy and v_k the end of a k-step Gibbs chain started at the
data (detached), has exactly the CD-k gradient (Hinton 2002; Hinton 2010, "A practical
guide"). Its value is not a likelihood and can be negative; the logged `recon_mse` (one
mean-field up-down pass, MSE per pixel) is the number to watch.

encode(x) = p(h = 1 | x) (in [0, 1]^n_hidden); decode(h) = p(v = 1 | h);
reconstruct(x, sample=True) samples h first; sample(n) runs a Gibbs chain of
`sample_steps` steps from uniform noise and returns the final p(v | h). The prior is the
RBM's own marginal, not N(0, I): sample() is overridden accordingly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .base import Autoencoder, ModelOutput
from .configs import RBMConfig


class RBM(Autoencoder):
    has_prior = True  # sample() draws from the RBM's marginal by Gibbs sampling
    stochastic = True
    loss_units = "free-energy gap F(v) − F(v_k) per sample (CD-k)"
    monotone_objective = False  # the CD gap can be negative and grows as the model sharpens

    def __init__(self, cfg: RBMConfig, input_shape):
        super().__init__(cfg, input_shape)
        self.check_input(cfg, self.input_shape)
        d = math.prod(self.input_shape)
        self.latent_dim = cfg.n_hidden
        self.W = nn.Parameter(torch.randn(d, cfg.n_hidden) * cfg.init_std)  # (D, H)
        self.b_v = nn.Parameter(torch.zeros(d))
        self.b_h = nn.Parameter(torch.zeros(cfg.n_hidden))

    @classmethod
    def check_input(cls, cfg, input_shape) -> None:
        if len(input_shape) < 2:
            raise ConfigError("model", f"a Bernoulli RBM needs data in [0, 1] (images); got points "
                              f"of shape {tuple(input_shape)}")

    def free_energy(self, v):
        return -(v @ self.b_v) - F.softplus(v @ self.W + self.b_h).sum(1)  # (B,)

    def _p_h(self, v):
        return torch.sigmoid(v @ self.W + self.b_h)  # (B, H)

    def _p_v(self, h):
        return torch.sigmoid(h @ self.W.t() + self.b_v)  # (B, D)

    @torch.no_grad()
    def _gibbs(self, v, steps: int, generator=None):
        for _ in range(steps):
            h = torch.bernoulli(self._p_h(v), generator=generator)
            v = torch.bernoulli(self._p_v(h), generator=generator)
        return v

    def encode(self, x):
        return self._p_h(x.flatten(1))

    def decode(self, z):
        return self._p_v(z).reshape(len(z), *self.input_shape)

    def reconstruct(self, x, sample: bool = False):
        h = self.encode(x)
        return self.decode(torch.bernoulli(h) if sample else h)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        v = torch.rand(n, self.W.shape[0], generator=generator, device=self.W.device)
        v = self._gibbs(torch.bernoulli(v, generator=generator), self.cfg.sample_steps, generator)
        return self._p_v(torch.bernoulli(self._p_h(v), generator=generator)).reshape(n, *self.input_shape)

    def forward(self, x, y=None) -> ModelOutput:
        v = x.flatten(1).float()
        vk = self._gibbs(v, self.cfg.cd_k)  # detached negative sample
        loss = (self.free_energy(v) - self.free_energy(vk)).mean()
        h = self._p_h(v)
        recon = self._p_v(h).reshape(x.shape)
        mse = (recon.detach() - x).pow(2).flatten(1).mean(1).mean()
        return ModelOutput(loss, recon, h, {"cd_loss": loss.detach(), "recon_mse": mse})
