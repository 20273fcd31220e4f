"""DCGAN-style GAN built from the conv AE's blocks (Radford et al. 2016).

Generator = conv.conv_decoder (Dense → reshape → stride-2 ConvTranspose stages, BN + ReLU,
sigmoid output); discriminator = conv.conv_encoder with one logit (stride-2 convs, BN
except on the input layer, LeakyReLU 0.2). Trained by its own adversarial loop
(own_fit, the one exception to train.fit): non-saturating loss, Adam(lr, betas (0.5, 0.999)).
`backbone: mlp` swaps both players (and E) for fully connected nets (gan_mlp.py);
`backbone: deep` builds them from the photo study's blocks (deep.py): G is the deep
CAE/VAE decoder (Dense → 4×4 seed → n_up transposed convs), D and E its encoder (input
conv + n_down stride-2 convs of filters[0] channels, LeakyReLU), so the photo study's CAE,
VAE and GAN share their components. The loss, the loop and everything below stay the same.

A GAN has no encoder of its own, so encode(x) recovers a code from G (frozen, eval mode):
  1. an amortised guess z0 = E(x) from an inversion encoder E (the discriminator's
     architecture with a latent_dim output), trained after the GAN for `encoder_epochs`
     on ‖G(E(x)) − x‖² over the training images (encoder_target 'image'), or on
     ‖E(G(z)) − z‖² over fresh prior draws z (latent regression, 'latent': every target
     code differs, so E cannot collapse to the one code that best fits all images, as it
     did on the 12-epoch photo GAN), through train.fit with G frozen;
     without one (encoder_epochs 0), z0 = 0, the prior's mode;
  2. then `encode_steps` Adam steps on z minimising ‖G(z) − x‖² per image.
Both are deterministic, so no seed. Measured on MNIST (500 test digits, 2-core CPU):
100 steps from 0 give 0.0145 MSE/pixel in 44 s; E alone 0.026 in < 1 s; E + 20 steps
0.0136 in 8 s. Encoding still costs encode_steps generator passes per image, so
`encode_by_optimization` tells the tasks to cap their image counts. It also works under
torch.inference_mode (gradients are re-enabled locally for z only).
"""

from __future__ import annotations

import dataclasses
import logging
import time

import torch
import torch.nn.functional as F

from .base import Autoencoder, ModelOutput
from .configs import GANConfig
from .conv import check_image_input, conv_decoder, conv_encoder
from .deep import check_deep_input, deep_decoder, deep_encoder
from .gan_mlp import mlp_discriminator, mlp_generator

log = logging.getLogger(__name__)


