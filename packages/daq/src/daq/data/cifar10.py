"""CIFAR-10 in the official python-pickle layout (``ROOT/cifar-10-batches-py/...``), read by
:class:`cvcore.data.classification.CIFAR`; DAQ transforms (flip + crop, ImageNet normalization)."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from daq.data.transforms import IMAGENET_MEAN, IMAGENET_STD, cifar_train_transform, normalize

__all__ = ["cifar10", "describe_layout"]


def describe_layout() -> str:
    """The expected on-disk layout (shown in error messages)."""
    from cvcore.data.classification import describe_layout as d

    return d("cifar")


def cifar10(root: str | Path, *, train: bool, augment: bool = True) -> Dataset:
    """The train (50k) or test (10k) split; items ``((3, 32, 32) float normalized, label)``."""
    from cvcore.data.classification import CIFAR

    tf = cifar_train_transform() if (train and augment) else normalize(IMAGENET_MEAN, IMAGENET_STD)
    return CIFAR(root, num_classes=10, train=train, transform=tf)
