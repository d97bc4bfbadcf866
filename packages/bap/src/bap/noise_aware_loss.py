"""Noise-aware loss (NAL), stage 3 of BANA (spec E15-E20, §3.25-3.28).

``cos_logits`` are the cosine similarities ``s`` of the segmentation network, already upsampled to
the label resolution: ``(B, C, H, W)`` in [-1, 1]. Label maps ``(B, H, W)`` long, 255 = void.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["NALOutput", "NoiseAwareLoss", "nal_confidence"]


@dataclass
class NALOutput:
    """Total loss and its parts; ``confidence`` is sigma ``(B, H, W)`` (E18), ``reliable_mask`` S."""

    loss: Tensor
    ce: Tensor
    wce: Tensor
    confidence: Tensor
    reliable_mask: Tensor
    unreliable_mask: Tensor


def nal_confidence(cos_logits: Tensor, target: Tensor, gamma: float = 7.0) -> Tensor:
    """``sigma = ((1 + s_{c*}) / max_c (1 + s_c))^gamma`` (E18), ``c* = target`` (void -> class 0).

    Args:
        cos_logits: ``(B, C, H, W)`` in [-1, 1].
        target: ``(B, H, W)`` long.
    Returns:
        ``(B, H, W)`` in [0, 1]; 1 where the target class has the highest similarity.
    """
    d = 1.0 + cos_logits
    t = target.clamp(0, cos_logits.shape[1] - 1)
    dc = d.gather(1, t[:, None])[:, 0]
    return (dc / d.max(dim=1).values.clamp_min(1e-12)).pow(gamma)


class NoiseAwareLoss(nn.Module):
    """``L = L_ce(S) + lambda * L_wce(S~)`` (E17, E19, E20).

    Args:
        temperature: tau multiplying s before the softmax (20).
        gamma: damping exponent of the confidence (7).
        lam: weight lambda of L_wce (0.1).
        ignore_index: void label (255).
        detach_confidence: stop gradients through sigma (the official code does not, §3.27).
        compat: ``"official"`` keeps the 0/0 = NaN of an empty unreliable set (§3.28);
            ``"default"`` makes L_wce 0 then.
    """

    def __init__(self, temperature: float = 20.0, gamma: float = 7.0, lam: float = 0.1, ignore_index: int = 255,
                 detach_confidence: bool = False, compat: Literal["default", "official"] = "default") -> None:
        super().__init__()
        if compat not in ("default", "official"):
            raise ValueError(f"compat must be 'default' or 'official', got {compat!r}")
        self.temperature, self.gamma, self.lam = temperature, gamma, lam
        self.ignore_index, self.detach_confidence, self.compat = ignore_index, detach_confidence, compat

    def forward(self, cos_logits: Tensor, y_crf: Tensor, y_ret: Tensor) -> NALOutput:
        if cos_logits.ndim != 4 or cos_logits.shape[-2:] != y_crf.shape[-2:] or y_crf.shape != y_ret.shape:
            raise ValueError(f"expected logits (B, C, H, W) and labels (B, H, W), got "
                             f"{tuple(cos_logits.shape)}, {tuple(y_crf.shape)}, {tuple(y_ret.shape)}")
        void = self.ignore_index
        reliable = (y_crf == y_ret) & (y_crf != void)
        unreliable = (y_crf != y_ret) & (y_crf != void)
        logp = F.log_softmax(self.temperature * cos_logits, dim=1)
        t = y_crf.clamp(0, cos_logits.shape[1] - 1)
        nll = -logp.gather(1, t[:, None])[:, 0]
        n_rel = reliable.sum()
        ce = (nll * reliable).sum() / n_rel if n_rel > 0 else nll.sum() * 0.0
        sigma = nal_confidence(cos_logits, y_crf, self.gamma)
        if self.detach_confidence:
            sigma = sigma.detach()
        sw = sigma * unreliable
        den = sw.sum()
        if self.compat == "official" or unreliable.any():
            wce = (sw * nll).sum() / den
        else:
            wce = nll.sum() * 0.0
        return NALOutput(ce + self.lam * wce, ce, wce, sigma, reliable, unreliable)
