"""Squared Euclidean distances between pixel features and class prototypes (spec E11)."""

from __future__ import annotations

import torch

__all__ = ["squared_distances"]


def squared_distances(features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """``d_c(p) = ||v(p) - mu_c||^2`` for every pixel and class (E11).

    Args:
        features: ``(B, D, H, W)`` float (already at the resolution wanted: the model upsamples
            features to the input size *before* calling this, as the official code does).
        prototypes: ``(K, D)`` float.

    Returns:
        ``(B, K, H, W)`` non-negative squared distances (same dtype as ``features``).
    """
    if features.ndim != 4 or prototypes.ndim != 2 or features.shape[1] != prototypes.shape[1]:
        raise ValueError(
            f"expected features (B, D, H, W) and prototypes (K, D) with the same D, "
            f"got {tuple(features.shape)} and {tuple(prototypes.shape)}"
        )
    prototypes = prototypes.to(features.dtype)
    f2 = (features * features).sum(1, keepdim=True)  # (B, 1, H, W)
    p2 = (prototypes * prototypes).sum(1).view(1, -1, 1, 1)  # (1, K, 1, 1)
    cross = torch.einsum("bdhw,kd->bkhw", features, prototypes)
    return (f2 - 2.0 * cross + p2).clamp_min(0.0)
