"""Stage-3 segmentation networks with the cosine classifier (spec §4.2, §4.3, E16, §3.26, §3.33)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from bap.cosine_classifier import CosineClassifier
from bap.models.classifier import build_backbone, make_param_groups
from bap.models.resnet import BN_MOMENTUM, ResNet101OS8

__all__ = ["DeepLabLargeFOV", "DeepLabV2ASPP", "SegmentationNet"]


class SegmentationNet(nn.Module):
    """Common interface: ``features(x) -> phi``, ``cosine_logits(x, out_size) -> s`` in [-1, 1]."""

    classifier: CosineClassifier
    scratch: list[nn.Module]

    def features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def cosine_logits(self, x: Tensor, out_size: tuple[int, int] | None = None) -> Tensor:
        """``(B, 3, H, W)`` -> ``(B, C, h, w)`` at stride 8, or bilinearly (align_corners=True)
        upsampled to ``out_size`` (§3.26)."""
        s = self.classifier(self.features(x))
        if out_size is not None:
            s = F.interpolate(s, size=tuple(out_size), mode="bilinear", align_corners=True)
        return s

    def forward(self, x: Tensor) -> Tensor:
        """Cosine logits at the input resolution."""
        return self.cosine_logits(x, tuple(x.shape[-2:]))

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        return make_param_groups(self, self.scratch, lr, weight_decay)

    def load_official_state_dict(self, sd: dict[str, Tensor]) -> None:
        from bap.official import load_official_state_dict

        load_official_state_dict(self, sd)


class DeepLabLargeFOV(SegmentationNet):
    """DeepLab-V1 LargeFOV (VGG-16, fc6 dilation 12) + cosine classifier 1024 -> C.

    Full size: 20 505 408 parameters; ``backbone="tiny"`` for tests/demo.
    """

    def __init__(self, num_classes: int = 21, backbone: str = "vgg16", width: int = 32) -> None:
        super().__init__()
        self.backbone = build_backbone(backbone, 12 if backbone == "vgg16" else 2, width)
        self.classifier = CosineClassifier(self.backbone.out_channels, num_classes)
        self.scratch = [self.classifier]

    def features(self, x: Tensor) -> Tensor:
        return self.backbone(x)


class DeepLabV2ASPP(SegmentationNet):
    """DeepLab-V2-style head on ResNet-101: four 3x3 atrous convs (6, 12, 18, 24; 2048 -> 256, no bias)
    summed + ReLU = phi, cosine classifier 256 -> C (§3.33). 61 379 904 parameters.

    Args:
        bn_momentum: 0.001 (Caffe 0.999, default) or 0.999 (``compat="official"``, §3.34).
    """

    RATES = (6, 12, 18, 24)

    def __init__(self, num_classes: int = 21, bn_momentum: float = BN_MOMENTUM, compat: str = "default",
                 blocks: tuple[int, int, int, int] = (3, 4, 23, 3)) -> None:
        super().__init__()
        if compat == "official":
            bn_momentum = 0.999
        self.backbone = ResNet101OS8(bn_momentum, blocks)
        for i, r in enumerate(self.RATES, 1):
            conv = nn.Conv2d(2048, 256, 3, 1, padding=r, dilation=r, bias=False)
            nn.init.normal_(conv.weight, std=0.01)
            setattr(self, f"c{i}", conv)
        self.classifier = CosineClassifier(256, num_classes)
        self.scratch = [self.c1, self.c2, self.c3, self.c4, self.classifier]

    def features(self, x: Tensor) -> Tensor:
        h = self.backbone(x)
        return F.relu(self.c1(h) + self.c2(h) + self.c3(h) + self.c4(h))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())



