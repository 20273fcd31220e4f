"""Convolutional AE with residual blocks, and the same net without skips.

The question it serves: can residual blocks be used in an autoencoder, and what do they
change? `residual: false` keeps every layer and parameter and drops only the identity
paths, so the two variants differ in nothing else.

Encoder, per stage f in `filters`: Conv(k3, stride 2) [BN] ReLU → `blocks` × ResBlock(f);
then Flatten → Linear → code. Decoder mirrors it: Linear → ReLU → reshape → per stage
(reversed): `blocks` × ResBlock(f) → ConvTranspose(k3, stride 2) [BN] ReLU to the next
smaller width; a final conv to C channels gives logits (sigmoid in decode()).
ResBlock (He et al. 2016, "basic block"): y = conv-[BN]-ReLU-conv-[BN](x);
out = ReLU(x + y) with skips, ReLU(y) without.
"""

from __future__ import annotations


from torch import nn

from .blocks import Reshape
from .configs import ResConvAEConfig
from .conv import ConvAutoencoder


class ResBlock(nn.Module):
    """(B, f, H, W) → (B, f, H, W); the skip is the only difference residual makes."""

    def __init__(self, f: int, batchnorm: bool, residual: bool):
        super().__init__()
        bn = (lambda: nn.BatchNorm2d(f)) if batchnorm else nn.Identity
        self.f = nn.Sequential(nn.Conv2d(f, f, 3, padding=1, bias=not batchnorm), bn(), nn.ReLU(),
                               nn.Conv2d(f, f, 3, padding=1, bias=not batchnorm), bn())
        self.residual = residual

    def forward(self, x):
        y = self.f(x)
        return (x + y if self.residual else y).relu()


def _conv_bn_relu(conv: nn.Module, f: int, batchnorm: bool) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(f) if batchnorm else nn.Identity(), nn.ReLU()]


def resconv_nets(cfg: ResConvAEConfig, input_shape, code_width: int, variational: bool):
    c, h, w = input_shape
    bn, res = cfg.batchnorm, cfg.residual
    sizes, enc = [(h, w)], []
    for f in cfg.filters:
        enc += _conv_bn_relu(nn.Conv2d(c, f, 3, stride=2, padding=1, bias=not bn), f, bn)
        enc += [ResBlock(f, bn, res) for _ in range(cfg.blocks)]
        c, h, w = f, (h + 1) // 2, (w + 1) // 2
        sizes.append((h, w))
    enc += [nn.Flatten(), nn.Linear(c * h * w, code_width)]
    dec: list[nn.Module] = [nn.Linear(cfg.latent_dim, c * h * w), nn.ReLU(), Reshape(c, h, w)]
    widths = list(cfg.filters)[::-1] + [cfg.filters[0]]  # stage i maps widths[i] → widths[i+1]
    for i in range(len(cfg.filters)):
        dec += [ResBlock(widths[i], bn, res) for _ in range(cfg.blocks)]
        th, tw = sizes[-2 - i]
        op = (th - (2 * h - 1), tw - (2 * w - 1))  # undo ceil(n / 2) exactly
        dec += _conv_bn_relu(nn.ConvTranspose2d(widths[i], widths[i + 1], 3, stride=2, padding=1,
                                                output_padding=op, bias=not bn), widths[i + 1], bn)
        h, w = th, tw
    dec.append(nn.Conv2d(widths[-1], input_shape[0], 3, padding=1))  # logits
    return nn.Sequential(*enc), nn.Sequential(*dec)


class ResConvAutoencoder(ConvAutoencoder):
    """Deterministic conv AE with residual blocks (or, with residual=False, without skips)."""

    nets = staticmethod(resconv_nets)
