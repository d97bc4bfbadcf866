"""The SFNet model: frozen backbone, adaptation blocks, combined correlations, kernel soft argmax."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvcore.errors import CheckpointError
from sfnet.argmax import BETA, KERNEL_SIGMA, kernel_soft_argmax
from sfnet.flow import grid_to_flow, warp
from sfnet.losses import smoothness_map
from sfnet.matching import L2_EPS, combine_correlations, correlation
from sfnet.models.adaptation import AdaptationBlock
from sfnet.models.backbone import build_backbone

__all__ = ["OFFICIAL_KEYS", "SFNet", "SFNetOutput"]

#: the two entries of the official ``weights/best_checkpoint.pt`` (layer3 block, layer4 block).
OFFICIAL_KEYS = ("state_dict1", "state_dict2")
#: feature stride of the conv4 map: input size = 16 x feature size.
STRIDE = 16


@dataclasses.dataclass
class SFNetOutput:
    """What one forward pass returns (``h x w`` = feature grid of the inputs).

    Always: ``grid_s2t``, ``grid_t2s`` (``B x h x w x 2``), ``flow_s2t``, ``flow_t2s``
    (``B x 2 x h x w``), ``corr_s2t``, ``corr_t2s`` (``B x hw x h x w``). With masks also the
    training tensors: ``warped_src_mask = bilinear(M_t, G_s2t)``, ``warped_tgt_mask``,
    ``warped_flow_t2s = bilinear(F_t2s, G_s2t)`` (lives on the source grid), ``warped_flow_s2t``,
    ``smooth_s2t``/``smooth_t2s`` (masked smoothness maps ``B x 1 x h x w``), ``masked_flow_s2t``
    (``M_s F_s2t``) and ``masked_flow_t2s``.
    """

    grid_s2t: torch.Tensor
    grid_t2s: torch.Tensor
    flow_s2t: torch.Tensor
    flow_t2s: torch.Tensor
    corr_s2t: torch.Tensor
    corr_t2s: torch.Tensor
    warped_src_mask: torch.Tensor | None = None
    warped_tgt_mask: torch.Tensor | None = None
    warped_flow_s2t: torch.Tensor | None = None
    warped_flow_t2s: torch.Tensor | None = None
    smooth_s2t: torch.Tensor | None = None
    smooth_t2s: torch.Tensor | None = None
    masked_flow_s2t: torch.Tensor | None = None
    masked_flow_t2s: torch.Tensor | None = None


class SFNet(nn.Module):
    """SFNet (CVPR 2019): dense semantic flow between two images in both directions.

    Args:
        feature_size: the training feature grid ``(h, w)``; input images are ``16h x 16w``
            (320 x 320 for the default 20 x 20). Other input sizes work; the grid follows them.
        beta: softmax temperature of the kernel soft argmax (E5); ``None`` = hard argmax.
        kernel_sigma: Gaussian window width in cells (E5); ``None`` = plain soft argmax.
        backbone: ``"resnet101"`` (paper) or ``"tiny"`` (tests, demo).
        pretrained_backbone: ``False`` (random), ``True``/``"imagenet"`` (torchvision ImageNet
            weights, downloaded by torchvision if not cached) or a path to a resnet101 state dict.
        freeze_backbone: backbone parameters get ``requires_grad=False`` and its BatchNorm stays in
            eval mode even under ``model.train()`` (official ``train.py``).
        smoothness_mode: which smoothness map to return with masks (E10).

    Input: ``src``, ``tgt`` ``B x 3 x H x W`` ImageNet-normalised; masks ``B x 1 x h x w`` in [0, 1]
    on the feature grid (optional, training only).
    """

    def __init__(
        self,
        feature_size: tuple[int, int] = (20, 20),
        beta: float | None = BETA,
        kernel_sigma: float | None = KERNEL_SIGMA,
        backbone: str = "resnet101",
        pretrained_backbone: bool | str | os.PathLike[str] = False,
        freeze_backbone: bool = True,
        smoothness_mode: str = "official",
    ) -> None:
        super().__init__()
        self.feature_size = (int(feature_size[0]), int(feature_size[1]))
        self.beta = beta
        self.kernel_sigma = kernel_sigma
        self.backbone_name = backbone
        self.freeze_backbone = freeze_backbone
        self.smoothness_mode = smoothness_mode
        self.backbone = build_backbone(backbone, pretrained_backbone)
        c4, c5 = self.backbone.channels
        self.adapt4 = AdaptationBlock(c4, 5)  # official adap_layer_feat3 (on layer3 output)
        self.adapt5 = AdaptationBlock(c5, 3)  # official adap_layer_feat4 (on layer4 output)
        if freeze_backbone:
            for p in self.backbone.parameters():
                p.requires_grad_(False)
            self.backbone.eval()

    @property
    def input_size(self) -> tuple[int, int]:
        """Training/evaluation image size ``(16h, 16w)``."""
        return STRIDE * self.feature_size[0], STRIDE * self.feature_size[1]

    def train(self, mode: bool = True) -> SFNet:
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def adaptation_parameters(self) -> list[nn.Parameter]:
        """The trainable parameters (the two adaptation blocks)."""
        return [*self.adapt4.parameters(), *self.adapt5.parameters()]

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(E1): ``F4 = A4(phi4(x))``, ``F5 = Up2(A5(phi5(x)))``, both ``B x C x h x w``."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected B x 3 x H x W images, got {tuple(x.shape)}")
        if self.freeze_backbone:
            with torch.no_grad():
                f3, f4 = self.backbone(x)
        else:
            f3, f4 = self.backbone(x)
        a4 = self.adapt4(f3)
        a5 = F.interpolate(self.adapt5(f4), size=a4.shape[-2:], mode="bilinear", align_corners=True)
        return a4, a5

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor | None = None,
                tgt_mask: torch.Tensor | None = None) -> SFNetOutput:
        if src.shape[0] != tgt.shape[0]:
            raise ValueError(f"source and target batch sizes differ: {src.shape[0]} vs {tgt.shape[0]}")
        s4, s5 = self.features(src)
        t4, t5 = self.features(tgt)
        c4 = correlation(s4, t4, L2_EPS)
        c5 = correlation(s5, t5, L2_EPS)
        ts = tuple(t4.shape[-2:])
        corr_s2t, corr_t2s = combine_correlations(c4, c5, L2_EPS, target_size=ts)
        grid_s2t = kernel_soft_argmax(corr_s2t, self.beta, self.kernel_sigma, target_size=ts)
        grid_t2s = kernel_soft_argmax(corr_t2s, self.beta, self.kernel_sigma, target_size=tuple(s4.shape[-2:]))
        out = SFNetOutput(grid_s2t, grid_t2s, grid_to_flow(grid_s2t), grid_to_flow(grid_t2s), corr_s2t, corr_t2s)
        if (src_mask is None) != (tgt_mask is None):
            raise ValueError("give both src_mask and tgt_mask, or neither")
        if src_mask is not None:
            for name, m, ref in (("src_mask", src_mask, s4), ("tgt_mask", tgt_mask, t4)):
                if m.ndim != 4 or m.shape[1] != 1 or m.shape[-2:] != ref.shape[-2:] or m.shape[0] != ref.shape[0]:
                    raise ValueError(f"{name} must be B x 1 x {ref.shape[-2]} x {ref.shape[-1]} (feature grid), "
                                     f"got {tuple(m.shape)}")
            out.warped_src_mask = warp(tgt_mask, grid_s2t)  # (E7)
            out.warped_tgt_mask = warp(src_mask, grid_t2s)
            out.warped_flow_t2s = warp(out.flow_t2s, grid_s2t)  # F_t2s read at G_s2t (E9)
            out.warped_flow_s2t = warp(out.flow_s2t, grid_t2s)
            out.masked_flow_s2t = out.flow_s2t * src_mask
            out.masked_flow_t2s = out.flow_t2s * tgt_mask
            out.smooth_s2t = src_mask * smoothness_map(out.flow_s2t, self.smoothness_mode)  # (E10)
            out.smooth_t2s = tgt_mask * smoothness_map(out.flow_t2s, self.smoothness_mode)
        return out

    # -- weights of the adaptation layers ---------------------------------------------------------

    def adaptation_state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """``{"state_dict1": layer3 block, "state_dict2": layer4 block}`` (official checkpoint layout)."""
        return {OFFICIAL_KEYS[0]: self.adapt4.state_dict(), OFFICIAL_KEYS[1]: self.adapt5.state_dict()}

    def load_adaptation_state_dict(self, state: dict[str, Any], *, source: str = "state dict") -> None:
        """Load ``{"state_dict1": ..., "state_dict2": ...}`` strictly (``module.`` prefixes dropped)."""
        if not isinstance(state, dict) or any(k not in state for k in OFFICIAL_KEYS):
            keys = sorted(state)[:5] if isinstance(state, dict) else type(state).__name__
            raise CheckpointError(f"{source} is not an SFNet checkpoint: expected keys {list(OFFICIAL_KEYS)}, got {keys}")
        for key, block in zip(OFFICIAL_KEYS, (self.adapt4, self.adapt5)):
            sd = state[key]
            if not isinstance(sd, dict):
                raise CheckpointError(f"{source}: '{key}' is not a state dict")
            sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
            try:
                block.load_state_dict(sd, strict=True)
            except RuntimeError as exc:
                raise CheckpointError(f"{source}: '{key}' does not fit this model's adaptation block "
                                      f"({str(exc).splitlines()[0]} ...)") from exc

    def load_official_checkpoint(self, path: str | os.PathLike[str]) -> SFNet:
        """Load the authors' ``best_checkpoint.pt`` (``state_dict1``/``state_dict2``) into the blocks.

        Raises:
            CheckpointError: missing, truncated or foreign file, or shapes that do not fit.
        """
        p = Path(path)
        if not p.is_file():
            raise CheckpointError(f"official checkpoint not found: {p}")
        try:
            state = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(f"cannot read official checkpoint {p}: truncated or not a torch file ({msg})") from exc
        self.load_adaptation_state_dict(state, source=str(p))
        return self


class SFNetInference(nn.Module):
    """Tensor-in, tensor-out wrapper for ``torch.export``: ``(src, tgt) -> (grid_s2t, grid_t2s)``."""

    def __init__(self, model: SFNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(src, tgt)
        return out.grid_s2t, out.grid_t2s
