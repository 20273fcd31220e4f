"""Test-wide settings: one torch thread (two multi-threaded processes on a 2-core machine
run 10–50× slower), the Agg backend, fixed seeds."""

from __future__ import annotations

import os

os.environ.setdefault("AELAB_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    torch.set_num_threads(1)
    yield
