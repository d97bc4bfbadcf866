"""The trainable adaptation blocks on conv4 / conv5 features (official ``adap_layer_feat3/4``)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["AdaptationBlock"]


class AdaptationBlock(nn.Module):
    """Two residual steps ``x <- x + ReLU(BN(Conv_k(x)))`` keeping the channel count (spec section 4).

    Sub-module names ``conv1``/``conv2`` (each ``Sequential(Conv2d, BatchNorm2d, ReLU)``) follow the
    official state-dict layout, so the published ``state_dict1``/``state_dict2`` load directly.

    Args:
        channels: C (1024 for layer3, 2048 for layer4).
        kernel_size: odd kernel size (5 for layer3, 3 for layer4), "same" padding, with bias.

    Shapes: ``B x C x H x W -> B x C x H x W``.
    """

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
        pad = kernel_size // 2
        self.conv1 = nn.Sequential(nn.Conv2d(channels, channels, kernel_size, padding=pad),
                                   nn.BatchNorm2d(channels), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(channels, channels, kernel_size, padding=pad),
                                   nn.BatchNorm2d(channels), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.conv1(x)
        return x + self.conv2(x)
