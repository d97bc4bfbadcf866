"""The IS-GAN model: encoders, generator, discriminator and the per-stage freezing (spec §3, §10)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from isgan.discriminator import Discriminator
from isgan.encoder import NUM_PARTS, Encoder
from isgan.generator import Generator

__all__ = ["ISGAN", "ModelConfig"]


@dataclass
class ModelConfig:
    """Architecture hyper-parameters (paper defaults; tests use resnet18 / tiny widths)."""

    num_classes: int = 751
    height: int = 384
    width: int = 128
    backbone: str = "resnet50"
    feat_id: int = 256
    feat_nid: int = 64
    noise_dim: int = 128
    g_width: int = 64
    d_width: int = 32
    dropout: float = 0.2


class ISGAN(nn.Module):
    """Identity-shuffle GAN.

    Args:
        num_classes: training identities C (751 Market-1501, 702 Duke, 767 CUHK03).
        image_size: ``(H, W)``: H a multiple of 96 (six stripe rows after the stride-16 stem), W a
            multiple of 16, at least 48 (384x128 in the paper; 192x128 the smallest size at which
            G and D have exactly the spec's layer tables; smaller sizes such as the demo's 96x48
            drop G's 512->512 up-convolutions and D's ``c5``, see :class:`Generator` and
            :class:`Discriminator`).
        official_compat: reproduce the official code's defects where they change numbers: the
            discriminator's tanh on every input (defect 4); the trainer also reads it for the
            never-shuffling part mask (2) and the block-P partner rule (3).

    ``forward(x)`` returns the identity descriptor φ_R ``(B, 8 * feat_id)`` (not normalised);
    :meth:`embed` is the retrieval descriptor (I12).
    """

    def __init__(self, num_classes: int, image_size: tuple[int, int] = (384, 128), backbone: str = "resnet50",
                 feat_id: int = 256, feat_nid: int = 64, noise_dim: int = 128, g_width: int = 64, d_width: int = 32,
                 dropout: float = 0.2, pretrained_backbone: bool | str = False, official_compat: bool = False) -> None:
        super().__init__()
        h, w = image_size
        if h % 96 or w % 16 or w < 48:
            raise ValueError(f"image size must be (multiple of 96, multiple of 16 and at least 48), got {image_size}")
        self.config = ModelConfig(num_classes, h, w, backbone, feat_id, feat_nid, noise_dim, g_width, d_width, dropout)
        self.official_compat = official_compat
        self.encoder = Encoder(num_classes, backbone, feat_id, feat_nid, pretrained_backbone)
        self.generator = Generator(num_classes, NUM_PARTS * feat_id, NUM_PARTS * feat_nid, noise_dim, (h, w), g_width,
                                   dropout)
        self.discriminator = Discriminator(num_classes, d_width, input_tanh=official_compat,
                                           num_down=5 if min(h, w) >= 96 else 4)
        self.stage = 3

    @classmethod
    def from_config(cls, cfg: ModelConfig, **kw) -> ISGAN:
        d = asdict(cfg)
        return cls(d.pop("num_classes"), (d.pop("height"), d.pop("width")), **d, **kw)

    # ----------------------------------------------------------------- stages
    def stage_groups(self) -> dict[str, list[nn.Module]]:
        """The parameter groups that stages freeze or train: stem, E_R, E_U, G, D."""
        e = self.encoder
        return {"stem": [e.stem], "id": e.identity_modules(), "nid": e.unrelated_modules(),
                "generator": [self.generator], "discriminator": [self.discriminator]}

    def trainable_groups(self, stage: int) -> set[str]:
        if stage == 1:
            return {"stem", "id"}
        if stage == 2:
            return {"nid", "generator", "discriminator"}
        if stage == 3:
            return {"stem", "id", "nid", "generator", "discriminator"}
        raise ValueError(f"stage must be 1, 2 or 3, got {stage}")

    def set_stage(self, stage: int) -> ISGAN:
        """Freeze per section 3: ``requires_grad=False`` and BatchNorm in eval mode for frozen parts."""
        trainable = self.trainable_groups(stage)
        self.stage = stage
        for name, modules in self.stage_groups().items():
            for m in modules:
                m.requires_grad_(name in trainable)
        self.train(self.training)
        return self

    def train(self, mode: bool = True) -> ISGAN:
        super().train(mode)
        if mode:
            trainable = self.trainable_groups(self.stage)
            for name, modules in self.stage_groups().items():
                if name not in trainable:
                    for m in modules:
                        for bn in m.modules():
                            if isinstance(bn, nn.modules.batchnorm._BatchNorm):
                                bn.eval()
        return self

    # -------------------------------------------------------------- inference
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x, with_unrelated=False).id_feat

    @torch.no_grad()
    def embed(self, x: torch.Tensor, flip: bool = True) -> torch.Tensor:
        """(I12) ``normalize(φ_R(x) + φ_R(flip(x)))``, ``(B, 3, H, W) -> (B, 8 * feat_id)``."""
        f = self(x)
        if flip:
            f = f + self(torch.flip(x, dims=[3]))
        return torch.nn.functional.normalize(f, dim=1)
