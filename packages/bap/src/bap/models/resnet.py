"""Caffe-style ResNet-101 at output stride 8 (DeepLab-V2 "RES101", spec §3.34, §4.3).

Module names follow the official ``Layers.RES101`` (``layer1.conv1.conv``, ``layer2.block1.reduce.bn``
…) so its state dicts load without renaming. 42 500 160 parameters.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ResNet101OS8"]

BN_MOMENTUM = 0.001  # Caffe moving-average 0.999 in PyTorch semantics (§3.34); official 0.999


class ConvBnReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int, pad: int, dil: int, relu: bool,
                 bn_momentum: float) -> None:
        super().__init__()
        self.add_module("conv", nn.Conv2d(cin, cout, k, stride, pad, dil, bias=False))
        self.add_module("bn", nn.BatchNorm2d(cout, eps=1e-5, momentum=bn_momentum))
        if relu:
            self.add_module("relu", nn.ReLU())


class Bottleneck(nn.Module):
    """1x1 reduce (carries the stride, Caffe style) -> 3x3 dilated -> 1x1 increase, + shortcut."""

    def __init__(self, cin: int, cout: int, stride: int, dil: int, downsample: bool, bn_momentum: float) -> None:
        super().__init__()
        mid = cout // 4
        self.reduce = ConvBnReLU(cin, mid, 1, stride, 0, 1, True, bn_momentum)
        self.conv3x3 = ConvBnReLU(mid, mid, 3, 1, dil, dil, True, bn_momentum)
        self.increase = ConvBnReLU(mid, cout, 1, 1, 0, 1, False, bn_momentum)
        self.shortcut = ConvBnReLU(cin, cout, 1, stride, 0, 1, False, bn_momentum) if downsample else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.increase(self.conv3x3(self.reduce(x)))
        return F.relu(h + (self.shortcut(x) if self.shortcut is not None else x))


class ResLayer(nn.Sequential):
    def __init__(self, n: int, cin: int, cout: int, stride: int, dil: int, bn_momentum: float) -> None:
        super().__init__()
        for i in range(n):
            self.add_module(f"block{i + 1}", Bottleneck(cin if i == 0 else cout, cout, stride if i == 0 else 1,
                                                        dil, i == 0, bn_momentum))


class Stem(nn.Sequential):
    def __init__(self, bn_momentum: float) -> None:
        super().__init__()
        self.add_module("conv1", ConvBnReLU(3, 64, 7, 2, 3, 1, True, bn_momentum))
        self.add_module("pool", nn.MaxPool2d(3, 2, 1, ceil_mode=True))


class ResNet101OS8(nn.Sequential):
    """Stem + stages (3, 4, 23, 3) with strides 1, 2, 1, 1 and dilations 1, 1, 2, 4.

    Shapes: ``(B, 3, H, W)`` -> ``(B, 2048, h, w)`` with h = 41 for H = 321.
    """

    out_channels = 2048

    def __init__(self, bn_momentum: float = BN_MOMENTUM, blocks: tuple[int, int, int, int] = (3, 4, 23, 3)) -> None:
        super().__init__()
        self.add_module("layer1", Stem(bn_momentum))
        self.add_module("layer2", ResLayer(blocks[0], 64, 256, 1, 1, bn_momentum))
        self.add_module("layer3", ResLayer(blocks[1], 256, 512, 2, 1, bn_momentum))
        self.add_module("layer4", ResLayer(blocks[2], 512, 1024, 1, 2, bn_momentum))
        self.add_module("layer5", ResLayer(blocks[3], 1024, 2048, 1, 4, bn_momentum))
