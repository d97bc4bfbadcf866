"""Stage-1/2 classification network with background-aware pooling (``Labeler``, spec §4.1, E5, E6)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bap.background_aware_pooling import BackgroundAwarePooling, BAPOutput
from bap.models.vgg import TinyBackbone, VGG16Backbone

__all__ = ["BAPClassifier", "build_backbone"]


def build_backbone(name: str, fc6_dilation: int, width: int = 32) -> nn.Module:
    if name == "vgg16":
        return VGG16Backbone(fc6_dilation=fc6_dilation)
    if name == "tiny":
        return TinyBackbone(width=width, fc6_dilation=fc6_dilation)
    raise ValueError(f"unknown backbone {name!r} (vgg16, tiny)")


class BAPClassifier(nn.Module):
    """Backbone + BAP + 1x1 classifier without bias (init N(0, 0.01^2), §3.11).

    Args:
        num_classes: L + 1 (21 for VOC, background = 0).
        backbone: ``"vgg16"`` (full size, 20 505 408 parameters) or ``"tiny"``.
        grid_size, bins, pooling: see :class:`BackgroundAwarePooling`.
    """

    def __init__(self, num_classes: int = 21, backbone: str = "vgg16", grid_size: int = 4,
                 bins: tuple[int, int] = (2, 2), pooling: Literal["bap", "gap"] = "bap", width: int = 32,
                 roi_align_corners: bool = False) -> None:
        super().__init__()
        self.backbone = build_backbone(backbone, 1, width)
        d = self.backbone.out_channels
        self.classifier = nn.Conv2d(d, num_classes, 1, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.01)
        self.pool = BackgroundAwarePooling(grid_size, bins, mode=pooling, roi_align_corners=roi_align_corners)
        self.num_classes = num_classes

    @property
    def class_weights(self) -> Tensor:
        """``W`` ``(L + 1, D)``."""
        return self.classifier.weight[:, :, 0, 0]

    def features(self, x: Tensor) -> Tensor:
        """``(B, 3, H, W)`` normalised -> ``f`` ``(B, D, h, w)``."""
        return self.backbone(x)

    def pooled(self, images: Tensor, boxes: Tensor, box_image_idx: Tensor, bg_mask: Tensor) -> BAPOutput:
        return self.pool(self.features(images), boxes, box_image_idx, bg_mask, tuple(images.shape[-2:]))

    def forward(self, images: Tensor, boxes: Tensor, box_image_idx: Tensor, bg_mask: Tensor) -> tuple[Tensor, Tensor]:
        """E5 inputs: ``logits (4K + J, L + 1)`` and ``targets (4K + J,)``."""
        out = self.pooled(images, boxes, box_image_idx, bg_mask)
        x, t = out.samples()
        return x @ self.class_weights.T, t

    def cams(self, x: Tensor) -> Tensor:
        """E6 on the feature map: ``max(0, W f)`` ``(B, L + 1, h, w)``."""
        return F.relu(self.classifier(self.features(x)))

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """AffinityNet groups (§3.12): pretrained weights x1 (wd), biases x2 (no wd), classifier x10."""
        return make_param_groups(self, [self.classifier], lr, weight_decay)

    def load_official_state_dict(self, sd: dict[str, Tensor]) -> None:
        """Load an official ``Labeler`` state dict (keys ``backbone.conv1_1.weight`` … ``classifier.weight``)."""
        from bap.official import load_official_state_dict

        load_official_state_dict(self, sd)


def make_param_groups(model: nn.Module, scratch: list[nn.Module], lr: float, weight_decay: float) -> list[dict]:
    groups: tuple[list, list, list, list] = ([], [], [], [])
    scratch_ids = {id(m) for s in scratch for m in s.modules()}
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)) or hasattr(m, "weight") and id(m) in scratch_ids:
            new = id(m) in scratch_ids
            if getattr(m, "weight", None) is not None and isinstance(m.weight, nn.Parameter):
                groups[2 if new else 0].append(m.weight)
            if getattr(m, "bias", None) is not None:
                groups[3 if new else 1].append(m.bias)
    spec = [(1, weight_decay), (2, 0.0), (10, weight_decay), (20, 0.0)]
    return [{"params": p, "lr": lr * mult, "initial_lr": lr * mult, "weight_decay": wd, "lr_mult": mult}
            for p, (mult, wd) in zip(groups, spec) if p]


def caffe_normalize(image_u8: Tensor) -> Tensor:
    """§3.1: RGB uint8 ``(B, 3, H, W)`` or ``(3, H, W)`` -> BGR float minus (104.008, 116.669, 122.675)."""
    mean = torch.tensor([104.008, 116.669, 122.675]).view(3, 1, 1)
    x = image_u8.float().flip(-3)
    return x - mean.to(x.device)
