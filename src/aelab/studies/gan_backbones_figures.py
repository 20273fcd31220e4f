"""The three figures of study_gan_backbones (numbers come from gan_backbones.compute)."""

from __future__ import annotations

import numpy as np

from .gan_backbones import ROLES, GANBackbonesResult

LABEL = {"conv": "conv (DCGAN)", "mlp": "MLP"}
COLOR = {"conv": "tab:blue", "mlp": "tab:orange"}


def image_grid(images: np.ndarray) -> np.ndarray:
    """(n, C, H, W) in [0, 1] → one (H', W', 3) picture, near-square, white padding."""
    import torch
    from torchvision.utils import make_grid

    nrow = int(np.ceil(np.sqrt(len(images))))
    g = make_grid(torch.from_numpy(images).clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    return g.permute(1, 2, 0).numpy()


def _title(res: GANBackbonesResult, role: str) -> str:
    m = res.metrics[role]
    return (f"{LABEL[role]}: {m['variant']}\nFréchet {m['frechet_distance']:.3g}, forest mean max-p "
            f"{m['mean_max_prob']:.2f}, {m['classes_seen']} classes seen")


def samples_figure(res: GANBackbonesResult):
    """Prior samples of both backbones side by side (the same z for both)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 6.6), layout="constrained")
    for ax, role in zip(axes, ROLES):
        ax.imshow(image_grid(res.backbones[role].samples), interpolation="nearest")
        ax.set_title(_title(res, role), fontsize=10)
        ax.axis("off")
    fig.suptitle(f"GAN samples from N(0, I), same z for both backbones (real-vs-real Fréchet floor "
                 f"{res.metrics['frechet_floor_test_halves']:.3g})")
    return fig


def loss_figure(res: GANBackbonesResult):
    """Per-epoch losses of both players (D, G), both backbones; train solid, test dashed."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for ax, (term, who) in zip(axes, (("d_loss", "discriminator"), ("g_loss", "generator"))):
        for role in ROLES:
            for split, style in (("train", "-"), ("test", "--")):
                c = res.backbones[role].curves[term][split]  # (epochs, 2): epoch, loss
                ax.plot(c[:, 0], c[:, 1], style, color=COLOR[role], label=f"{LABEL[role]}, {split}")
        ax.set(xlabel="epoch", ylabel="nats/sample", title=f"{who} loss ({term})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    fig.suptitle("Adversarial losses per epoch (non-saturating G loss; D: BCE on real + fake)")
    return fig


def class_figure(res: GANBackbonesResult):
    """The forest's class histogram of the samples, grouped bars per class."""
    import matplotlib.pyplot as plt

    k = len(res.class_names)
    pos, width = np.arange(k), 0.4
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * k + 2), 4.2), layout="constrained")
    for i, role in enumerate(ROLES):
        m = res.metrics[role]
        ax.bar(pos + (i - 0.5) * width, res.backbones[role].class_fraction, width, color=COLOR[role],
               label=f"{LABEL[role]} (top class {m['top_class_share']:.2f})")
    ax.axhline(1 / k, color="0.5", lw=0.8, ls=":", label="uniform")
    ax.set_xticks(pos, res.class_names)
    n = res.metrics[ROLES[0]]["n_samples"]
    ax.set(xlabel="class predicted by the random forest", ylabel="fraction of samples",
           title=f"Forest labels of {n} samples per backbone")
    ax.legend(fontsize=8)
    return fig
