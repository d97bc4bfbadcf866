"""ResNet trunks with last stride 1 (official ``resnet.py``; torchvision layout, so ImageNet weights map 1:1)."""

from __future__ import annotations

import os

import torch
from torch import nn

__all__ = ["BACKBONES", "build_backbone"]

BACKBONES = ("resnet50", "resnet18")


class Trunk(nn.Module):
    """conv1 … layer4 of a torchvision ResNet (no avgpool / fc); ``out_channels`` of layer4."""

    def __init__(self, net: nn.Module, out_channels: int) -> None:
        super().__init__()
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
            self.add_module(name, getattr(net, name))
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def build_backbone(name: str = "resnet50", last_stride: int = 1, width: int = 64,
                   pretrained: bool | str | os.PathLike[str] = False) -> Trunk:
    """ResNet-50 / ResNet-18 trunk; the first ``layer4`` block gets stride ``last_stride``.

    Args:
        width: channels of ``layer1`` (64 = the standard network; smaller = narrow variant for
            tests and the demo, built with the same torchvision blocks).
        pretrained: False, True (torchvision ImageNet weights from the local torch hub cache — no
            download is attempted when offline) or a path to a torchvision state dict.

    Output: ``(B, 8·width·e, H/16, W/16)`` for last stride 1 (e = 4 for ResNet-50, 1 for ResNet-18).
    """
    from torchvision.models import resnet18, resnet50
    from torchvision.models.resnet import BasicBlock, Bottleneck

    if name not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {name!r}")
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
    net = resnet50() if name == "resnet50" else resnet18()
    block = Bottleneck if name == "resnet50" else BasicBlock
    if width != 64:
        layers = [2, 2, 2, 2] if name == "resnet18" else [3, 4, 6, 3]
        net.inplanes = width
        net.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        net.bn1 = nn.BatchNorm2d(width)
        net.layer1 = net._make_layer(block, width, layers[0])
        net.layer2 = net._make_layer(block, 2 * width, layers[1], stride=2)
        net.layer3 = net._make_layer(block, 4 * width, layers[2], stride=2)
        net.layer4 = net._make_layer(block, 8 * width, layers[3], stride=2)
    if pretrained:
        if width != 64:
            raise ValueError("ImageNet weights exist only for width 64")
        if pretrained is True:
            from torchvision.models import ResNet18_Weights, ResNet50_Weights

            w = ResNet50_Weights.IMAGENET1K_V1 if name == "resnet50" else ResNet18_Weights.IMAGENET1K_V1
            sd = w.get_state_dict(progress=False)
        else:
            sd = torch.load(pretrained, map_location="cpu", weights_only=True)
        net.load_state_dict({k: v for k, v in sd.items() if not k.startswith("fc.")}, strict=False)
    first = net.layer4[0]
    conv = first.conv2 if name == "resnet50" else first.conv1  # the strided conv of the block
    conv.stride = (last_stride, last_stride)
    if first.downsample is not None:
        first.downsample[0].stride = (last_stride, last_stride)
    return Trunk(net, 8 * width * block.expansion)
