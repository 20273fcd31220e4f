"""Deep Boltzmann machine with two binary hidden layers (Salakhutdinov & Hinton 2009).

E(v, h1, h2) = −vᵀW1h1 − h1ᵀW2h2 − b_vᵀv − b1ᵀh1 − b2ᵀh2, all units binary. Given h1, v and
h2 are independent, so a Gibbs sweep draws h1 ~ p(h1 | v, h2), then (v, h2) ~ p(· | h1).

own_fit trains in three phases, each through train.fit (one loop, as the stacked AE):
  layer1  RBM (v, h1) with the visible layer doubled (two tied copies of v, so
          p(h1 | v) = σ(2vW1 + b)): in the DBM h1 hears v and h2, and the second copy of
          v stands in for the top-down input it lacks alone (the paper's "doubling trick");
  layer2  RBM (h1, h2) on the layer-1 probabilities σ(2xW1 + b), hidden layer doubled
          (p(h1 | h2) = σ(2W2h2 + c)) for the same reason at the top;
          b1 := (b + c) / 2 makes h1's DBM input vW1 + W2h2 + b1 the mean of the two RBMs';
  joint   mean field q(h1)q(h2) for the data-dependent statistics (mf_steps fixed-point
          iterations from the doubled bottom-up pass) and PCD chains (v, h2) for the model's.
A doubled layer is an exact RBM with m tied copies: with s the sum of the visible copies,
F(s) = −sᵀb_vis − m_hid·Σ softplus(sW + b_hid), and CD's surrogate F(data) − F(negatives)
gives its exact CD gradient, as the RBM module does. pretrain_epochs: 0 skips both layers;
pretrain_lr sets their rate (the paper pre-trains at 10× the joint rate). Visible biases start
at the data's log-odds (see _log_odds: from zero every hidden unit died).

Joint loss = E(v, μ1, μ2) − F(v⁻, h2⁻): E is linear in the parameters, so E at the mean-field
means is E_q[E], and its gradient minus the chains' gives the variational-bound gradient
(h1 of the chains summed out analytically: F(v, h2) = −vᵀb_v − h2ᵀb2 − Σ softplus(vW1 +
W2h2 + b1), lower variance). Its value is not a likelihood (monotone_objective False).

Logged: `pseudo_ll` (nats per image, higher is better; rises in healthy training) is the
RBM's estimator D · log σ(F(ṽ) − F(v)), one random pixel flipped, under the RBM p(v, h1 | h2 =
μ2(v)) that h2's mean field leaves: a conditional pseudo-likelihood (h2 fixed), so only
roughly comparable with the RBM's. `recon_mse`: p(v | μ1) of the binarized draw against the
grey image (per pixel); `energy_gap`: the loss.

The code is h1: encode(x) = μ1, the mean-field q(h1 | x) of the grey levels (h2 feeds back
into it); decode(h1) = p(v = 1 | h1) exactly (v ⊥ h2 | h1), so latent_dim = h1's width.
h2 (top_dim) is the deeper, larger layer; it shapes h1 through inference and sampling.
sample / gibbs_chain / gibbs_clamped / binarize have the RBM's names and signatures.
"""

from __future__ import annotations

import dataclasses
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ConfigError
from .base import Autoencoder, ModelOutput
from .configs import DBMConfig


def _draws(p, m: int, gen=None):
    """Sum of m independent Bernoulli(p) draws (m tied copies of a layer); (B, n)."""
    out = torch.bernoulli(p, generator=gen)
    for _ in range(m - 1):
        out = out + torch.bernoulli(p, generator=gen)
    return out


def _binarize(mode: str, v, gen=None):
    """(B, D) grey levels → binary units, as RBM.binarize (see models/rbm.py)."""
    if mode == "dynamic":
        return torch.bernoulli(v, generator=gen)
    return (v > 0.5).to(v.dtype) if mode == "threshold" else v


