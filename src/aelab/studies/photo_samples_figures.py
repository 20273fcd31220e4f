"""The three figures of study_photo_samples (numbers come from photo_samples.compute)."""

from __future__ import annotations

import numpy as np

from .gan_backbones_figures import image_grid
from .photo_samples import ROLES, PhotoSamplesResult

LABEL = {"real": "real test images", "cae": "CAE + GMM on codes", "vae": "VAE (prior)",
         "gan": "GAN (deep blocks)"}
COLOR = {"real": "0.45", "cae": "tab:blue", "vae": "tab:orange", "gan": "tab:green"}
KEYS = ("real", *ROLES)


def _judged(res: PhotoSamplesResult, key: str):
    return res.real if key == "real" else res.models[key]


def samples_figure(res: PhotoSamplesResult):
    """Real test images and the three models' samples, one panel each."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 5.2), layout="constrained")
    for ax, key in zip(axes, KEYS):
        j = _judged(res, key)
        m = j.metrics
        ax.imshow(image_grid(j.images), interpolation="nearest")
        who = LABEL[key] if key == "real" else f"{LABEL[key]}\n{m['variant']}"
        ax.set_title(f"{who}\nLaplacian var {m['laplacian_variance']:.3g}, pairwise RMS "
                     f"{m['mean_pairwise_rms']:.3f}", fontsize=9)
        ax.axis("off")
    fig.suptitle("Photo study: samples of the three generators next to real test images")
    return fig


def measures_figure(res: PhotoSamplesResult):
    """Sharpness (Laplacian variance, gradient magnitude) and variety (pairwise RMS) as
    ratios to the real images, one bar per model; 1 = like real images."""
    import matplotlib.pyplot as plt

    measures = (("laplacian_variance", "sharpness:\nLaplacian variance"),
                ("gradient_magnitude", "sharpness:\nmean gradient magnitude"),
                ("mean_pairwise_rms", "variety:\nmean pairwise RMS distance"))
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    pos, width = np.arange(len(measures)), 0.26
    for i, role in enumerate(ROLES):
        vals = [res.models[role].metrics[f"{k}_ratio_to_real"] for k, _ in measures]
        bars = ax.bar(pos + (i - 1) * width, vals, width, color=COLOR[role], label=LABEL[role])
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.axhline(1.0, color=COLOR["real"], lw=1, ls="--", label="real test images (= 1)")
    ax.set_xticks(pos, [t for _, t in measures])
    ax.set(ylabel="ratio to real test images", title="Sharpness and variety of samples, relative to real images")
    ax.legend(fontsize=8)
    return fig


def class_figure(res: PhotoSamplesResult):
    """The forest's class histogram of real images and of each model's samples."""
    import matplotlib.pyplot as plt

    k = len(res.class_names)
    pos, width = np.arange(k), 0.2
    fig, ax = plt.subplots(figsize=(max(7.0, 1.1 * k + 2), 4.6), layout="constrained")
    for i, key in enumerate(KEYS):
        j = _judged(res, key)
        ax.bar(pos + (i - 1.5) * width, j.class_fraction, width, color=COLOR[key],
               label=f"{LABEL[key]} ({j.metrics['classes_seen']} classes seen)")
    ax.set_xticks(pos, [n.replace(" & ", " &\n") for n in res.class_names], fontsize=8, rotation=20)
    ax.set(xlabel="category predicted by the random forest (fitted on training originals)",
           ylabel="fraction of images", title=f"Forest labels of {res.metrics['n_samples']} images per row")
    ax.legend(fontsize=8)
    return fig
