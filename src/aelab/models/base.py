"""The interface every model implements, so one trainer and one task suite serve all.

    out = model(x)            # ModelOutput: loss (scalar), recon, z, logs
    z = model.encode(x)       # deterministic code (the posterior mean for a VAE)
    x_hat = model.decode(z)   # in model-input space ([0, 1] for sigmoid outputs)
    x_new = model.sample(n)   # only where has_prior: decode draws from N(0, I)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class ModelOutput:
    loss: torch.Tensor  # scalar the optimizer minimizes (batch mean of per-sample losses)
    recon: torch.Tensor  # (B, *input_shape), model-input space
    z: torch.Tensor  # (B, latent_dim) codes that produced `recon`
    logs: dict[str, torch.Tensor] = field(default_factory=dict)  # named loss terms, detached scalars


class Autoencoder(nn.Module):
    """Base class. Subclasses set latent_dim and implement encode/decode/forward.

    Class flags declare what a model can do, and callers ask them (never getattr a name):
    has_encoder (encode() exists), encode_by_optimization (encode() searches z per image,
    e.g. a GAN's inversion: slow, so tasks cap their image counts), has_own_fit (training
    is the model's own `own_fit`, e.g. the GAN's two players or the stacked AE's phases;
    everything else goes through train.fit), has_prior (sample() from N(0, I)),
    stochastic (reconstruct(x, sample=True) differs between calls), has_posterior
    (posterior(x) gives the Gaussian q(z|x) as (mu, logvar): VAEs), needs_labels
    (forward(x, y)), loss_units (what `loss` measures, e.g. "nats/image"),
    monotone_objective (`loss` starts positive and only falls in healthy training, so a
    loss far above epoch 1's is divergence: train.diverge_factor and the health check
    apply; False where it may be negative or rise by design: RBM, GAN, stacked phases).
    """

    has_encoder = True
    encode_by_optimization = False
    has_own_fit = False
    has_prior = False
    stochastic = False
    has_posterior = False
    needs_labels = False
    loss_units = ""
    monotone_objective = True

    def __init__(self, cfg, input_shape: tuple[int, ...]):
        super().__init__()
        self.cfg = cfg
        self.input_shape = tuple(input_shape)
        self.latent_dim = 0
        self.epoch = 0  # the trainer's current epoch (start_epoch), for loss schedules
        self.loss_warmup_epochs = 0  # training epochs on BCE before cfg.loss (see _loss_name)

    def start_epoch(self, epoch: int) -> None:
        """The trainer calls this before each training epoch (1-based)."""
        self.epoch = epoch

    def _loss_name(self) -> str:
        """The reconstruction loss to use now: BCE while training in a warm-up epoch, else
        cfg.loss (evaluation always reports cfg.loss, so test curves keep one unit). The
        warm-up BCE is per pixel when cfg.loss is (mse, l1): summed per image its gradients
        are ~800× larger and Adam's second moments would stall the switch for ~1,000 steps."""
        if self.training and 0 < self.epoch <= self.loss_warmup_epochs:
            return "bce_per_pixel" if self.cfg.loss in ("mse", "l1") else "bce"
        return self.cfg.loss

    @classmethod
    def from_config(cls, cfg, input_shape):
        return cls(cfg, input_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """Encode then decode; `sample` draws from the posterior where the model has one."""
        return self.decode(self.encode(x))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if not self.has_prior:
            raise NotImplementedError(f"{type(self).__name__} has no prior to sample from")
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return self.decode(z)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} has no Gaussian posterior (has_posterior is False)")

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        raise NotImplementedError

    def own_fit(self, *, x_train, x_test, cfg, device, y_train=None, y_test=None, seed: int = 0,
                name: str = "model", on_epoch=None):
        """Train with the model's own procedure (only where has_own_fit); returns a
        train.FitResult, with `phases` where training has several."""
        raise NotImplementedError(f"{type(self).__name__} trains through train.fit (has_own_fit is False)")

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


LOGVAR_RANGE = (-30.0, 20.0)  # clamp keeps exp(logvar) finite in fp32 and bf16


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma · eps, eps ~ N(0, I); (B, latent)."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def ae_output(model_loss: str, raw: torch.Tensor, x: torch.Tensor, z: torch.Tensor,
              logits: bool, ssim_weight: float = 1.0) -> ModelOutput:
    """Loss/recon/logs of a deterministic autoencoder from its decoder's raw output."""
    from ..losses import reconstruction

    rec = reconstruction(model_loss, raw, x, logits, ssim_weight)  # (B,)
    loss = rec.mean()
    recon = torch.sigmoid(raw) if logits else raw
    return ModelOutput(loss, recon, z, {f"recon_{model_loss}": loss.detach()})


def vae_output(model_loss: str, raw: torch.Tensor, x: torch.Tensor, mu: torch.Tensor,
               logvar: torch.Tensor, z: torch.Tensor, logits: bool, beta: float,
               ssim_weight: float = 1.0) -> ModelOutput:
    """Negative ELBO per image = recon + β·KL, both per image (nats for BCE)."""
    from ..losses import kl_normal, reconstruction

    rec = reconstruction(model_loss, raw, x, logits, ssim_weight)  # (B,)
    kl = kl_normal(mu, logvar)  # (B,) nats
    loss = (rec + beta * kl).mean()
    recon = torch.sigmoid(raw) if logits else raw
    logs = {f"recon_{model_loss}": rec.mean().detach(), "kl_nats": kl.mean().detach(),
            "neg_elbo": (rec + kl).mean().detach()}
    return ModelOutput(loss, recon, z, logs)


class GaussianPosterior:
    """Mixin that turns a deterministic autoencoder into a VAE (put it first in the bases).

    The host class provides `_encoder_out(x) -> (B, 2·latent)` (its encoder is built
    `_code_width(latent)` wide, which this mixin doubles), `_decode_raw(z)` (logits when
    `self.logits`), and a config with `loss`, `beta`, `ssim_weight`.
    """

    has_prior = True
    stochastic = True
    has_posterior = True

    def posterior(self, x):
        """(mu, logvar) of q(z|x), each (B, latent)."""
        return self._posterior(x)

    def _code_width(self, latent: int) -> int:
        return 2 * latent

    def _posterior(self, x):
        mu, logvar = self._encoder_out(x).chunk(2, dim=1)  # (B, latent) each
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def encode(self, x):
        return self._posterior(x)[0]

    def reconstruct(self, x, sample: bool = False):
        mu, logvar = self._posterior(x)
        return self.decode(reparameterize(mu, logvar) if sample else mu)

    def forward(self, x, y=None) -> ModelOutput:
        mu, logvar = self._posterior(x)
        z = reparameterize(mu, logvar)
        return vae_output(self._loss_name(), self._decode_raw(z), x, mu, logvar, z, self.logits,
                          self.cfg.beta, self.cfg.ssim_weight)