def pseudo_ll(v, W, b_v, hid_bias, flip=None):
    """D · log σ(F(ṽ) − F(v)) for the RBM (W (D, H), b_v, per-row hidden bias (B, H)), ṽ = v
    with pixel flip[b] of row b flipped; (B,) nats. As RBM.pseudo_likelihood."""
    b, d = v.shape
    if flip is None:
        flip = torch.randint(d, (b,), device=v.device)
    rows = torch.arange(b, device=v.device)
    s = 1 - 2 * v[rows, flip]  # (B,) +1 where the pixel turns on
    a = v @ W + hid_bias  # (B, H)
    gap = -s * b_v[flip] - (F.softplus(a + s[:, None] * W[flip]) - F.softplus(a)).sum(1)
    return d * F.logsigmoid(gap)


class _LayerRBM(Autoencoder):
    """One pre-training layer: an RBM with m_vis tied visible and m_hid tied hidden copies
    (1 = plain), sharing W and one bias with the DBM; PCD-cd_k as the RBM module."""

    loss_units = "free-energy gap F(v) − F(v⁻) per sample (PCD), doubled layer"
    monotone_objective = False

    def __init__(self, owner: "DBM", W, b_vis, b_hid, m_vis: int, m_hid: int):
        super().__init__(owner.cfg, (W.shape[0],))
        self.W, self.b_vis, self.b_hid = W, b_vis, b_hid  # (Dv, Dh), (Dv,), (Dh,)
        self.m_vis, self.m_hid, self.latent_dim = m_vis, m_hid, W.shape[1]
        self.chains: torch.Tensor | None = None  # (P, Dv) sums of the visible copies

    def free_energy(self, s):
        return -(s @ self.b_vis) - self.m_hid * F.softplus(s @ self.W + self.b_hid).sum(1)  # (B,)

    def encode(self, x):
        return torch.sigmoid(self.m_vis * x.flatten(1) @ self.W + self.b_hid)  # p(h | v copies = x)

    def decode(self, h):
        return torch.sigmoid(self.m_hid * h @ self.W.t() + self.b_vis)  # p(v | h copies = h)

    @torch.no_grad()
    def _sweep(self, s):
        h = _draws(torch.sigmoid(s @ self.W + self.b_hid), self.m_hid)  # (P, Dh) sum of copies
        return _draws(torch.sigmoid(h @ self.W.t() + self.b_vis), self.m_vis)

    def forward(self, x, y=None) -> ModelOutput:
        grey = x.flatten(1).float()
        s = self.m_vis * _binarize(self.cfg.binarize, grey)  # (B, Dv) tied copies
        if self.chains is None or self.chains.device != s.device:
            n = self.cfg.pcd_chains or len(s)
            self.chains = _draws(torch.sigmoid(self.b_vis.detach()).expand(n, -1), self.m_vis)
        if self.training:
            for _ in range(self.cfg.cd_k):
                self.chains = self._sweep(self.chains)
        loss = self.free_energy(s).mean() - self.free_energy(self.chains).mean()
        with torch.no_grad():
            h = self.encode(grey)
            recon = self.decode(h)
            mse = (recon - grey).pow(2).mean()
        return ModelOutput(loss, recon, h, {"cd_loss": loss.detach(), "recon_mse": mse})


