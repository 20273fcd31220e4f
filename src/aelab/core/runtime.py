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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # data stages need no torch
        pass
