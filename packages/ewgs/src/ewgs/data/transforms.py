"""Augmentation and normalization of §6 (tensor transforms on float ``(C, H, W)`` in [0, 1])."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["CIFAR_MEAN", "CIFAR_STD", "IMAGENET_MEAN", "IMAGENET_STD", "cifar_transform", "normalize"]

#: ``CIFAR10/train_quant.py`` normalization (note the 0.2023/0.1994/0.2010 std values of the official code).
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize(mean: Sequence[float], std: Sequence[float]) -> Callable[[torch.Tensor], torch.Tensor]:
    """``(x − mean) / std`` per channel for ``(C, H, W)`` tensors."""
    m = torch.tensor(mean).view(-1, 1, 1)
    s = torch.tensor(std).view(-1, 1, 1)
    return lambda x: (x - m) / s


def cifar_transform(train: bool, size: int = 32, padding: int = 4,
                    mean: Sequence[float] = CIFAR_MEAN, std: Sequence[float] = CIFAR_STD) -> Callable:
    """Train: RandomCrop(size, padding) → RandomHorizontalFlip → Normalize; test: Normalize."""
    from torchvision.transforms import v2

    norm = v2.Normalize(list(mean), list(std))
    if not train:
        return norm
    return v2.Compose([v2.RandomCrop(size, padding=padding), v2.RandomHorizontalFlip(), norm])
