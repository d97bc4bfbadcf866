"""Cosine (normalised) 1x1 classifier of the stage-3 DeepLab (spec E16, §3.26)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CosineClassifier"]


class CosineClassifier(nn.Module):
    """``s_c(p) = <phi(p), W_c> / (|phi(p)| |W_c|)`` in [-1, 1], no bias.

    Args:
        in_channels: D of phi.
        num_classes: C (21 for VOC).
    Shapes: ``(B, D, h, w)`` -> ``(B, C, h, w)``.
    """

    def __init__(self, in_channels: int, num_classes: int = 21, init_std: float = 0.01) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch_normal((num_classes, in_channels, 1, 1), init_std))

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(F.normalize(x, dim=1), F.normalize(self.weight, dim=1))


def torch_normal(shape: tuple[int, ...], std: float) -> Tensor:
    import torch

    return torch.randn(shape) * std
