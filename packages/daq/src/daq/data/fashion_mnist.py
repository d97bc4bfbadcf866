"""Fashion-MNIST from its four IDX files (read by :class:`cvcore.data.classification.FashionMNIST`)."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from daq.data.transforms import normalize

__all__ = ["FMNIST_MEAN", "FMNIST_STD", "describe_layout", "fashion_mnist"]

#: Training-set pixel mean/std of Fashion-MNIST.
FMNIST_MEAN, FMNIST_STD = (0.2860,), (0.3530,)


def describe_layout() -> str:
    from cvcore.data.classification import describe_layout as d

    return d("fashion-mnist")


def fashion_mnist(root: str | Path, *, train: bool) -> Dataset:
    """``((1, 28, 28) float normalized, label)`` items, 60k train / 10k test."""
    from cvcore.data.classification import FashionMNIST

    return FashionMNIST(root, train=train, transform=normalize(FMNIST_MEAN, FMNIST_STD))
