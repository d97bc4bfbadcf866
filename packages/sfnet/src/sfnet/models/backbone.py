"""Feature extractors split into the four stages SFNet reads (conv4 = layer3, conv5 = layer4).

``resnet101``: torchvision's ResNet-101, split as in the official ``model.py`` (stage 1 =
conv1+bn1+relu+maxpool+layer1). Built with random weights unless ImageNet weights or a local
state-dict file are requested; nothing is downloaded unless ``pretrained="imagenet"``.

``tiny``: five small random convolutions with the same strides (4, 8, 16, 32) and 64/128 output
channels at stride 16/32, for tests and the CPU demo.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from cvcore.errors import CheckpointError

__all__ = ["Backbone", "build_backbone"]


class Backbone(nn.Module):
    """Four sequential stages; :meth:`forward` returns the stage-3 and stage-4 maps.

    Attributes:
        channels: ``(C3, C4)`` channel counts of the two returned maps.
    """

    def __init__(self, stage1: nn.Module, stage2: nn.Module, stage3: nn.Module, stage4: nn.Module,
                 channels: tuple[int, int]) -> None:
        super().__init__()
        self.stage1, self.stage2, self.stage3, self.stage4 = stage1, stage2, stage3, stage4
        self.channels = channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``B x 3 x H x W`` (ImageNet-normalised) -> ``(B x C3 x H/16 x W/16, B x C4 x H/32 x W/32)``."""
        f3 = self.stage3(self.stage2(self.stage1(x)))
        return f3, self.stage4(f3)


def _resnet101(pretrained: bool | str | os.PathLike[str]) -> Backbone:
    from torchvision.models import ResNet101_Weights, resnet101

    weights = None
    if pretrained is True or pretrained == "imagenet":
        weights = ResNet101_Weights.IMAGENET1K_V1  # downloads through torch.hub when not cached
    net = resnet101(weights=weights)
    if isinstance(pretrained, (str, os.PathLike)) and pretrained != "imagenet":
        p = Path(pretrained)
        if not p.is_file():
            raise CheckpointError(f"backbone weights not found: {p} (a torchvision resnet101 state dict)")
        try:
            state = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
            raise CheckpointError(f"cannot read backbone weights {p}: {exc}") from exc
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("fc.")]
        if missing or unexpected:
            raise CheckpointError(f"{p} is not a ResNet-101 state dict (missing {missing[:3]}, unexpected {unexpected[:3]})")
    stage1 = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1)
    return Backbone(stage1, net.layer2, net.layer3, net.layer4, (1024, 2048))


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU(inplace=True))


def _tiny(widths: tuple[int, int, int, int, int] = (16, 32, 48, 64, 128)) -> Backbone:
    a, b, c, d, e = widths
    return Backbone(nn.Sequential(_conv(3, a), _conv(a, b)), _conv(b, c), _conv(c, d), _conv(d, e), (d, e))


def build_backbone(name: str = "resnet101", pretrained: bool | str | os.PathLike[str] = False) -> Backbone:
    """``"resnet101"`` (optionally ``pretrained=True``/``"imagenet"``/a state-dict path) or ``"tiny"``."""
    if name == "resnet101":
        return _resnet101(pretrained)
    if name == "tiny":
        if pretrained not in (False, None, "", "none"):
            raise ValueError("the tiny backbone has no pretrained weights")
        return _tiny()
    raise ValueError(f"unknown backbone {name!r} (choose 'resnet101' or 'tiny')")
