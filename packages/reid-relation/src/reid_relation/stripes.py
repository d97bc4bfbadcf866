"""Horizontal stripe max pooling (equation R1) and the partition bookkeeping."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from cvcore.errors import ConfigError

__all__ = ["check_feature_height", "rest_average", "stripe_max_pool"]


def check_feature_height(height: int, partitions: Sequence[int]) -> None:
    """Raise a clear error unless the feature-map ``height`` divides by every partition size.

    With the default (6, 4, 2) the feature height must be a multiple of 12: 384x128 input → 24
    rows (ResNet-50, last stride 1); the common 256x128 re-ID size gives 16 rows and fails.
    """
    lcm = math.lcm(*partitions)
    if height % lcm:
        raise ConfigError(f"feature-map height {height} is not divisible by {lcm} (partitions {tuple(partitions)}); "
                         f"use an input height that is a multiple of {lcm * 16} for a stride-16 backbone "
                         "(e.g. 384x128 or 192x64)")


def stripe_max_pool(x: torch.Tensor, n: int) -> torch.Tensor:
    """Global max pooling over each of ``n`` equal horizontal bands (R1).

    Args:
        x: ``(B, C, H, W)`` feature map, ``H % n == 0``.
        n: number of stripes.

    Returns:
        ``(B, n, C)``: ``out[:, i] = max over rows i*H/n .. (i+1)*H/n - 1 and all columns``.
    """
    b, c, h, w = x.shape
    if h % n:
        raise ValueError(f"feature height {h} is not divisible by {n} stripes")
    return x.view(b, c, n, h // n, w).amax(dim=(3, 4)).transpose(1, 2)


def rest_average(parts: torch.Tensor) -> torch.Tensor:
    """One-vs-rest average (R2): ``r_i = (Σ_{j≠i} p_j) / (n − 1)``, ``(B, n, C) -> (B, n, C)``."""
    n = parts.shape[1]
    if n < 2:
        raise ValueError("the rest average needs at least two stripes")
    return (parts.sum(dim=1, keepdim=True) - parts) / (n - 1)
