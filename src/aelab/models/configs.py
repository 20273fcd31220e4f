"""Every model family's config dataclass, and MODEL_CONFIGS: name → config class.

Kept apart from the model code, and free of torch, so that validating params.yaml (which
every stage does first) costs milliseconds rather than torch's ~2 s import. The model
modules import their config from here and re-export it (`from aelab.models.conv import
ConvAEConfig` keeps working); models/registry.py pairs each class with its config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..core.config import spec
from ..core.errors import ConfigError

Loss = Literal["bce", "mse", "sse", "l1", "ssim", "bce_ssim"]


def _check_filters(filters, key: str) -> None:
    if not filters or any(f < 1 for f in filters):
        raise ConfigError(f"{key}.filters", f"needs one or more positive channel counts, got {filters!r}")


# --- mlp.py ----------------------------------------------------------------------------

@dataclass(frozen=True)
class MLPAEConfig:
    """latent_dim: latent dimensions (default 2); hidden_size: width of every hidden
    layer (64); layers: hidden layers in the encoder, mirrored by the decoder (2);
    output: 'linear' (points, standardized data) or 'sigmoid' (images in [0, 1]);
    loss: reconstruction loss (see aelab.losses; 'mse' = MSE per coordinate,
    'bce' = nats per image); ssim_weight: weight of the SSIM term in 'bce_ssim'."""

    latent_dim: int = spec(2, ge=1)
    hidden_size: int = spec(64, ge=1)
    layers: int = spec(2, ge=1)
    output: Literal["linear", "sigmoid"] = "linear"
    loss: Literal["mse", "sse", "l1", "bce", "ssim", "bce_ssim"] = "mse"
    ssim_weight: float = spec(1.0, ge=0)

    def validate(self, key: str) -> None:
        if self.loss in ("bce", "bce_ssim") and self.output != "sigmoid":
            raise ConfigError(f"{key}.loss", f"{self.loss!r} needs output: sigmoid (values in [0, 1])")


@dataclass(frozen=True)
class MLPVAEConfig(MLPAEConfig):
    """As MLPAEConfig (loss defaults to 'bce', output to 'sigmoid'), plus beta: weight of
    the KL term (1 = the ELBO)."""

    output: Literal["linear", "sigmoid"] = "sigmoid"
    loss: Literal["mse", "sse", "l1", "bce", "ssim", "bce_ssim"] = "bce"
    beta: float = spec(1.0, ge=0)


# --- conv.py ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvAEConfig:
    """latent_dim: code dimensions (default 2); filters: channels of the stride-2 conv
    stages, one entry per halving of H and W ((32, 64) = Keras); convs_per_stage: convs
    per stage, the first with stride 2, the others stride 1 (1 = Keras; 2 with filters
    (32, 64, 128) = the "deeper conv net"); dense: width of the hidden Dense layer between
    the flattened features and the code, 0 = none (16); loss: reconstruction loss of the
    sigmoid decoder (aelab.losses: 'bce' = nats per image (Keras), 'mse'/'l1' per pixel,
    'ssim', 'bce_ssim'); ssim_weight: weight of the SSIM term in 'bce_ssim' (1.0).
    Input: images C×H×W (any C; H, W ≥ 2^len(filters)) with values in [0, 1].
    warmup_bce_epochs: epochs trained on BCE before `loss` takes over (0 = off; L1 from a
    random start falls into the all-black per-pixel median and stays there)."""

    latent_dim: int = spec(2, ge=1)
    filters: tuple[int, ...] = (32, 64)
    convs_per_stage: int = spec(1, ge=1, le=4)
    dense: int = spec(16, ge=0)
    loss: Loss = "bce"
    ssim_weight: float = spec(1.0, ge=0)
    warmup_bce_epochs: int = spec(0, ge=0)

    def validate(self, key: str) -> None:
        _check_filters(self.filters, key)


@dataclass(frozen=True)
class ConvVAEConfig(ConvAEConfig):
    """As ConvAEConfig, plus beta: weight of the KL term in nats (1.0 = the ELBO, Keras)."""

    beta: float = spec(1.0, ge=0)


# --- deep.py ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DeepCAEConfig:
    """latent_dim: code dimensions (256; sigmoid-squashed for the CAE); filters: channels
    of every conv layer (128); n_down: stride-2 convs in the encoder after the input conv
    (4); n_up: stride-2 transposed convs in the decoder, image side = 4·2^n_up (3 → 32×32);
    seed_channels: channels of the decoder's 4×4 Dense output (64); loss: reconstruction
    loss ('bce' = nats per image, 'mse'/'l1' per pixel, 'ssim', 'bce_ssim'); ssim_weight:
    weight of the SSIM term in 'bce_ssim' (1.0). Input: images C×S×S, S = 4·2^n_up.
    warmup_bce_epochs: epochs trained on BCE before `loss` takes over (0 = off; L1 from a
    random start falls into the all-black per-pixel median and stays there)."""

    latent_dim: int = spec(256, ge=1)
    filters: int = spec(128, ge=1)
    n_down: int = spec(4, ge=1, le=8)
    n_up: int = spec(3, ge=1, le=8)
    seed_channels: int = spec(64, ge=1)
    loss: Loss = "bce"
    ssim_weight: float = spec(1.0, ge=0)
    warmup_bce_epochs: int = spec(0, ge=0)

    def validate(self, key: str) -> None:
        pass


@dataclass(frozen=True)
class DeepVAEConfig(DeepCAEConfig):
    """As DeepCAEConfig with latent_dim 32 (no sigmoid: mu, logvar), plus beta: weight of
    the KL term in nats (1.0 = the ELBO)."""

    latent_dim: int = spec(32, ge=1)
    beta: float = spec(1.0, ge=0)


# --- resconv.py ------------------------------------------------------------------------

@dataclass(frozen=True)
class ResConvAEConfig:
    """latent_dim: code dimensions (16); filters: channels per stride-2 stage (32, 64);
    blocks: residual blocks per stage in encoder and decoder (2); batchnorm: BN after every
    conv (true); residual: identity skips in the blocks (true; false = the same net as a
    plain deep conv AE); loss: reconstruction loss of the sigmoid decoder ('bce' = nats
    per image, 'mse'/'l1' per pixel, 'ssim', 'bce_ssim'); ssim_weight: weight of the SSIM
    term in 'bce_ssim' (1.0). Input: images C×H×W, H, W ≥ 2^len(filters).
    warmup_bce_epochs: epochs trained on BCE before `loss` takes over (0 = off; L1 from a
    random start falls into the all-black per-pixel median and stays there)."""

    latent_dim: int = spec(16, ge=1)
    filters: tuple[int, ...] = (32, 64)
    blocks: int = spec(2, ge=0, le=8)
    batchnorm: bool = True
    residual: bool = True
    loss: Loss = "bce"
    ssim_weight: float = spec(1.0, ge=0)
    warmup_bce_epochs: int = spec(0, ge=0)

    def validate(self, key: str) -> None:
        _check_filters(self.filters, key)


# --- mmd.py ----------------------------------------------------------------------------

@dataclass(frozen=True)
class MMDAEConfig:
    """latent_dim: code dimensions, null/0 = the data dimension (null); encoder: 'mlp' or
    'resnet' ('resnet'); hidden_size: width of the MLP's hidden layers (64); layers: hidden
    layers of the MLP encoder, mirrored in the decoder (2); res_blocks: residual blocks L
    per side (4); res_hidden_layers: hidden layers inside each block, 1 or 2 (1);
    res_expansion: block width as a multiple of its input width (8); lam: λ, weight of the
    MMD² term (10.0; MMD² is dimensionless, the recon term is squared error per sample);
    kernel: 'rbf' (sum of squared exponentials) or 'imq' (inverse multiquadratic);
    bandwidths: kernel scales h in code units, 3–7 values each twice the next smaller
    ((0.25, 0.5, 1, 2, 4)); output: 'linear' (standardized points) or 'sigmoid' (images).
    Input: any shape (flattened)."""

    latent_dim: int | None = spec(None, ge=0)
    encoder: Literal["mlp", "resnet"] = "resnet"
    hidden_size: int = spec(64, ge=1)
    layers: int = spec(2, ge=1)
    res_blocks: int = spec(4, ge=1, le=32)
    res_hidden_layers: int = spec(1, ge=1, le=2)
    res_expansion: int = spec(8, ge=1)
    lam: float = spec(10.0, ge=0)
    kernel: Literal["rbf", "imq"] = "rbf"
    bandwidths: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    output: Literal["linear", "sigmoid"] = "linear"

    def validate(self, key: str) -> None:
        check_bandwidths(self.bandwidths, f"{key}.bandwidths")


def check_bandwidths(values, key: str) -> None:
    """The multi-bandwidth kernel's rule (losses.mmd2): 3–7 positive bandwidths, each twice
    the next smaller, in any order. The MMD-AE config and the MMD study's grid both use it."""
    if not 3 <= len(values) <= 7:
        raise ConfigError(key, f"needs 3 to 7 bandwidths, got {len(values)}: {list(values)}")
    order = sorted(range(len(values)), key=lambda i: values[i])
    if values[order[0]] <= 0:
        raise ConfigError(f"{key}[{order[0]}]", f"must be > 0, got {values[order[0]]}")
    for lo, hi in zip(order, order[1:]):
        if not math.isclose(values[hi], 2 * values[lo], rel_tol=1e-9):
            raise ConfigError(f"{key}[{hi}]", f"bandwidth ratio must be 2, each twice the next smaller: "
                              f"{values[hi]} is not 2 × {values[lo]} (e.g. [0.25, 0.5, 1, 2, 4])")


