"""Bernoulli restricted Boltzmann machine trained by contrastive divergence (CD-k or PCD-k).

Energy E(v, h) = −vᵀb_v − hᵀb_h − vᵀWh with binary v and binary h. CD runs through the
one training loop: the loss mean F(v) − mean F(v⁻), F the free energy and v⁻ the
(detached) negative samples, has exactly the CD gradient (Hinton 2002; Hinton 2010, "A
practical guide"), with the hidden units' probabilities, not samples, in both phases as
scikit-learn's BernoulliRBM does. Its value is not a likelihood and can be negative.

Visible units are binary (cfg.binarize). The default, 'dynamic', draws v ~ Bernoulli(x)
afresh for every batch, train and test: the grey level is the probability that the pen
covers the pixel, so each draw is a plausible binary digit, 30 passes see 30 different
binarizations of each of the 4,000 images (less overfitting than one fixed threshold), and
the data the RBM models is binary, as its energy assumes. 'none' (the pre-issue-14
behaviour) puts grey levels in the positive phase: data the model's binary v can never
produce, so its pseudo-likelihood scores non-data. A threshold keeps one binarization (no augmentation); at the mnist_rbm
setting its samples were digits too, a little less spread over classes (RF: top class 46%
of 500 vs 31% dynamic). Pseudo-likelihoods of different binarize modes are not
comparable: a dynamic draw is noisier data than a threshold, so it scores lower.

Negative samples: k Gibbs steps from the data (CD-k), or from persistent chains that
continue across updates (PCD-k, Tieleman 2008; scikit-learn's BernoulliRBM is PCD-1 with
one chain per batch example). PCD's negatives come from (near) the model's own marginal,
so it learns where spurious modes lie far from the data, which is what sample() visits.
In eval mode the chains are read, never advanced, so the test loss is the same gap. PCD is
what makes sample() work: at the mnist_rbm setting CD-1 (dynamic binarization, or grey levels as before) gave grey
blobs from noise, all labelled "8" by the RF, although its pseudo-likelihood was higher;
PCD-1 gave digits of 9 classes (issue 14's note has the numbers).

Logged terms: `pseudo_ll` (nats per image, higher is better) is scikit-learn's
BernoulliRBM.score_samples estimator: D · log σ(F(ṽ) − F(v)), ṽ = v with one random
pixel flipped. One pixel per image makes it noisy: over 1,000 MNIST test digits the
epoch-to-epoch scatter is ~±10 nats. `recon_mse` is one mean-field up-down pass on the
grey levels (MSE per pixel); `cd_loss` the gap above.

encode(x) = p(h = 1 | x) (in [0, 1]^latent_dim); decode(h) = p(v = 1 | h);
reconstruct(x, sample=True) samples h first; sample(n) runs a Gibbs chain of
`sample_steps` steps from uniform noise and returns the final p(v | h). The prior is the
RBM's own marginal, not N(0, I): sample() is overridden accordingly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ConfigError
from .base import Autoencoder, ModelOutput
from .configs import RBMConfig


class RBM(Autoencoder):
    has_prior = True  # sample() draws from the RBM's marginal by Gibbs sampling
    stochastic = True
    loss_units = "free-energy gap F(v) − F(v⁻) per sample (CD-k / PCD-k)"
    monotone_objective = False  # the CD gap can be negative and grows as the model sharpens

    def __init__(self, cfg: RBMConfig, input_shape):
        super().__init__(cfg, input_shape)
        self.check_input(cfg, self.input_shape)
        d = math.prod(self.input_shape)
        self.latent_dim = cfg.latent_dim
        self.W = nn.Parameter(torch.randn(d, cfg.latent_dim) * cfg.init_std)  # (D, H)
        self.b_v = nn.Parameter(torch.zeros(d))
        self.b_h = nn.Parameter(torch.zeros(cfg.latent_dim))
        # PCD's persistent chains (P, D), binary; training state only, not in the state_dict
        # (a checkpoint needs no chains: sample() starts from noise)
        self.chains: torch.Tensor | None = None

    @classmethod
    def check_input(cls, cfg, input_shape) -> None:
        if len(input_shape) < 2:
            raise ConfigError("model", f"a Bernoulli RBM needs data in [0, 1] (images); got points "
                              f"of shape {tuple(input_shape)}")

    # ---- energy and conditionals -------------------------------------------------------

    def free_energy(self, v):
        """F(v) = −log Σ_h exp(−E(v, h)) = −vᵀb_v − Σ_j softplus((vW + b_h)_j); (B,)."""
        return -(v @ self.b_v) - F.softplus(v @ self.W + self.b_h).sum(1)

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

    @torch.no_grad()
    def gibbs_chain(self, v, steps, generator=None) -> list[torch.Tensor]:
        """Gibbs chain from binary v (B, D): sweep t draws h ~ p(h | v), then v ~ p(v | h).
        For each k in `steps` (ascending, ≥ 1) the sweep-k mean-field p(v = 1 | h), (B, D):
        what the chain "shows" after k steps, without the last draw's pixel noise."""
        steps = sorted(set(int(k) for k in steps))
        if not steps or steps[0] < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        out, want = [], set(steps)
        for t in range(1, steps[-1] + 1):
            p = self._p_v(torch.bernoulli(self._p_h(v), generator=generator))  # (B, D)
            v = torch.bernoulli(p, generator=generator)  # (B, D) binary
            if t in want:
                out.append(p)
        return out

    @torch.no_grad()
    def gibbs_clamped(self, v, known, steps: int, generator=None) -> torch.Tensor:
        """Fill the unknown pixels of v (B, D) by a Gibbs chain of p(v_hole | v_known): the
        known pixels (known: (B, D) bool) stay at v throughout; the hole starts from
        Bernoulli(σ(b_v)) (the bias-only marginal, as the PCD chains) and is redrawn each
        sweep. Returns (B, D): v on the known pixels, the last sweep's p(v = 1 | h) on the
        hole (mean-field, a grey level rather than one noisy binary draw)."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        known = known.bool()
        start = torch.bernoulli(torch.sigmoid(self.b_v).expand_as(v), generator=generator)  # (B, D)
        cur = torch.where(known, v, start)
        for _ in range(steps):
            p = self._p_v(torch.bernoulli(self._p_h(cur), generator=generator))  # (B, D)
            cur = torch.where(known, v, torch.bernoulli(p, generator=generator))
        return torch.where(known, v, p)

    def binarize(self, v, generator=None):
        """(B, D) grey levels in [0, 1] → the visible units the RBM models (see cfg.binarize)."""
        if self.cfg.binarize == "dynamic":
            return torch.bernoulli(v, generator=generator)  # a fresh draw per call (global RNG if None)
        if self.cfg.binarize == "threshold":
            return (v > 0.5).to(v.dtype)
        return v

    @torch.no_grad()
    def pseudo_likelihood(self, v, flip: torch.Tensor | None = None):
        """scikit-learn's BernoulliRBM.score_samples on binary v (B, D): D · log σ(F(ṽ) − F(v)),
        ṽ = v with pixel flip[b] of row b flipped (random where flip is None); (B,) nats.

        The flip changes one input of each hidden pre-activation a = vW + b_h by
        s = 1 − 2v_i, so F(ṽ) − F(v) = −s·b_v[i] − Σ_j [softplus(a_j + s·W_ij) − softplus(a_j)]:
        (B, H) work instead of a second (B, D)·(D, H) product, and no cancellation between
        two free energies of ~10² nats (in float32 that cost ~1e-2 nats after the ×D)."""
        b, d = v.shape
        if flip is None:
            flip = torch.randint(d, (b,), device=v.device)
        rows = torch.arange(b, device=v.device)
        s = 1 - 2 * v[rows, flip]  # (B,) +1 where the pixel turns on, −1 where it turns off
        a = v @ self.W + self.b_h  # (B, H)
        a_flip = a + s[:, None] * self.W[flip]  # (B, H)
        gap = -s * self.b_v[flip] - (F.softplus(a_flip) - F.softplus(a)).sum(1)  # F(ṽ) − F(v)
        return d * F.logsigmoid(gap)

    # ---- negative phase ----------------------------------------------------------------

    def _negatives(self, v):
        """Detached negative samples (P, D): k Gibbs steps from v (CD), or from the persistent
        chains (PCD), which only training advances."""
        if not self.cfg.pcd:
            return self._gibbs(v, self.cfg.cd_k)
        if self.chains is None or self.chains.shape[1] != v.shape[1] or self.chains.device != v.device:
            if not self.training:  # no chains yet (an untrained model): CD from the data
                return self._gibbs(v, self.cfg.cd_k)
            self.chains = self._start_chains(self.cfg.pcd_chains or len(v), v)
        if self.training:
            self.chains = self._gibbs(self.chains, self.cfg.cd_k)
        return self.chains

    @torch.no_grad()
    def _start_chains(self, n: int, like):
        """(n, D) chain starts v ~ Bernoulli(σ(b_v)), i.e. scikit-learn's start h = 0; at the
        initial b_v = 0 that is fair-coin noise, the same region sample() starts from, so the
        chains find (and training lowers) the spurious modes that noise leads to."""
        p = torch.sigmoid(self.b_v).to(like.dtype).expand(n, -1)  # (n, D)
        return torch.bernoulli(p)

    # ---- the autoencoder interface ------------------------------------------------------

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
        grey = x.flatten(1).float()  # (B, D) in [0, 1]
        v = self.binarize(grey)  # (B, D) binary unless binarize: none
        neg = self._negatives(v)  # (P, D), detached
        loss = self.free_energy(v).mean() - self.free_energy(neg).mean()
        with torch.no_grad():  # logged only: the loss above carries the whole gradient
            h = self._p_h(grey)  # mean-field code of the grey image, as encode() gives
            recon = self._p_v(h).reshape(x.shape)
            mse = (recon - x).pow(2).flatten(1).mean(1).mean()
        logs = {"cd_loss": loss.detach(), "recon_mse": mse,
                "pseudo_ll": self.pseudo_likelihood(v.detach()).mean()}
        return ModelOutput(loss, recon, h, logs)
