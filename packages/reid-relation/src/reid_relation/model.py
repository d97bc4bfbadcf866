"""RelationNet: ResNet trunk, one-vs-rest relation modules and GCP for partitions (6, 4, 2)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from reid_relation.backbone import build_backbone
from reid_relation.global_contrastive_pooling import GlobalContrastivePooling
from reid_relation.relation_module import OneVsRestRelation
from reid_relation.stripes import check_feature_height, stripe_max_pool

__all__ = ["RelationNet", "RelationOutput", "CLASSIFIER_STD"]

#: classifier weight init N(0, 0.001^2), bias 0 (official ``RelationModel``).
CLASSIFIER_STD = 0.001


@dataclass
class RelationOutput:
    """``features``: the 15 descriptor parts (R7), each ``(B, feat_dim)``, order
    ``q^6_1..6, q^4_1..4, q^2_1..2, g^6, g^4, g^2``. ``logits`` (training with classes only):
    ``{"local_rest": 12, "local": 12, "rest": 12, "global": 9}`` lists of ``(B, C)``; the global
    list is ``[g, ĝ_max, ĝ_cont]`` per partition 6, 4, 2 (R8)."""

    features: list[torch.Tensor]
    logits: dict[str, list[torch.Tensor]] | None = None

    def all_logits(self) -> list[torch.Tensor]:
        return [z for k in ("local_rest", "local", "rest", "global") for z in (self.logits or {}).get(k, [])]


class RelationNet(nn.Module):
    """Relation network for person re-ID (Park & Ham, AAAI 2020).

    Args:
        num_classes: training identities C (0 = no classifiers).
        partitions: stripe counts (paper: 6, 4, 2).
        feat_dim: embedding size (256); the descriptor is ``15 * feat_dim`` (3,840).
        backbone: ``"resnet50"`` (paper) or ``"resnet18"``.
        last_stride: stride of the first ``layer4`` block (1 in the paper).
        pretrained_backbone: False, True (torchvision ImageNet cache) or a state-dict path.
        width: backbone ``layer1`` width (64 standard; smaller for tests and the demo).

    Input ``(B, 3, H, W)`` with ``H/16`` divisible by 12 (e.g. 384x128, 192x64).
    Full size: 49.92 M parameters with C = 751 (ResNet-50 trunk 23.51 M).
    """

    def __init__(self, num_classes: int = 0, partitions: Sequence[int] = (6, 4, 2), feat_dim: int = 256,
                 backbone: str = "resnet50", last_stride: int = 1,
                 pretrained_backbone: bool | str | os.PathLike[str] = False, width: int = 64) -> None:
        super().__init__()
        self.partitions = tuple(int(n) for n in partitions)
        if len(set(self.partitions)) != len(self.partitions) or min(self.partitions) < 2:
            raise ValueError(f"partitions must be distinct and >= 2, got {self.partitions}")
        self.num_classes, self.feat_dim = int(num_classes), int(feat_dim)
        self.base = build_backbone(backbone, last_stride, width, pretrained_backbone)
        c = self.base.out_channels
        self.relation = nn.ModuleDict({str(n): OneVsRestRelation(n, c, feat_dim) for n in self.partitions})
        self.gcp = nn.ModuleDict({str(n): GlobalContrastivePooling(n, c, feat_dim) for n in self.partitions})
        self.heads = nn.ModuleDict()
        if self.num_classes > 0:
            for n in self.partitions:
                for kind in ("local_rest", "local", "rest"):
                    self.heads[f"{kind}_{n}"] = nn.ModuleList(self._fc() for _ in range(n))
                for kind in ("global", "global_max", "global_rest"):
                    self.heads[f"{kind}_{n}"] = nn.ModuleList([self._fc()])

    def _fc(self) -> nn.Linear:
        fc = nn.Linear(self.feat_dim, self.num_classes)
        nn.init.normal_(fc.weight, std=CLASSIFIER_STD)
        nn.init.zeros_(fc.bias)
        return fc

    @property
    def num_features(self) -> int:
        """Number of descriptor parts (15 for (6, 4, 2))."""
        return sum(self.partitions) + len(self.partitions)

    @property
    def descriptor_dim(self) -> int:
        return self.num_features * self.feat_dim

    def forward(self, x: torch.Tensor) -> RelationOutput:
        """``(B, 3, H, W) -> RelationOutput`` (logits only in training mode with ``num_classes > 0``)."""
        fmap = self.base(x)
        check_feature_height(fmap.shape[2], self.partitions)
        gmax = fmap.amax(dim=(2, 3))
        local_q, glob, logits = [], [], {"local_rest": [], "local": [], "rest": [], "global": []}
        want_logits = self.training and self.num_classes > 0
        for n in self.partitions:
            parts = stripe_max_pool(fmap, n)
            q, a, b = self.relation[str(n)](parts)
            g, g_max, g_cont = self.gcp[str(n)](parts, gmax)
            local_q += list(q.unbind(1))
            glob.append(g)
            if want_logits:
                for i in range(n):
                    logits["local_rest"].append(self.heads[f"local_rest_{n}"][i](q[:, i]))
                    logits["local"].append(self.heads[f"local_{n}"][i](a[:, i]))
                    logits["rest"].append(self.heads[f"rest_{n}"][i](b[:, i]))
                logits["global"] += [self.heads[f"global_{n}"][0](g), self.heads[f"global_max_{n}"][0](g_max),
                                     self.heads[f"global_rest_{n}"][0](g_cont)]
        return RelationOutput(local_q + glob, logits if want_logits else None)

    def feature_parts(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The 15 descriptor parts (for :func:`cvcore.reid.extract_features`)."""
        return self.forward(x).features

    @torch.no_grad()
    def embed(self, x: torch.Tensor, flip: bool = True, normalize: bool = True) -> torch.Tensor:
        """Test descriptor (R10): per-part mean over the image and its flip, concatenated,
        L2-normalised. ``(B, 3, H, W) -> (B, 15 * feat_dim)``. Uses eval mode temporarily."""
        from cvcore.reid.features import flip_augmented

        was = self.training
        self.eval()
        try:
            return flip_augmented(PartsView(self), x, flip=flip, l2_normalize=normalize)
        finally:
            self.train(was)


class PartsView(nn.Module):
    """Adapter: ``forward(x)`` returns the list of descriptor parts (optionally a subset)."""

    def __init__(self, model: RelationNet, descriptor: str = "all") -> None:
        super().__init__()
        if descriptor not in ("all", "local", "global"):
            raise ValueError(f"descriptor must be 'all', 'local' or 'global', got {descriptor!r}")
        self.model, self.descriptor = model, descriptor

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f = self.model(x).features
        n_local = sum(self.model.partitions)
        return f if self.descriptor == "all" else (f[:n_local] if self.descriptor == "local" else f[n_local:])


class RelationEmbedder(nn.Module):
    """Inference model for export: ``(B, 3, H, W) -> (B, D)`` normalised descriptor with flip TTA."""

    def __init__(self, model: RelationNet, flip: bool = True, descriptor: str = "all") -> None:
        super().__init__()
        self.parts, self.flip = PartsView(model, descriptor), flip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.parts(x)
        if self.flip:
            p = [(a + b) / 2 for a, b in zip(p, self.parts(torch.flip(x, dims=[3])))]
        return torch.nn.functional.normalize(torch.cat(p, 1), dim=1)


def _lcm(ns: Sequence[int]) -> int:
    return math.lcm(*ns)