# --- gan.py ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GANConfig:
    """latent_dim: dimensions of z ~ N(0, I) (64); backbone: the players' nets, 'conv'
    (DCGAN: stride-2 conv stages), 'mlp' (fully connected, gan_mlp.py) or 'deep' (the
    photo study's blocks, deep.py: G = the deep CAE/VAE decoder, D and E = its encoder
    with LeakyReLU(leak)) ('conv'); filters: channels of the stride-2 stages of the
    discriminator, mirrored by the generator ((64, 128); conv; 'deep' takes one value,
    the channels of every layer); n_down, n_up, seed_channels: as DeepCAEConfig (4, 3,
    64; deep only); convs_per_stage: convs per stage, extra ones stride
    1 (1; conv only); dense: hidden Dense width before D's logit, 0 = none (0; conv only);
    hidden_sizes: widths of G's hidden layers, z → … → C·H·W; D (and E) use them
    reversed ((256, 512); mlp only); batchnorm: BN in G and in D after its first layer
    (true; the mlp D never, see gan_mlp.py); leak: LeakyReLU slope in D (0.2); label_smoothing: real targets are 1 − this
    for D (0.0, one-sided); encoder_epochs: epochs of the inversion encoder E trained after
    the GAN, 0 = none (10); encoder_lr: its Adam learning rate (0.001); encoder_target: what
    E learns, 'image' (‖G(E(x)) − x‖² on training images) or 'latent' (‖E(G(z)) − z‖² on
    fresh prior draws: latent regression, which cannot collapse to one code) ('image'); encode_steps: Adam
    steps refining z in encode(), from E(x) or from 0 (20); encode_lr: their step size in
    z units (0.05). Input: images C×H×W in [0, 1], H, W ≥ 2^len(filters) for 'conv'.
    Learning rate, epochs and batch size come from `train` (DCGAN: lr 2e-4, batch 128)."""

    latent_dim: int = spec(64, ge=1)
    backbone: Literal["conv", "mlp", "deep"] = "conv"
    filters: tuple[int, ...] = (64, 128)
    n_down: int = spec(4, ge=1, le=8)
    n_up: int = spec(3, ge=1, le=8)
    seed_channels: int = spec(64, ge=1)
    convs_per_stage: int = spec(1, ge=1, le=4)
    dense: int = spec(0, ge=0)
    hidden_sizes: tuple[int, ...] = (256, 512)
    batchnorm: bool = True
    leak: float = spec(0.2, ge=0, lt=1)
    label_smoothing: float = spec(0.0, ge=0, lt=0.5)
    encoder_epochs: int = spec(10, ge=0)
    encoder_lr: float = spec(1e-3, gt=0)
    encoder_target: Literal["image", "latent"] = "image"
    encode_steps: int = spec(20, ge=0)
    encode_lr: float = spec(0.05, gt=0)

    def validate(self, key: str) -> None:
        _check_filters(self.filters, key)
        if self.backbone == "deep" and len(self.filters) != 1:
            raise ConfigError(f"{key}.filters", f"backbone 'deep' has one width for every layer; "
                              f"give one value, e.g. [128], got {list(self.filters)!r}")
        if not self.hidden_sizes or any(h < 1 for h in self.hidden_sizes):
            raise ConfigError(f"{key}.hidden_sizes", f"needs one or more positive widths, got {self.hidden_sizes!r}")


