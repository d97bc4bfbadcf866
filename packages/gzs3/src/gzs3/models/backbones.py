"""Backbones returning (low-level stride-4 features, high-level features) (spec §3.2, §4).

``resnet101``: torchvision-layout ResNet-101 (built with ``weights=None``; nothing is downloaded),
output stride 16 (layer4 dilated, multi-grid (1, 2, 4) x 2 = dilations 2, 4, 8) or 8.
``tiny``: a few strided convolutions with the same interface, for tests and the demo.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

from cvcore.errors import CheckpointError

__all__ = ["ResNetBackbone", "TinyBackbone", "build_backbone"]

#: multi-grid of the last ResNet stage (spec §3.2)
MULTI_GRID = (1, 2, 4)


def _init_backbone(module: nn.Module) -> None:
    """Convs ~ N(0, sqrt(2 / (k*k*C_out))), BN weight 1 / bias 0 (spec §3.2)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ResNetBackbone(nn.Module):
    """ResNet-101 without avgpool/fc. ``forward(x (B,3,H,W))`` → ``(low (B,256,H/4,W/4),
    high (B,2048,H/os,W/os))``."""

    low_channels = 256
    high_channels = 2048

    def __init__(self, depth: int = 101, output_stride: int = 16) -> None:
        super().__init__()
        from torchvision.models import resnet

        if output_stride not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16, got {output_stride}")
        builder = {50: resnet.resnet50, 101: resnet.resnet101}[depth]
        net = builder(weights=None, replace_stride_with_dilation=[False, output_stride == 8, True])
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        base = 2 if output_stride == 16 else 4
        for block, grid in zip(self.layer4, MULTI_GRID * 3):
            d = base * grid
            block.conv2.dilation = (d, d)
            block.conv2.padding = (d, d)
        _init_backbone(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        low = self.layer1(x)
        return low, self.layer4(self.layer3(self.layer2(low)))

    def load_imagenet(self, path: str | os.PathLike[str]) -> list[str]:
        """Copy every matching key of a torchvision-layout ImageNet state dict (fc excluded).

        Returns the keys that were copied. Raises :class:`CheckpointError` for a missing or
        unreadable file or one with no matching key.
        """
        p = Path(path)
        if not p.is_file():
            raise CheckpointError(f"backbone weights not found: {p}")
        try:
            state = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"cannot read backbone weights {p}: {exc}") from exc
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise CheckpointError(f"{p} is not a state dict")
        own = self.state_dict()
        copied = {}
        for k, v in state.items():
            k = k.removeprefix("module.")
            if k.startswith("fc.") or k not in own or not isinstance(v, torch.Tensor):
                continue
            if own[k].shape != v.shape:
                raise CheckpointError(f"{p}: {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}")
            copied[k] = v
        if not copied:
            raise CheckpointError(f"{p} has no ResNet keys (conv1.weight, layer1.0.conv1.weight, ...)")
        own.update(copied)
        self.load_state_dict(own)
        return sorted(copied)


def _conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TinyBackbone(nn.Module):
    """Strided convs: stride-4 low-level ``(B, width, H/4, W/4)``, high-level ``(B, 2 width, H/16, W/16)``."""

    def __init__(self, width: int = 16, output_stride: int = 16) -> None:
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16, got {output_stride}")
        self.low_channels = width
        self.high_channels = 2 * width
        self.stem = nn.Sequential(_conv_bn(3, width, 2), _conv_bn(width, width, 2))
        self.deep = nn.Sequential(_conv_bn(width, 2 * width, 2),
                                  _conv_bn(2 * width, 2 * width, 2 if output_stride == 16 else 1))
        _init_backbone(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = self.stem(x)
        return low, self.deep(low)


def build_backbone(name: str, output_stride: int = 16, width: int = 16) -> nn.Module:
    """``"resnet101"``, ``"resnet50"`` or ``"tiny"``."""
    if name == "resnet101":
        return ResNetBackbone(101, output_stride)
    if name == "resnet50":
        return ResNetBackbone(50, output_stride)
    if name == "tiny":
        return TinyBackbone(width, output_stride)
    raise ValueError(f"unknown backbone {name!r}: use resnet101, resnet50 or tiny")
