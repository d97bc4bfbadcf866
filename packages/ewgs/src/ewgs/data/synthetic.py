"""Seeded synthetic 10-class images (demo and tests; no download)."""

from __future__ import annotations

from cvcore.data.classification import SyntheticClassification

__all__ = ["synthetic"]


def synthetic(n: int = 1024, *, train: bool = True, shape: tuple[int, ...] = (28, 28), num_classes: int = 10,
              noise: float = 40.0, seed: int = 0) -> SyntheticClassification:
    """Learnable synthetic images: fixed smooth class patterns plus noise (see cvcore); centered to [-1, 1]."""
    return SyntheticClassification(n, shape=shape, num_classes=num_classes, noise=noise, seed=seed, train=train,
                                   transform=lambda x: (x - 0.5) * 2)
