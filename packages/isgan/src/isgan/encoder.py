"""The identity-related and identity-unrelated encoders (spec (I1)-(I4), section 4.1).

One shared stem (ResNet conv1 ... layer2, layer3[0]) feeds six branches (``layer3[1:]`` +
``layer4``): three for the identity-related code φ_R (max pooling) and three for the
identity-unrelated code φ_U (average pooling). Branch 0 keeps layer4's stride (global feature
only); branches 1 and 2 use a stride-1 layer4 and add 2 and 3 horizontal stripes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BRANCH_STRIPES", "Encoder", "EncoderOutput", "band_pool", "build_backbone"]

# (stripes per branch): branch 0 global only, branch 1 global + 2, branch 2 global + 3 -> 8 parts
BRANCH_STRIPES = (0, 2, 3)
NUM_PARTS = sum(1 + s for s in BRANCH_STRIPES)


@dataclass
class EncoderOutput:
    """Everything the encoders compute for a batch of B images.

    Attributes:
        id_feat: ``(B, 8 * feat_id)`` φ_R, the concatenated identity parts.
        id_parts: 8 tensors ``(B, feat_id)``.
        logits: 8 tensors ``(B, C)`` (identity classifiers on the parts).
        mu, logvar: 8 tensors ``(B, feat_nid)`` each (None when the unrelated code is skipped).
        nid_feat: ``(B, 8 * feat_nid)`` φ_U, sampled in training mode, ``mu`` in eval mode.
        nid_parts: its 8 parts.
    """

    id_feat: torch.Tensor
    id_parts: list[torch.Tensor]
    logits: list[torch.Tensor]
    mu: list[torch.Tensor] | None = None
    logvar: list[torch.Tensor] | None = None
    nid_feat: torch.Tensor | None = None
    nid_parts: list[torch.Tensor] | None = None


def band_pool(x: torch.Tensor, stripes: int, mode: Literal["max", "avg"]) -> list[torch.Tensor]:
    """Global pooling plus ``stripes`` equal horizontal bands: ``(B, C, H, W)`` -> list of ``(B, C)``.

    Equals the official fixed kernels at 384x128 ((24, 8) global and (12, 8) / (8, 8) stripes)
    and generalises them to any height divisible by ``stripes``.
    """
    pool = F.adaptive_max_pool2d if mode == "max" else F.adaptive_avg_pool2d
    out = [pool(x, 1).flatten(1)]
    if stripes:
        if x.shape[2] % stripes:
            raise ValueError(f"feature height {x.shape[2]} is not divisible into {stripes} stripes; "
                             "use an input height that is a multiple of 16 * 6 = 96")
        out += list(pool(x, (stripes, 1)).flatten(2).unbind(2))
    return out


def _stride_one(layer4: nn.Sequential) -> nn.Sequential:
    """A copy of ``layer4`` whose first block does not downsample spatially."""
    layer = copy.deepcopy(layer4)
    block = layer[0]
    for conv in (getattr(block, "conv1", None), getattr(block, "conv2", None)):
        if conv is not None and conv.stride != (1, 1):
            conv.stride = (1, 1)
    if block.downsample is not None:
        block.downsample[0].stride = (1, 1)
    return layer


class _TinyResNet(nn.Module):
    """ResNet-18's layout (BasicBlocks, 2-2-2-2) at ``width`` base channels instead of 64, for
    tests and the CPU demo; it has the attributes the encoder takes apart."""

    def __init__(self, width: int = 16) -> None:
        from torchvision.models.resnet import BasicBlock, conv1x1

        super().__init__()

        def layer(cin: int, cout: int, stride: int) -> nn.Sequential:
            down = None
            if stride != 1 or cin != cout:
                down = nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))
            return nn.Sequential(BasicBlock(cin, cout, stride, down), BasicBlock(cout, cout))

        w = width
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1, self.layer2 = layer(w, w, 1), layer(w, 2 * w, 2)
        self.layer3, self.layer4 = layer(2 * w, 4 * w, 2), layer(4 * w, 8 * w, 2)
        self.fc = nn.Linear(8 * w, 1000)


BACKBONES = ("resnet50", "resnet18", "tiny")


def build_backbone(name: str, pretrained: bool | str = False) -> nn.Module:
    """A torchvision ResNet-50 / ResNet-18, or ``"tiny"`` (ResNet-18 layout, 16 base channels).

    ``pretrained=True`` loads torchvision's ImageNet weights (downloads them), a path loads a
    state dict from that file."""
    import torchvision

    if name not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {name!r}")
    if name == "tiny":
        if pretrained:
            raise ValueError("the tiny backbone has no pretrained weights")
        return _TinyResNet()
    weights = "IMAGENET1K_V1" if pretrained is True else None
    net = getattr(torchvision.models, name)(weights=weights)
    if isinstance(pretrained, str):
        net.load_state_dict(torch.load(pretrained, map_location="cpu", weights_only=True))
    return net


def _init_head(m: nn.Module) -> None:
    # official weights_init_normal, applied to the reduction heads and classifiers only
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_in")
    elif isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight, mode="fan_out")
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Encoder(nn.Module):
    """Shared stem + identity-related (E_R) and identity-unrelated (E_U) encoders.

    Args:
        num_classes: training identities C.
        backbone: ``"resnet50"`` (paper), ``"resnet18"`` or ``"tiny"`` (tests, CPU demo).
        feat_id: size of each of the 8 identity parts (256).
        feat_nid: size of each of the 8 unrelated parts (64).
        pretrained_backbone: see :func:`build_backbone`.
    """

    def __init__(self, num_classes: int, backbone: str = "resnet50", feat_id: int = 256, feat_nid: int = 64,
                 pretrained_backbone: bool | str = False) -> None:
        super().__init__()
        net = build_backbone(backbone, pretrained_backbone)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3[0])
        width = net.fc.in_features  # 2048 (resnet50) / 512 (resnet18)
        rest3 = nn.Sequential(*net.layer3[1:])  # re-indexed from 0, as the official res_conv4

        def branch(i: int) -> nn.Sequential:
            layer4 = copy.deepcopy(net.layer4) if i == 0 else _stride_one(net.layer4)
            return nn.Sequential(copy.deepcopy(rest3), layer4)

        self.id_branches = nn.ModuleList(branch(i) for i in range(3))
        self.nid_branches = nn.ModuleList(branch(i) for i in range(3))
        self.reductions = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, feat_id, 1, bias=False), nn.BatchNorm2d(feat_id)) for _ in range(NUM_PARTS)
        )
        self.classifiers = nn.ModuleList(nn.Linear(feat_id, num_classes) for _ in range(NUM_PARTS))
        self.mu_heads = nn.ModuleList(nn.Linear(width, feat_nid) for _ in range(NUM_PARTS))
        self.logvar_heads = nn.ModuleList(nn.Linear(width, feat_nid) for _ in range(NUM_PARTS))
        self.reductions.apply(_init_head)
        self.classifiers.apply(_init_head)
        self.num_classes, self.feat_id, self.feat_nid, self.width = num_classes, feat_id, feat_nid, width

    def identity_modules(self) -> list[nn.Module]:
        """E_R: identity branches, reductions, classifiers (the stem is separate)."""
        return [self.id_branches, self.reductions, self.classifiers]

    def unrelated_modules(self) -> list[nn.Module]:
        """E_U: unrelated branches and the μ / log σ² heads."""
        return [self.nid_branches, self.mu_heads, self.logvar_heads]

    def identity_code(self, s: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        parts = []
        for branch, stripes in zip(self.id_branches, BRANCH_STRIPES):
            parts += band_pool(branch(s), stripes, "max")
        feats = [red(p[:, :, None, None]).flatten(1) for red, p in zip(self.reductions, parts)]
        logits = [cls(f) for cls, f in zip(self.classifiers, feats)]
        return feats, logits

    def unrelated_code(self, s: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        pooled = []
        for branch, stripes in zip(self.nid_branches, BRANCH_STRIPES):
            pooled += band_pool(branch(s), stripes, "avg")
        mu = [h(p) for h, p in zip(self.mu_heads, pooled)]
        logvar = [h(p) for h, p in zip(self.logvar_heads, pooled)]
        if self.training:  # (I4) reparameterisation
            parts = [m + torch.exp(0.5 * lv) * torch.randn_like(m) for m, lv in zip(mu, logvar)]
        else:
            parts = list(mu)
        return mu, logvar, parts

    def forward(self, x: torch.Tensor, with_unrelated: bool = True) -> EncoderOutput:
        """``(B, 3, H, W)`` ImageNet-normalised images -> :class:`EncoderOutput`."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(x.shape)}")
        s = self.stem(x)
        feats, logits = self.identity_code(s)
        out = EncoderOutput(torch.cat(feats, 1), feats, logits)
        if with_unrelated:
            out.mu, out.logvar, out.nid_parts = self.unrelated_code(s)
            out.nid_feat = torch.cat(out.nid_parts, 1)
        return out
