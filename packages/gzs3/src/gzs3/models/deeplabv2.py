"""DeepLab-V2 visual encoder of JoEm's SPNet setting (spec §4 "SPNet-setting variant", §6).

Caffe-layout ResNet-101 ("MSRA" bottleneck: the stride sits on the first 1x1 conv, the stem's
max-pool uses ``ceil_mode=True``), output stride 8 (the last two stages dilated 2 and 4). The
ASPP has four 3x3 atrous branches (rates 6, 12, 18, 24, with bias) whose outputs are *summed*;
with 600 output channels followed by ReLU this is the visual feature ``v`` (600-d at stride 8),
and a 1x1 classifier with bias (600 → 21) gives the logits used only by L_ce.

Full size (21 classes): 86 751 981 parameters = ResNet-101 42 500 160 + ASPP 44 239 200 +
classifier 12 621; its semantic encoder is ``Linear(600, 600)`` (360 600).

Module names follow the authors' ``model/deeplabv2.py`` state-dict layout
(``backbone.layer1.conv1.conv``, ``backbone.layer2.block1.reduce.conv``, ``aspp.c0`` ...), except
that their ``pred_conv`` is our ``classifier``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DeepLabV2ASPP", "DeepLabV2Encoder", "MSRAResNet"]

#: BatchNorm of the Caffe-converted ResNet: eps 1e-5, PyTorch momentum 1 - 0.999
BN_MOMENTUM = 1.0 - 0.999
EXPANSION = 4


class _ConvBN(nn.Sequential):
    """conv (no bias) → BN → optional ReLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                 relu: bool = True) -> None:
        super().__init__()
        self.add_module("conv", nn.Conv2d(cin, cout, k, stride, padding, dilation, bias=False))
        self.add_module("bn", nn.BatchNorm2d(cout, eps=1e-5, momentum=BN_MOMENTUM))
        if relu:
            self.add_module("relu", nn.ReLU())


class _Bottleneck(nn.Module):
    """1x1 (stride) → 3x3 (dilation) → 1x1, projection shortcut on the first block of a stage."""

    def __init__(self, cin: int, cout: int, stride: int, dilation: int, downsample: bool) -> None:
        super().__init__()
        mid = cout // EXPANSION
        self.reduce = _ConvBN(cin, mid, 1, stride)
        self.conv3x3 = _ConvBN(mid, mid, 3, 1, dilation, dilation)
        self.increase = _ConvBN(mid, cout, 1, relu=False)
        self.shortcut = _ConvBN(cin, cout, 1, stride, relu=False) if downsample else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.increase(self.conv3x3(self.reduce(x))) + self.shortcut(x))


class _Stage(nn.Sequential):
    def __init__(self, n: int, cin: int, cout: int, stride: int, dilation: int) -> None:
        super().__init__()
        for i in range(n):
            self.add_module(f"block{i + 1}", _Bottleneck(cin if i == 0 else cout, cout, stride if i == 0 else 1,
                                                         dilation, i == 0))


class _Stem(nn.Sequential):
    def __init__(self, cout: int) -> None:
        super().__init__()
        self.add_module("conv1", _ConvBN(3, cout, 7, 2, 3))
        self.add_module("pool", nn.MaxPool2d(3, 2, 1, ceil_mode=True))


class MSRAResNet(nn.Sequential):
    """Caffe-layout ResNet at output stride 8: ``(B, 3, H, W)`` → ``(B, 32 w, ~H/8, ~W/8)``.

    ``blocks=(3, 4, 23, 3)``, ``width=64`` is ResNet-101 (2048 output channels). Spatial size:
    ``s → ceil((ceil(s / 2) - 1) / 2) + 1`` after the stem, halved again (rounding up) by layer3;
    321 → 41.
    """

    def __init__(self, blocks: Sequence[int] = (3, 4, 23, 3), width: int = 64) -> None:
        super().__init__()
        ch = [width * 2 ** p for p in range(6)]
        self.add_module("layer1", _Stem(ch[0]))
        self.add_module("layer2", _Stage(blocks[0], ch[0], ch[2], 1, 1))
        self.add_module("layer3", _Stage(blocks[1], ch[2], ch[3], 2, 1))
        self.add_module("layer4", _Stage(blocks[2], ch[3], ch[4], 1, 2))
        self.add_module("layer5", _Stage(blocks[3], ch[4], ch[5], 1, 4))
        self.out_channels = ch[5]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # N(0, sqrt(2 / (k k C_out))), as the V3+ backbone (spec §3.2)
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


