"""The GAN's fully connected backbone (GANConfig.backbone 'mlp'), as in Goodfellow et al.
(2014)'s MNIST nets: every image is a flat vector of C·H·W pixels, no convolutions.

Generator z → hidden_sizes → C·H·W logits, reshaped to (B, C, H, W) (the GAN applies the
sigmoid); hidden layers Linear → BN (if batchnorm) → ReLU, as the conv generator's
stages. Discriminator (and the inversion encoder E, which shares its architecture)
C·H·W → reversed(hidden_sizes) → out_dim; hidden layers Linear → LeakyReLU(leak), no BN
whatever `batchnorm` says. Why: D sees real and fake images in separate batches (as in the
conv loop), so in training each batch is normalised by its own statistics, while eval
mode (test losses, and any use of D afterwards) uses running statistics that average the
two. With BN after the MLP D's second layer that flipped its answers: on the 64-image
contract batch, after 6 and 30 epochs, train-mode accuracy 0.71 / 0.97 but eval-mode
0.04 / 0.08; without BN 1.0 in both modes. (Goodfellow et al.'s MLP D has no BN either.)
For MNIST, latent 32 and hidden_sizes (256, 512): G 543,760 parameters, D 533,505 (the
conv pair with filters (32, 64): 165,633 and 22,081), yet about 5× fewer multiply-adds per
image: one adversarial step on a batch of 64 took 18 ms vs 100 ms (1 CPU thread).
"""

from __future__ import annotations

import math

from torch import nn

from .blocks import Reshape


def mlp_discriminator(in_shape: tuple[int, ...], hidden_sizes, out_dim: int, leak: float) -> nn.Sequential:
    """(B, C, H, W) → (B, out_dim); hidden widths reversed(hidden_sizes); no BN (module doc)."""
    width = math.prod(in_shape)  # C·H·W, e.g. 784
    layers: list[nn.Module] = [nn.Flatten()]
    for h in reversed(tuple(hidden_sizes)):
        layers.append(nn.Linear(width, h))
        layers.append(nn.LeakyReLU(leak) if leak > 0 else nn.ReLU())
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def mlp_generator(out_shape: tuple[int, ...], hidden_sizes, latent: int,
                  batchnorm: bool) -> nn.Sequential:
    """(B, latent) → (B, C, H, W) logits; hidden widths hidden_sizes."""
    width, layers = latent, []
    for h in hidden_sizes:
        layers.append(nn.Linear(width, h))
        layers += [nn.BatchNorm1d(h)] if batchnorm else []
        layers.append(nn.ReLU())
        width = h
    layers += [nn.Linear(width, math.prod(out_shape)), Reshape(*out_shape)]  # logits; sigmoid outside
    return nn.Sequential(*layers)
