"""Seeding every generator, with an optional deterministic mode."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["make_generator", "seed_everything", "seed_worker"]


def seed_everything(seed: int, *, deterministic: bool = False) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA); return the seed.

    With ``deterministic=True`` cuDNN benchmarking is switched off and torch is asked to use
    deterministic algorithms (raising where none exists).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True)
    return seed


def seed_worker(worker_id: int) -> None:
    """``DataLoader(worker_init_fn=seed_worker)``: derive NumPy/Python seeds from torch's."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (for samplers and DataLoaders)."""
    g = torch.Generator()
    g.manual_seed(seed)
    return g