class GAN(Autoencoder):
    """decode = generator, sample = G(N(0, I)); forward's loss is the generator loss."""

    has_prior = True
    monotone_objective = False  # the players' losses trade off; no joint minimum
    encode_by_optimization = True  # encode() refines z per image by encode_steps G passes
    has_own_fit = True  # two players: the adversarial loop, then the inversion encoder
    loss_units = "nats/sample (non-saturating G loss)"

    def __init__(self, cfg: GANConfig, input_shape):
        super().__init__(cfg, input_shape)
        cfg.validate("model_args")
        self.check_input(cfg, self.input_shape)
        self.latent_dim = cfg.latent_dim
        # D: (B, C, H, W) → (B, 1) logit; G: (B, latent) → (B, C, H, W) logits. Built D, G, E
        # in this order, so a seed gives the conv backbone the weights it always had.
        if cfg.backbone == "mlp":
            self.discriminator = self._critic(1)
            self.generator = mlp_generator(self.input_shape, cfg.hidden_sizes, cfg.latent_dim,
                                           cfg.batchnorm)
        elif cfg.backbone == "deep":
            self.discriminator = self._critic(1)
            self.generator = deep_decoder(self.input_shape, cfg.filters[0], cfg.n_up, cfg.seed_channels,
                                          cfg.latent_dim, batchnorm=cfg.batchnorm)
        else:
            self.discriminator, sizes = conv_encoder(self.input_shape, cfg.filters, cfg.convs_per_stage,
                                                     cfg.dense, 1, leak=cfg.leak, batchnorm=cfg.batchnorm)
            self.generator = conv_decoder(self.input_shape, cfg.filters, cfg.convs_per_stage,
                                          cfg.latent_dim, sizes, batchnorm=cfg.batchnorm)
        self.encoder = None  # the inversion encoder E: (B, C, H, W) → (B, latent)
        if cfg.encoder_epochs:
            self.encoder = self._critic(cfg.latent_dim)

    def _critic(self, out_dim: int):
        """D's architecture with out_dim outputs (1: D itself; latent_dim: E)."""
        cfg = self.cfg
        if cfg.backbone == "mlp":
            return mlp_discriminator(self.input_shape, cfg.hidden_sizes, out_dim, cfg.leak)
        if cfg.backbone == "deep":
            return deep_encoder(self.input_shape, cfg.filters[0], cfg.n_down, out_dim, cfg.leak)
        net, _ = conv_encoder(self.input_shape, cfg.filters, cfg.convs_per_stage, cfg.dense, out_dim,
                              leak=cfg.leak, batchnorm=cfg.batchnorm)
        return net

    @classmethod
    def check_input(cls, cfg, input_shape) -> None:
        if cfg.backbone == "deep":
            check_deep_input(cfg, input_shape)
        else:
            check_image_input(input_shape, 2 ** len(cfg.filters) if cfg.backbone == "conv" else 1)

    def decode(self, z):
        return torch.sigmoid(self.generator(z))  # (B, C, H, W) in [0, 1]

    def initial_code(self, x):
        """E(x) in eval mode, or 0 without an encoder; (B, latent), no grad."""
        if self.encoder is None:
            return torch.zeros(len(x), self.latent_dim, device=x.device)
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            with torch.no_grad():
                return self.encoder(x).float()
        finally:
            self.encoder.train(was_training)

    def encode(self, x):
        """Latent recovery: argmin_z ‖G(z) − x‖² by Adam from initial_code(x); (B, latent)."""
        from ..train import fused

        z0 = self.initial_code(x)
        if self.cfg.encode_steps == 0:
            return z0
        with torch.inference_mode(False), torch.enable_grad():
            target = x.detach().clone()  # a normal tensor even if x is an inference tensor
            z = z0.clone().requires_grad_(True)
            opt = torch.optim.Adam([z], lr=self.cfg.encode_lr, **fused([z]))
            was_training = self.generator.training
            self.generator.eval()  # BN running stats: each image's code is independent
            try:
                for _ in range(self.cfg.encode_steps):
                    err = (self.decode(z) - target).pow(2).sum()  # images are independent
                    (z.grad,) = torch.autograd.grad(err, z)
                    opt.step()
            finally:
                self.generator.train(was_training)
        return z.detach()

    def _d(self, img):
        return self.discriminator(img).squeeze(1)  # (B,) logits

    def forward(self, x, y=None) -> ModelOutput:
        """loss: generator loss on len(x) fresh samples; recon: G(encode(x)) (slow, detached)."""
        z = torch.randn(len(x), self.latent_dim, device=x.device)
        g_logit = self._d(self.decode(z))
        loss = F.binary_cross_entropy_with_logits(g_logit, torch.ones_like(g_logit))
        with torch.no_grad():
            code = self.encode(x)
            recon = self.decode(code)
        mse = (recon - x).pow(2).flatten(1).mean(1).mean()
        return ModelOutput(loss, recon, code, {"g_loss": loss.detach(), "recon_mse": mse.detach()})

    # --- adversarial training ----------------------------------------------------------

    def _step(self, xb, z, opt_d, opt_g, cfg, device) -> dict[str, torch.Tensor]:
        from ..train import autocast

        with autocast(device, cfg.bf16):
            fake = self.decode(z)  # (B, C, H, W)
            real_logit, fake_logit = self._d(xb), self._d(fake.detach())
            real_t = torch.full_like(real_logit, 1.0 - self.cfg.label_smoothing)
            d_loss = (F.binary_cross_entropy_with_logits(real_logit, real_t)
                      + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self._clip(self.discriminator, cfg)
        opt_d.step()
        with autocast(device, cfg.bf16):
            gen_logit = self._d(fake)
            g_loss = F.binary_cross_entropy_with_logits(gen_logit, torch.ones_like(gen_logit))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()  # also fills D's grads; opt_d.zero_grad clears them next step
        self._clip(self.generator, cfg)
        opt_g.step()
        return {"loss": g_loss.detach(), "d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": torch.sigmoid(real_logit.detach()).mean(),
                "d_fake": torch.sigmoid(fake_logit.detach()).mean()}

    @staticmethod
    def _clip(net, cfg) -> None:
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)

    @torch.inference_mode()
    def evaluate_gan(self, x, cfg, device, seed: int) -> dict[str, float]:
        """D/G losses on real test images vs as many fakes from fixed z (eval mode)."""
        from ..train import autocast

        self.eval()
        gen = torch.Generator(device=device).manual_seed(seed + 1)
        sums: dict[str, torch.Tensor] = {}
        for i in range(0, len(x), cfg.eval_batch_size):
            xb = x[i:i + cfg.eval_batch_size].to(device)
            z = torch.randn(len(xb), self.latent_dim, device=device, generator=gen)
            with autocast(device, cfg.bf16):
                r, f = self._d(xb).float(), self._d(self.decode(z)).float()
            d_loss = (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                      + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
            g_loss = F.binary_cross_entropy_with_logits(f, torch.ones_like(f))
            terms = {"loss": g_loss, "d_loss": d_loss, "g_loss": g_loss,
                     "d_real": torch.sigmoid(r).mean(), "d_fake": torch.sigmoid(f).mean()}
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v.float() * len(xb)
        return {k: v.item() / len(x) for k, v in sums.items()}

    def own_fit(self, *, x_train, x_test, cfg, device, y_train=None, y_test=None, seed: int = 0,
                   name: str = "gan", on_epoch=None):
        """Alternate one D step and one G step per batch for cfg.epochs; returns FitResult."""
        from ..divergence import DivergenceGuard
        from ..train import FitResult, accumulate, close_epoch, fused

        self.to(device)
        x_train = x_train.to(device)
        betas = (0.5, 0.999)  # DCGAN
        d_params, g_params = list(self.discriminator.parameters()), list(self.generator.parameters())
        opt_d = torch.optim.Adam(d_params, lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay,
                                 **fused(d_params))
        opt_g = torch.optim.Adam(g_params, lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay,
                                 **fused(g_params))
        perm_gen = torch.Generator().manual_seed(seed)
        z_gen = torch.Generator(device=device).manual_seed(seed)
        n, history, start = len(x_train), [], time.perf_counter()
        train_m, test_m = {}, {}
        guard = DivergenceGuard(name, cfg.diverge_factor, self.monotone_objective)  # NaN/inf per batch
        for epoch in range(1, cfg.epochs + 1):
            self.train()
            sums: dict[str, torch.Tensor] = {}
            perm = torch.randperm(n, generator=perm_gen).to(device)
            for i in range(0, n, cfg.batch_size):
                xb = x_train[perm[i:i + cfg.batch_size]]
                z = torch.randn(len(xb), self.latent_dim, device=device, generator=z_gen)
                terms = self._step(xb, z, opt_d, opt_g, cfg, device)
                guard.add(terms)
                accumulate(sums, terms["loss"], {k: v for k, v in terms.items() if k != "loss"}, len(xb))
            train_m, test_m = close_epoch(sums, n, epoch, name, guard,
                                          lambda: self.evaluate_gan(x_test, cfg, device, seed),
                                          history, on_epoch)
            if epoch == 1 or epoch % max(1, cfg.epochs // 5) == 0:
                log.info("%s: epoch %d/%d d_loss %.4g g_loss %.4g D(x) %.3f D(G(z)) %.3f", name, epoch,
                         cfg.epochs, train_m["d_loss"], train_m["g_loss"], train_m["d_real"],
                         train_m["d_fake"])
        seconds = time.perf_counter() - start
        phases = {"adversarial": {"seconds": seconds}}
        if self.encoder is not None:
            phases["encoder"] = self._fit_encoder(x_train, x_test, cfg, device, seed, name, history,
                                                  on_epoch)
        seconds = time.perf_counter() - start
        self.eval()
        return FitResult(cfg.epochs, seconds, n * cfg.epochs / max(seconds, 1e-9), train_m, test_m,
                         history, phases)

    def _fit_encoder(self, x_train, x_test, cfg, device, seed, name, history, on_epoch) -> dict:
        """Train E on ‖G(E(x)) − x‖² with G frozen (train.fit, the one loop); its curve rows
        continue the epoch count under `encoder/…`. Returns the phase summary."""
        from ..train import fit

        t0, offset = time.perf_counter(), len(history)

        def log_row(epoch, row):
            row = {"epoch": offset + epoch, **{f"encoder/{k}": v for k, v in row.items() if k != "epoch"}}
            history.append(row)
            if on_epoch is not None:
                on_epoch(offset + epoch, row)

        frozen = [p for p in self.generator.parameters() if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)  # backprop through G, but no grads for its weights
        try:
            inversion = _LatentRegression(self) if self.cfg.encoder_target == "latent" else _Inversion(self)
            res = fit(inversion, x_train, x_test,
                      dataclasses.replace(cfg, epochs=self.cfg.encoder_epochs, lr=self.cfg.encoder_lr),
                      device, seed=seed, name=f"{name}/encoder", on_epoch=log_row)
        finally:
            for p in frozen:
                p.requires_grad_(True)
        return {"seconds": time.perf_counter() - t0, "train_loss": round(res.train["loss"], 6),
                "test_loss": round(res.test["loss"], 6), "loss_units": inversion.loss_units}


class _Inversion(Autoencoder):
    """E trained against a frozen G: loss = ‖G(E(x)) − x‖² per image (batch mean).

    G is held outside the module tree (not a submodule), so fit's .train() and
    .parameters() see E only and G keeps its eval-mode BatchNorm statistics."""

    loss_units = "squared error/image"

    def __init__(self, gan: GAN):
        super().__init__(gan.cfg, gan.input_shape)
        self.latent_dim = gan.latent_dim
        self.enc = gan.encoder
        object.__setattr__(self, "_gan", gan)  # not registered: no params, no mode switches
        gan.generator.eval()

    def encode(self, x):
        return self.enc(x)

    def decode(self, z):
        return self._gan.decode(z)

    def forward(self, x, y=None) -> ModelOutput:
        z = self.enc(x)
        recon = self.decode(z)
        loss = (recon.float() - x).pow(2).flatten(1).sum(1).mean()
        return ModelOutput(loss, recon, z, {"sse": loss.detach()})


class _LatentRegression(_Inversion):
    """E trained against a frozen G on fresh prior draws: loss = ‖E(G(z)) − z‖² per draw
    (batch mean), one draw per image of the batch; x itself is only monitored: `image_sse`
    = ‖G(E(x)) − x‖², the real-image fit the 'image' target would minimise."""

    loss_units = "squared error/code"

    def forward(self, x, y=None) -> ModelOutput:
        z = torch.randn(len(x), self.latent_dim, device=x.device)  # (B, latent)
        with torch.no_grad():
            fake = self.decode(z)  # (B, C, H, W), G frozen in eval mode
        loss = (self.enc(fake).float() - z).pow(2).sum(1).mean()
        with torch.no_grad():
            code = self.enc(x)
            recon = self.decode(code)
            sse = (recon.float() - x).pow(2).flatten(1).sum(1).mean()
        return ModelOutput(loss, recon, code, {"latent_sse": loss.detach(), "image_sse": sse})
