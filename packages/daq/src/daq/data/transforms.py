"""Tensor transforms of the official recipes (spec §3, §6)."""

from __future__ import annotations

import torch

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "cifar_train_transform", "normalize"]

#: The official CIFAR-10 script normalizes with the **ImageNet** statistics (spec §3).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize(mean: tuple[float, ...], std: tuple[float, ...]):
    """``(C, H, W)`` float in [0, 1] -> ``(x - mean) / std`` per channel."""
    m = torch.tensor(mean).view(-1, 1, 1)
    s = torch.tensor(std).view(-1, 1, 1)

    def apply(x: torch.Tensor) -> torch.Tensor:
        return (x - m) / s

    return apply


def cifar_train_transform(size: int = 32, padding: int = 4, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """RandomHorizontalFlip(0.5), RandomCrop(size, zero padding 4) on [0, 1] pixels, then Normalize."""
    norm = normalize(mean, std)

    def apply(x: torch.Tensor) -> torch.Tensor:
        if torch.rand(()) < 0.5:
            x = x.flip(-1)
        x = torch.nn.functional.pad(x, (padding, padding, padding, padding))
        i, j = torch.randint(0, 2 * padding + 1, (2,)).tolist()
        return norm(x[:, i:i + size, j:j + size])

    return apply