class DBM(Autoencoder):
    has_prior = True  # sample() draws from the DBM's marginal by Gibbs sampling
    stochastic = True
    has_own_fit = True  # greedy RBM pre-training, then joint training, each through train.fit
    loss_units = "energy gap E(v, μ) − F(v⁻, h2⁻) per sample (mean field vs PCD chains)"
    monotone_objective = False  # the gap can be negative and grows as the model sharpens

    def __init__(self, cfg: DBMConfig, input_shape):
        super().__init__(cfg, input_shape)
        self.check_input(cfg, self.input_shape)
        d, h1, h2 = math.prod(self.input_shape), cfg.latent_dim, cfg.top_dim
        self.latent_dim = h1
        self.W1 = nn.Parameter(torch.randn(d, h1) * cfg.init_std)  # (D, H1)
        self.W2 = nn.Parameter(torch.randn(h1, h2) * cfg.init_std)  # (H1, H2)
        self.b_v, self.b1, self.b2 = (nn.Parameter(torch.zeros(n)) for n in (d, h1, h2))
        self.chains: tuple[torch.Tensor, torch.Tensor] | None = None  # PCD (v, h2), not saved

    @classmethod
    def check_input(cls, cfg, input_shape) -> None:
        if len(input_shape) < 2:
            raise ConfigError("model", f"a Bernoulli DBM needs data in [0, 1] (images); got points "
                              f"of shape {tuple(input_shape)}")

    # ---- energy, conditionals, inference ---------------------------------------------------

    def energy(self, v, h1, h2):
        """E(v, h1, h2), (B,); with means for h it is E_q[E] under a factorial q."""
        return (-(v @ self.b_v) - h1 @ self.b1 - h2 @ self.b2
                - ((v @ self.W1) * h1).sum(1) - ((h1 @ self.W2) * h2).sum(1))

    def free_energy(self, v, h2):
        """F(v, h2) = −log Σ_h1 exp(−E(v, h1, h2)), (B,)."""
        return -(v @ self.b_v) - h2 @ self.b2 - F.softplus(v @ self.W1 + h2 @ self.W2.t() + self.b1).sum(1)

    def _p_h1(self, v, h2):
        return torch.sigmoid(v @ self.W1 + h2 @ self.W2.t() + self.b1)  # (B, H1)

    def _p_v(self, h1):
        return torch.sigmoid(h1 @ self.W1.t() + self.b_v)  # (B, D)

    def _p_h2(self, h1):
        return torch.sigmoid(h1 @ self.W2 + self.b2)  # (B, H2)

    @torch.no_grad()
    def mean_field(self, v, steps: int | None = None):
        """Fixed point of μ1 = σ(vW1 + W2μ2 + b1), μ2 = σ(μ1W2 + b2) for v (B, D) in [0, 1],
        from the doubled bottom-up pass μ1 = σ(2vW1 + b1) (what layer 1 was pre-trained as);
        `steps` iterations (cfg.mf_steps). Returns (μ1 (B, H1), μ2 (B, H2))."""
        up = v @ self.W1 + self.b1  # (B, H1), fixed across iterations
        mu1 = torch.sigmoid(2 * (v @ self.W1) + self.b1)
        mu2 = self._p_h2(mu1)
        for _ in range(self.cfg.mf_steps if steps is None else steps):
            mu1 = torch.sigmoid(up + mu2 @ self.W2.t())
            mu2 = self._p_h2(mu1)
        return mu1, mu2

    @torch.no_grad()
    def _sweep(self, v, h2, gen=None):
        """One Gibbs sweep: h1 ~ p(h1 | v, h2), then v ~ p(v | h1) and h2 ~ p(h2 | h1).
        Returns (v, h2, p(v = 1 | h1)), each (B, ·)."""
        h1 = torch.bernoulli(self._p_h1(v, h2), generator=gen)
        p = self._p_v(h1)
        return torch.bernoulli(p, generator=gen), torch.bernoulli(self._p_h2(h1), generator=gen), p

    def binarize(self, v, generator=None):
        """(B, D) grey levels in [0, 1] → the binary visible units (see cfg.binarize)."""
        return _binarize(self.cfg.binarize, v, generator)

    def _negatives(self, v, mu2):
        """Detached chain states (v⁻ (P, D), h2⁻ (P, H2)); only training advances them. With
        no chains yet (eval of an untrained model): cd_k sweeps from the data."""
        if self.chains is None or self.chains[0].shape[1] != v.shape[1] or self.chains[0].device != v.device:
            if not self.training:
                nv, nh = v, torch.bernoulli(mu2)
                for _ in range(self.cfg.cd_k):
                    nv, nh, _p = self._sweep(nv, nh)
                return nv, nh
            n = self.cfg.pcd_chains or len(v)  # start at the biases' marginal (fair coins at init)
            self.chains = (torch.bernoulli(torch.sigmoid(self.b_v.detach()).expand(n, -1)),
                           torch.bernoulli(torch.sigmoid(self.b2.detach()).expand(n, -1)))
        if self.training:
            nv, nh = self.chains
            for _ in range(self.cfg.cd_k):
                nv, nh, _p = self._sweep(nv, nh)
            self.chains = (nv, nh)
        return self.chains

    # ---- the autoencoder interface ----------------------------------------------------------

    def encode(self, x):
        return self.mean_field(x.flatten(1))[0]  # (B, H1) μ1 of the grey levels

    def decode(self, z):
        return self._p_v(z).reshape(len(z), *self.input_shape)

    def reconstruct(self, x, sample: bool = False):
        h = self.encode(x)
        return self.decode(torch.bernoulli(h) if sample else h)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`sample_steps` Gibbs sweeps from fair-coin v and h2; the last sweep's p(v | h1)."""
        dev = self.W1.device
        v = torch.bernoulli(torch.full((n, self.W1.shape[0]), 0.5, device=dev), generator=generator)
        h2 = torch.bernoulli(torch.full((n, self.W2.shape[1]), 0.5, device=dev), generator=generator)
        for _ in range(self.cfg.sample_steps):
            v, h2, p = self._sweep(v, h2, generator)
        return p.reshape(n, *self.input_shape)

    @torch.no_grad()
    def gibbs_chain(self, v, steps, generator=None) -> list[torch.Tensor]:
        """Gibbs chain from binary v (B, D), h2 drawn from its mean field μ2(v). For each k in
        `steps` (≥ 1) the sweep-k p(v = 1 | h1), (B, D); the RBM's signature."""
        steps = sorted(set(int(k) for k in steps))
        if not steps or steps[0] < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        h2 = torch.bernoulli(self.mean_field(v)[1], generator=generator)
        out = []
        for t in range(1, steps[-1] + 1):
            v, h2, p = self._sweep(v, h2, generator)
            if t in steps:
                out.append(p)
        return out

    @torch.no_grad()
    def gibbs_clamped(self, v, known, steps: int, generator=None) -> torch.Tensor:
        """Fill the unknown pixels of v (B, D) by Gibbs sampling p(v_hole, h | v_known): known
        (B, D) bool pixels stay at v; the hole starts from Bernoulli(σ(b_v)) and h2 from the
        mean field of that start. Returns v on the known pixels, the last p(v = 1 | h1) on
        the hole; the RBM's signature."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        known = known.bool()
        cur = torch.where(known, v, torch.bernoulli(torch.sigmoid(self.b_v).expand_as(v), generator=generator))
        h2 = torch.bernoulli(self.mean_field(cur)[1], generator=generator)
        for _ in range(steps):
            cur, h2, p = self._sweep(cur, h2, generator)
            cur = torch.where(known, v, cur)
        return torch.where(known, v, p)

    def forward(self, x, y=None) -> ModelOutput:
        grey = x.flatten(1).float()  # (B, D) in [0, 1]
        v = self.binarize(grey)
        mu1, mu2 = self.mean_field(v)  # detached (no_grad): q is held fixed in the update
        nv, nh2 = self._negatives(v, mu2)
        loss = self.energy(v, mu1, mu2).mean() - self.free_energy(nv, nh2).mean()
        with torch.no_grad():  # logged only
            recon = self._p_v(mu1)
            mse = (recon - grey).pow(2).mean()
            pll = pseudo_ll(v, self.W1, self.b_v, self.b1 + mu2 @ self.W2.t()).mean()
        logs = {"energy_gap": loss.detach(), "recon_mse": mse, "pseudo_ll": pll}
        return ModelOutput(loss, recon.reshape(x.shape), mu1, logs)

    # ---- training: greedy pre-training, then joint ------------------------------------------

    def pretrain(self, x_train, x_test, cfg, device, *, seed: int = 0, name: str = "dbm", run=None):
        """Greedy layer-wise pre-training only (own_fit calls it first); sets W1, W2, b_v, b1,
        b2 from the two doubled RBMs. Returns {phase: {"seconds", "test_loss", "test_recon_mse"}}."""
        if self.cfg.pretrain_lr:
            cfg = dataclasses.replace(cfg, lr=self.cfg.pretrain_lr)
        run = run or _runner(device, seed, name, None)[0]
        self.to(device)
        with torch.no_grad():
            self.b_v.copy_(_log_odds(x_train).to(device))
        l1 = _LayerRBM(self, self.W1, self.b_v, nn.Parameter(torch.zeros_like(self.b1)), 2, 1)
        phases = {"pretrain_layer1": run("layer1", l1, x_train, x_test, cfg, self.cfg.pretrain_epochs)}
        h_tr, h_te = (_map(l1.encode, x, device) for x in (x_train, x_test))  # (N, H1) p(h1 | x)
        l2 = _LayerRBM(self, self.W2, nn.Parameter(_log_odds(h_tr).to(device)), self.b2, 1, 2)
        phases["pretrain_layer2"] = run("layer2", l2, h_tr, h_te, cfg, self.cfg.pretrain_epochs)
        with torch.no_grad():
            self.b1.copy_((l1.b_hid + l2.b_vis) / 2)
        return phases

    def own_fit(self, *, x_train, x_test, cfg, device, y_train=None, y_test=None, seed: int = 0,
                name: str = "dbm", on_epoch=None):
        from ..train import FitResult

        run, state = _runner(device, seed, name, on_epoch)
        start, phases = time.perf_counter(), {}
        self.to(device)
        with torch.no_grad():
            self.b_v.copy_(_log_odds(x_train).to(device))
        if self.cfg.pretrain_epochs:
            phases.update(self.pretrain(x_train, x_test, cfg, device, seed=seed, name=name, run=run))
        self.chains = None
        phases["joint"] = run("joint", self, x_train, x_test, cfg, cfg.epochs)
        seconds, res = time.perf_counter() - start, state["last"]
        self.eval()
        return FitResult(state["step"], seconds, len(x_train) * state["step"] / max(seconds, 1e-9),
                         res.train, res.test, state["history"], phases)


def _runner(device, seed, name, on_epoch):
    """run(phase, model, x_tr, x_te, cfg, epochs) → phase summary; train.fit with epochs counted
    across phases and history keys prefixed by the phase (as the stacked AE's own_fit)."""
    from ..train import fit

    state = {"step": 0, "history": [], "last": None}

    def run(phase, model, xtr, xte, cfg, epochs):
        def log_row(epoch, row):
            state["step"] += 1
            row = {"epoch": state["step"], **{f"{phase}/{k}": v for k, v in row.items() if k != "epoch"}}
            state["history"].append(row)
            if on_epoch is not None:
                on_epoch(state["step"], row)

        t0 = time.perf_counter()
        res = fit(model, xtr, xte, dataclasses.replace(cfg, epochs=epochs), device, seed=seed,
                  name=f"{name}/{phase}", on_epoch=log_row)
        state["last"] = res
        return {"seconds": round(time.perf_counter() - t0, 2), "test_loss": round(res.test["loss"], 6),
                "test_recon_mse": round(res.test["recon_mse"], 6)}

    return run, state


def _log_odds(x) -> torch.Tensor:
    """log(p / (1 − p)) of each unit's mean over the training set, (D,): the visible biases'
    start (Hinton's guide §8.1). From zero biases the first chains (fair coins, most pixels
    on) drove W negative until every hidden unit was off for all data (p(h1) ~ 1e-7 after 3
    epochs at the mnist_dbm setting), where the gradient vanishes."""
    p = x.flatten(1).float().mean(0).clamp(1e-3, 1 - 1e-3)
    return torch.log(p / (1 - p))


@torch.no_grad()  # not inference_mode: the codes are training inputs of the next phase
def _map(fn, x, device, batch: int = 1024) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch].to(device)).float() for i in range(0, len(x), batch)]).cpu()
