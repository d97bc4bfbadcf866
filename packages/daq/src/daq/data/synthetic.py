"""Seeded synthetic 10-class images (demo and tests), from :class:`cvcore.data.classification.SyntheticClassification`."""

from __future__ import annotations

from torch.utils.data import Dataset

from daq.data.transforms import normalize

__all__ = ["synthetic"]


def synthetic(n: int, *, train: bool, size: int = 32, channels: int = 3, num_classes: int = 10, seed: int = 0,
              noise: float = 40.0) -> Dataset:
    """``n`` images ``(channels, size, size)`` normalized to about zero mean / unit std."""
    from cvcore.data.classification import SyntheticClassification

    shape = (size, size) if channels == 1 else (size, size, channels)
    return SyntheticClassification(n, shape=shape, num_classes=num_classes, noise=noise, seed=seed, train=train,
                                   transform=normalize((0.5,) * channels, (0.25,) * channels))
