"""Process-level runtime settings: seeds, thread count, device. Nothing at import time."""

from __future__ import annotations

import logging
import os
import random

import numpy as np

log = logging.getLogger("aelab")


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")


def thread_count(param_threads: int) -> int:
    """AELAB_THREADS (tests, queued experiments) beats params; 0 means all cores."""
    env = os.environ.get("AELAB_THREADS")
    n = int(env) if env else param_threads
    return n if n > 0 else (os.cpu_count() or 1)


def configure_torch(threads: int, device: str = "auto"):
    """Set torch threads and pick the device: CUDA when present (and allowed), else CPU."""
    import torch

    torch.set_num_threads(thread_count(threads))
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            from .errors import ConfigError

            raise ConfigError("runtime.device", "'cuda' requested but no CUDA device is available")
        dev = torch.device("cuda")
    else:
        dev = torch.device("cpu")
    log.info("torch %s on %s with %d thread(s)", torch.__version__, dev, torch.get_num_threads())
    return dev


def cpu_layout(model, device):
    """The model with its 2-D convolution weights channels-last when it runs on a CPU.

    oneDNN's CPU convolutions otherwise reorder NCHW activations to their own layout at
    every call; with channels-last weights they run on NHWC directly and every later
    activation stays NHWC (inputs may stay NCHW). Measured on the 2-core boxes: 500-image
    reconstructions of the conv models 1.2–2.2× faster (outputs within 2e-6 of NCHW's);
    training steps in bf16 autocast: the MNIST conv family (batch 16) 1.25–1.6×, the photo
    nets (batch 64) 1.03–1.10×; in fp32, as they train now (not alternated): the conv VAE
    1.24×, the residual twin 1.22×, the photo CAE 1.40×. Models without
    Conv2d/ConvTranspose2d (MLPs, RBMs) are returned as they are; on CUDA the layout is
    kept (not measured there). Values are unchanged: only the strides of the conv weights
    differ, though BatchNorm's channels-last CPU kernel rounds differently (README, layout
    section)."""
    import torch

    if torch.device(device).type != "cpu" or not has_conv(model):
        return model
    return model.to(memory_format=torch.channels_last)


def has_conv(model) -> bool:
    """Whether the model has a 2-D convolution (the layers whose layout cpu_layout changes)."""
    import torch

    return any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in model.modules())


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # data stages need no torch
        pass
