"""DeepLabV3+ visual encoder of JoEm (spec §3.1-§3.5, §4): backbone → ASPP → decoder → v."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gzs3.models.backbones import build_backbone

__all__ = ["ASPP", "Decoder", "DeepLabV3PlusEncoder"]


def _cbr(cin: int, cout: int, k: int, dilation: int = 1) -> list[nn.Module]:
    pad = 0 if k == 1 else dilation
    return [nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _init_head(module: nn.Module) -> None:
    """Kaiming normal (fan_out, ReLU) convs, BN 1/0 (spec §3.4)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ASPP(nn.Module):
    """1x1 + three 3x3 atrous branches + image pooling; concat → 1x1 → BN → ReLU → Dropout(0.5)."""

    def __init__(self, cin: int, cout: int = 256, rates: Sequence[int] = (6, 12, 18), pooling_bn: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.branches = nn.ModuleList([nn.Sequential(*_cbr(cin, cout, 1))] +
                                      [nn.Sequential(*_cbr(cin, cout, 3, r)) for r in rates])
        pool = [nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False)]
        pool += [nn.BatchNorm2d(cout), nn.ReLU(inplace=True)] if pooling_bn else [nn.ReLU(inplace=True)]
        self.pool = nn.Sequential(*pool)
        self.project = nn.Sequential(*_cbr(cout * (len(rates) + 2), cout, 1), nn.Dropout(dropout))
        _init_head(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(F.interpolate(self.pool(x), size=x.shape[-2:], mode="bilinear", align_corners=True))
        return self.project(torch.cat(outs, 1))


class Decoder(nn.Module):
    """low-level 1x1 → 48; concat with upsampled ASPP → 3x3 → Drop 0.5 → 3x3 → Drop 0.1 = v."""

    def __init__(self, low_channels: int, aspp_channels: int = 256, low_proj: int = 48, out_channels: int = 256,
                 dropout: tuple[float, float] = (0.5, 0.1)) -> None:
        super().__init__()
        self.low = nn.Sequential(*_cbr(low_channels, low_proj, 1))
        self.fuse = nn.Sequential(*_cbr(aspp_channels + low_proj, out_channels, 3), nn.Dropout(dropout[0]),
                                  *_cbr(out_channels, out_channels, 3), nn.Dropout(dropout[1]))
        _init_head(self)

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        high = F.interpolate(high, size=low.shape[-2:], mode="bilinear", align_corners=True)
        return self.fuse(torch.cat([high, self.low(low)], 1))


class DeepLabV3PlusEncoder(nn.Module):
    """The visual encoder: ``forward(x (B,3,H,W))`` → ``(logits (B,K,H,W), features (B,D,H/4,W/4))``.

    ``features`` is v (after the decoder's second block, Dropout(0.1) active in training);
    ``logits`` come from a 1x1 classifier with bias, upsampled with ``align_corners=True``
    (used only by L_ce). With ``freeze_backbone_bn`` the backbone's BatchNorm layers stay in
    eval mode whenever the module is put in training mode (spec §3.5); their affine parameters
    still train.

    Full size (``backbone="resnet101"``, OS 16, 21 classes): 59 344 309 parameters.
    ``dropout=None`` keeps the official rates (0.5 ASPP, 0.5 / 0.1 decoder) for ResNet backbones
    and switches dropout off for the tiny one (a 16-channel net does not survive 0.5).
    """

    def __init__(self, num_classes: int, output_stride: int = 16, backbone: str = "resnet101",
                 freeze_backbone_bn: bool = True, pooling_bn: bool = True, pretrained: str | None = None,
                 feature_dim: int | None = None, width: int = 16, dropout: bool | None = None) -> None:
        super().__init__()
        tiny = backbone == "tiny"
        self.backbone = build_backbone(backbone, output_stride, width)
        aspp_ch = width if tiny else 256
        feature_dim = feature_dim or (width if tiny else 256)
        rates = (6, 12, 18) if output_stride == 16 else (12, 24, 36)
        if tiny:
            rates = (1, 2, 3) if output_stride == 16 else (2, 4, 6)
        drop = (not tiny) if dropout is None else dropout
        self.aspp = ASPP(self.backbone.high_channels, aspp_ch, rates, pooling_bn, 0.5 if drop else 0.0)
        self.decoder = Decoder(self.backbone.low_channels, aspp_ch, max(4, width // 2) if tiny else 48, feature_dim,
                               (0.5, 0.1) if drop else (0.0, 0.0))
        self.classifier = nn.Conv2d(feature_dim, num_classes, 1)
        _init_head(self.classifier)
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self.freeze_backbone_bn = freeze_backbone_bn
        if pretrained:
            self.backbone.load_imagenet(pretrained)  # type: ignore[operator]

    def train(self, mode: bool = True) -> DeepLabV3PlusEncoder:
        super().train(mode)
        if mode and self.freeze_backbone_bn:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """v: ``(B, D, H/4, W/4)``."""
        low, high = self.backbone(x)
        return self.decoder(self.aspp(high), low)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = self.features(x)
        logits = F.interpolate(self.classifier(v), size=x.shape[-2:], mode="bilinear", align_corners=True)
        return logits, v

    def parameter_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(backbone parameters, ASPP + decoder + classifier parameters) for the two SGD groups."""
        head = [*self.aspp.parameters(), *self.decoder.parameters(), *self.classifier.parameters()]
        return list(self.backbone.parameters()), head