# --- stacked.py ------------------------------------------------------------------------

@dataclass(frozen=True)
class StackedAEConfig:
    """hidden_sizes: widths of the stacked layers before the code ((256,)); latent_dim:
    width of the last stacked layer, the code (64); activation: hidden non-linearity, 'relu' or 'sigmoid' ('relu'); output: 'sigmoid'
    (images in [0, 1]) or 'linear' (points) ('sigmoid'); loss: reconstruction loss of the
    input layer ('bce' = nats per image, 'mse'/'l1' per pixel, 'sse' per image; inner
    layers use MSE per unit); n_classes: classes of the softmax head (10); pretrain_epochs,
    head_epochs, finetune_epochs: epochs of each phase, 0 = train.epochs (0, 0, 0).
    Input: any shape (flattened); labels int64 in [0, n_classes)."""

    hidden_sizes: tuple[int, ...] = (256,)
    latent_dim: int = spec(64, ge=1)
    activation: Literal["relu", "sigmoid"] = "relu"
    output: Literal["linear", "sigmoid"] = "sigmoid"
    loss: Literal["bce", "mse", "sse", "l1"] = "bce"
    n_classes: int = spec(10, ge=2)
    pretrain_epochs: int = spec(0, ge=0)
    head_epochs: int = spec(0, ge=0)
    finetune_epochs: int = spec(0, ge=0)

    def validate(self, key: str) -> None:
        if any(h < 1 for h in self.hidden_sizes):
            raise ConfigError(f"{key}.hidden_sizes", f"needs positive widths, got {self.hidden_sizes!r}")
        if self.loss == "bce" and self.output != "sigmoid":
            raise ConfigError(f"{key}.loss", "'bce' needs output: sigmoid (values in [0, 1])")


