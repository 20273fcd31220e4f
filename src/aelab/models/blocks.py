"""Building blocks shared by the model families (MLP stacks, conv stages, residual blocks)."""

from __future__ import annotations

from torch import nn


def mlp(sizes: list[int], final_activation: bool = False) -> nn.Sequential:
    """Linear layers sizes[0]→…→sizes[-1] with ReLU between; the last layer is linear
    unless final_activation (then ReLU follows it too)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ResidualMLPBlock(nn.Module):
    """z_l = z_{l−1} + f_l(z_{l−1}), f_l a fully connected net whose hidden layers are
    wider than its input (width = expansion · dim)."""

    def __init__(self, dim: int, expansion: int = 4, hidden_layers: int = 1):
        super().__init__()
        width = dim * expansion
        self.f = mlp([dim] + [width] * hidden_layers + [dim])

    def forward(self, z):
        return z + self.f(z)


class Reshape(nn.Module):
    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)