class DeepLabV2ASPP(nn.Module):
    """Sum of 3x3 atrous convs with bias, ``c0 .. c{n-1}``: ``(B, C_in, h, w)`` → ``(B, C_out, h, w)``."""

    def __init__(self, cin: int, cout: int, rates: Sequence[int] = (6, 12, 18, 24)) -> None:
        super().__init__()
        for i, r in enumerate(rates):
            conv = nn.Conv2d(cin, cout, 3, 1, padding=r, dilation=r, bias=True)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            self.add_module(f"c{i}", conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = None
        for conv in self.children():
            y = conv(x)
            out = y if out is None else out + y
        assert out is not None
        return out


class DeepLabV2Encoder(nn.Module):
    """SPNet-setting visual encoder: ``forward(x (B,3,H,W))`` → ``(logits (B,K,H,W), features (B,D,h,w))``.

    ``features`` = ReLU(ASPP sum), D = 600 at stride 8; ``logits`` = 1x1 classifier on them,
    upsampled to the input size with ``align_corners=True`` (as the trainer does before L_ce).

    Args:
        num_classes: classifier outputs (21 in the official config).
        backbone: ``"resnet101"`` (blocks 3/4/23/3, width 64) or ``"tiny"`` (one block per
            stage, base width ``width``; ASPP rates 1/2/3/4) built from the same classes.
        feature_dim: D (600 for resnet101; default ``4 * width`` for tiny).
        freeze_backbone_bn: backbone BN layers stay in eval mode in training (config
            ``freeze_backbone_bn: true``); affine parameters still train.
        pretrained: torchvision-free ImageNet state dict with these backbone keys (optional).
    """

    def __init__(self, num_classes: int, backbone: str = "resnet101", feature_dim: int | None = None,
                 freeze_backbone_bn: bool = True, pretrained: str | os.PathLike[str] | None = None,
                 width: int = 8, rates: Sequence[int] | None = None) -> None:
        super().__init__()
        if backbone == "resnet101":
            self.backbone = MSRAResNet((3, 4, 23, 3), 64)
            feature_dim = feature_dim or 600
            rates = rates or (6, 12, 18, 24)
        elif backbone == "tiny":
            self.backbone = MSRAResNet((1, 1, 1, 1), width)
            feature_dim = feature_dim or 4 * width
            rates = rates or (1, 2, 3, 4)
        else:
            raise ValueError(f"unknown DeepLab-V2 backbone {backbone!r}: use resnet101 or tiny")
        self.aspp = DeepLabV2ASPP(self.backbone.out_channels, feature_dim, rates)
        self.classifier = nn.Conv2d(feature_dim, num_classes, 1)
        nn.init.kaiming_normal_(self.classifier.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.classifier.bias)
        self.num_classes, self.feature_dim = num_classes, feature_dim
        self.freeze_backbone_bn = freeze_backbone_bn
        if pretrained:
            self.load_backbone(pretrained)

    def load_backbone(self, path: str | os.PathLike[str]) -> list[str]:
        """Copy the backbone keys present in a state dict file (``backbone.`` / ``module.`` prefixes
        allowed, anything else ignored). Returns the copied keys; :class:`CheckpointError` if none."""
        from cvcore.errors import CheckpointError

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise CheckpointError(f"backbone weights not found: {path}") from None
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"cannot read backbone weights {path}: {exc}") from exc
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        own = self.backbone.state_dict()
        copied = {}
        for k, v in (state.items() if isinstance(state, dict) else ()):
            k = k.removeprefix("module.").removeprefix("backbone.")
            if k in own and isinstance(v, torch.Tensor):
                if own[k].shape != v.shape:
                    raise CheckpointError(f"{path}: {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}")
                copied[k] = v
        if not copied:
            raise CheckpointError(f"{path} has no DeepLab-V2 backbone keys (layer1.conv1.conv.weight, ...)")
        own.update(copied)
        self.backbone.load_state_dict(own)
        return sorted(copied)

    def train(self, mode: bool = True) -> DeepLabV2Encoder:
        super().train(mode)
        if mode and self.freeze_backbone_bn:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """v: ``(B, D, h, w)`` at stride 8."""
        return F.relu(self.aspp(self.backbone(x)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = self.features(x)
        logits = F.interpolate(self.classifier(v), size=x.shape[-2:], mode="bilinear", align_corners=True)
        return logits, v

    def parameter_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(backbone parameters, ASPP + classifier parameters) for the 1x / 10x SGD groups."""
        return list(self.backbone.parameters()), [*self.aspp.parameters(), *self.classifier.parameters()]
