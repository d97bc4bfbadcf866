"""VGG-16 backbone at output stride 8 (DeepLab "vgg16_20M" layout, spec §4.1/4.2) and a tiny backbone.

Module names follow the official ``Layers.VGG16`` (``conv1_1 … conv5_3, fc6, fc7``) so that its
state dicts load without renaming.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["TinyBackbone", "VGG16Backbone"]

_CFG = [("conv1_1", 3, 64), ("conv1_2", 64, 64), "mp1", ("conv2_1", 64, 128), ("conv2_2", 128, 128), "mp2",
        ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), "mp3",
        ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), "mp4",
        ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3", 512, 512), "mp5"]


class VGG16Backbone(nn.Module):
    """VGG-16 with pool4/pool5 at stride 1, conv5 dilated by 2, fc6 3x3 (dilation ``fc6_dilation``)
    and fc7 1x1 with 1024 channels, Dropout2d(0.5) after both (§3.13).

    ``fc6_dilation=1``: stage-1/2 classifier; ``12``: DeepLab-LargeFOV.
    Shapes: ``(B, 3, H, W)`` Caffe-normalised BGR -> ``(B, 1024, ceil(H/8), ceil(W/8))``
    (41 x 41 for 321 x 321). 20 483 904 parameters.
    """

    out_channels = 1024

    def __init__(self, fc6_dilation: int = 1, dropout: float = 0.5) -> None:
        super().__init__()
        for item in _CFG:
            if isinstance(item, str):
                stride = 2 if item in ("mp1", "mp2", "mp3") else 1
                setattr(self, item, nn.MaxPool2d(3, stride, 1))
            else:
                name, cin, cout = item
                dil = 2 if name.startswith("conv5") else 1
                setattr(self, name, nn.Conv2d(cin, cout, 3, 1, padding=dil, dilation=dil))
        self.pool5a = nn.AvgPool2d(3, 1, 1)
        self.fc6 = nn.Conv2d(512, 1024, 3, 1, padding=fc6_dilation, dilation=fc6_dilation)
        self.dropout1 = nn.Dropout2d(dropout)
        self.fc7 = nn.Conv2d(1024, 1024, 1)
        self.dropout2 = nn.Dropout2d(dropout)

    def forward(self, x: Tensor) -> Tensor:
        for item in _CFG:
            if isinstance(item, str):
                x = getattr(self, item)(x)
            else:
                x = F.relu(getattr(self, item[0])(x))
        x = self.pool5a(x)
        x = self.dropout1(F.relu(self.fc6(x)))
        return self.dropout2(F.relu(self.fc7(x)))


class TinyBackbone(nn.Module):
    """Three 3x3 stride-2 convolutions (stride 8) with ``width`` channels and BatchNorm, for tests and the demo.

    Named ``conv1_1, conv2_1, conv3_1`` plus ``fc6``/``fc7`` like the VGG layout, so the same
    parameter-group rules and state-dict handling apply.
    Shapes: ``(B, 3, H, W)`` -> ``(B, width, ceil(H/8), ceil(W/8))``.
    """

    def __init__(self, width: int = 32, fc6_dilation: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.out_channels = width
        self.conv1_1 = nn.Conv2d(3, width // 2, 3, 2, 1)
        self.conv2_1 = nn.Conv2d(width // 2, width, 3, 2, 1)
        self.conv3_1 = nn.Conv2d(width, width, 3, 2, 1)
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(width // 2), nn.BatchNorm2d(width), nn.BatchNorm2d(width)
        self.fc6 = nn.Conv2d(width, width, 3, 1, padding=fc6_dilation, dilation=fc6_dilation)
        self.dropout1 = nn.Dropout2d(dropout)
        self.fc7 = nn.Conv2d(width, width, 1)
        self.dropout2 = nn.Dropout2d(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x / 64.0  # Caffe-normalised inputs are in about [-128, 128]
        x = F.relu(self.bn1(self.conv1_1(x)))
        x = F.relu(self.bn2(self.conv2_1(x)))
        x = F.relu(self.bn3(self.conv3_1(x)))
        x = self.dropout1(F.relu(self.fc6(x)))
        return self.dropout2(F.relu(self.fc7(x)))