# --- rbm.py ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RBMConfig:
    """latent_dim: binary hidden units, the code (128); cd_k: Gibbs steps k per negative sample (1);
    pcd: persistent contrastive divergence (False): the k steps continue persistent chains
    instead of restarting at the data (Tieleman 2008; scikit-learn's BernoulliRBM is PCD
    with k = 1); pcd_chains: number of persistent chains (0 = the first training batch's
    size, as scikit-learn); binarize: how grey levels in [0, 1] become the binary visible
    units ('dynamic': a fresh Bernoulli(grey level) draw per batch, train and test;
    'threshold': grey level > 0.5; 'none': grey levels read as probabilities, the
    pre-issue-14 behaviour; default 'dynamic'); sample_steps: Gibbs steps of sample()
    from noise (500); init_std: std of the initial weights (0.01, Hinton's guide). Input:
    data in [0, 1] of any shape with ≥ 2 axes (images), flattened."""

    latent_dim: int = spec(128, ge=1)
    cd_k: int = spec(1, ge=1, le=100)
    pcd: bool = False
    pcd_chains: int = spec(0, ge=0)
    binarize: Literal["dynamic", "threshold", "none"] = "dynamic"
    sample_steps: int = spec(500, ge=1)
    init_std: float = spec(0.01, gt=0)

    def validate(self, key: str) -> None:
        pass


# --- dbm.py ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DBMConfig:
    """latent_dim: binary units of the first hidden layer h1, the code encode() returns
    (500); top_dim: binary units of the second hidden layer h2 (1000); mf_steps: mean-field
    fixed-point iterations for the data-dependent statistics and encode() (10); cd_k: Gibbs
    sweeps v → h1 → (v, h2) per update of the persistent chains (1); pcd_chains: number of
    persistent chains (0 = the first training batch's size); pretrain_epochs: epochs of
    greedy RBM pre-training per layer before joint training, 0 = none (joint training from
    the random init) (5); pretrain_lr: learning rate of the pre-training phases, 0 = train.lr
    (0; Salakhutdinov & Hinton pre-train at 10× the joint rate); binarize: how grey levels become the binary visible units, as the
    RBM's ('dynamic', 'threshold', 'none'; 'dynamic'); sample_steps: Gibbs sweeps of sample()
    from noise (500); init_std: std of the initial weights (0.01). Input: data in [0, 1] of
    any shape with ≥ 2 axes (images), flattened. Epochs of joint training, lr, optimizer and
    batch size come from `train` (pre-training uses the same optimizer and batch size)."""

    latent_dim: int = spec(500, ge=1)
    top_dim: int = spec(1000, ge=1)
    mf_steps: int = spec(10, ge=1, le=200)
    cd_k: int = spec(1, ge=1, le=100)
    pcd_chains: int = spec(0, ge=0)
    pretrain_epochs: int = spec(5, ge=0)
    pretrain_lr: float = spec(0.0, ge=0, le=10)
    binarize: Literal["dynamic", "threshold", "none"] = "dynamic"
    sample_steps: int = spec(500, ge=1)
    init_std: float = spec(0.01, gt=0)

    def validate(self, key: str) -> None:
        pass


# The model names params.yaml may use; models/registry.py pairs each with its class (same
# keys, same order), and params validation reads only this table.
MODEL_CONFIGS: dict[str, type] = {
    "mlp_ae": MLPAEConfig,
    "mlp_vae": MLPVAEConfig,
    "conv_ae": ConvAEConfig,
    "conv_vae": ConvVAEConfig,
    "deep_cae": DeepCAEConfig,
    "deep_vae": DeepVAEConfig,
    "res_conv_ae": ResConvAEConfig,
    "mmd_ae": MMDAEConfig,
    "gan": GANConfig,
    "stacked_ae": StackedAEConfig,
    "rbm": RBMConfig,
    "dbm": DBMConfig,
}
