"""JoEm training losses: boundary-aware regression (E3-E6), semantic consistency (E8, E9),
auxiliary cross-entropy (E7) and their sum (E10)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BoundaryAwareRegression", "JoEmLoss", "SemanticConsistency", "virtual_prototypes"]

IGNORE_INDEX = 255
#: epsilon inside the square root of the Context SC distances (trainer_context_zs3setting.py).
CONTEXT_SC_EPS = 1e-8


def _nearest(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PyTorch "nearest" resize of ``(B, H, W)`` integer labels (source index ``floor(i*H/h)``)."""
    return F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].long()


def virtual_prototypes(
    labels: torch.Tensor,
    class_embeddings: torch.Tensor,
    semantic_encoder: Callable[[torch.Tensor], torch.Tensor],
    size: tuple[int, int],
    ratio: float = 0.25,
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Per-pixel virtual prototypes ``mu~ = g(S~)`` (E3-E5).

    Args:
        labels: ``(B, H, W)`` long, class ids in ``[0, K)`` or ``ignore_index``.
        class_embeddings: ``(K, d_s)`` word vectors.
        semantic_encoder: ``g``, maps ``(..., d_s)`` to ``(..., D)``.
        size: ``(h, w)`` of the visual feature map.
        ratio: BAR ratio r; the coarse map is ``floor(h r) x floor(w r)`` (r = 1: hard prototypes).

    Returns:
        ``(B, D, h, w)`` targets (gradient flows into ``g``, not into the word vectors).
    """
    h, w = size
    k, ds = class_embeddings.shape
    ch, cw = max(1, int(h * ratio)), max(1, int(w * ratio))
    coarse = _nearest(labels, (ch, cw))  # E3, from the full-resolution label
    bad = (coarse != ignore_index) & ((coarse < 0) | (coarse >= k))
    if bool(bad.any()):
        raise ValueError(f"labels must be in [0, {k}) or {ignore_index}")
    coarse = torch.where(coarse == ignore_index, torch.full_like(coarse, k), coarse)  # E2: s_0 = 0
    table = torch.cat([class_embeddings.detach(), class_embeddings.new_zeros(1, ds)], 0)
    sem = table[coarse].permute(0, 3, 1, 2)  # (B, d_s, ch, cw)
    sem = F.interpolate(sem, size=(h, w), mode="bilinear", align_corners=False).detach()  # E4
    return semantic_encoder(sem.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # E5


class BoundaryAwareRegression(nn.Module):
    """``L_bar`` (E6): mean squared error between features and virtual prototypes over
    non-ignored pixels *and* channels. ``ratio=1`` gives the plain center loss."""

    def __init__(self, ratio: float = 0.25, ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        self.ratio = ratio
        self.ignore_index = ignore_index

    def forward(
        self,
        features: torch.Tensor,
        labels: torch.Tensor,
        class_embeddings: torch.Tensor,
        semantic_encoder: Callable[[torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """Args: features ``(B, D, h, w)``; labels ``(B, H, W)`` long; class_embeddings ``(K, d_s)``.

        Returns a scalar; 0 (still connected to the graph) when every pixel is ignored.
        """
        h, w = features.shape[-2:]
        target = virtual_prototypes(labels, class_embeddings, semantic_encoder, (h, w), self.ratio, self.ignore_index)
        keep = (_nearest(labels, (h, w)) != self.ignore_index).unsqueeze(1).to(features.dtype)  # (B,1,h,w)
        sq = (features - target).pow(2) * keep
        denom = keep.sum() * features.shape[1]
        if float(denom) == 0:
            return sq.sum() * 0.0
        return sq.sum() / denom


class SemanticConsistency(nn.Module):
    """``L_sc``: KL between row-softmaxed distance matrices of word vectors and prototypes.

    ``reduction="rows"`` (E8, VOC): ``sum / n``; ``"rows_sq"`` (E9, Context): ``sum / n^2``.
    ``eps > 0`` computes prototype distances as ``sqrt(sum sq + eps)`` (the Context code uses
    1e-8); ``eps = 0`` uses ``torch.cdist`` (zero gradient on the diagonal).
    """

    def __init__(self, temperature: float = 5.0, reduction: Literal["rows", "rows_sq"] = "rows",
                 eps: float = 0.0) -> None:
        super().__init__()
        if reduction not in ("rows", "rows_sq"):
            raise ValueError(f"unknown SC reduction {reduction!r}: use 'rows' or 'rows_sq'")
        self.temperature = temperature
        self.reduction = reduction
        self.eps = eps

    def forward(self, class_embeddings: torch.Tensor, prototypes: torch.Tensor,
                classes: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Args: class_embeddings ``(K, d_s)``; prototypes ``(K, D)``; ``classes``: ids of S*
        (seen object classes, background excluded). Returns a scalar (0 for fewer than 2 classes)."""
        idx = torch.as_tensor(classes, dtype=torch.long, device=prototypes.device)
        n = idx.numel()
        if n < 2:
            return prototypes.sum() * 0.0
        s = class_embeddings.detach()[idx].to(prototypes.dtype)
        mu = prototypes[idx]
        with torch.no_grad():
            rel = torch.softmax(-self.temperature * torch.cdist(s, s, p=2), dim=1)  # R
        if self.eps > 0:
            dist = ((mu[:, None, :] - mu[None, :, :]).pow(2).sum(-1) + self.eps).sqrt()
        else:
            dist = torch.cdist(mu, mu, p=2)
        log_hat = torch.log_softmax(-dist, dim=1)  # log R^
        kl = (torch.xlogy(rel, rel) - rel * log_hat).sum()
        return kl / (n if self.reduction == "rows" else n * n)


class JoEmLoss(nn.Module):
    """``L = L_bar + L_ce + alpha L_sc`` (E10).

    ``forward(logits, features, labels, class_embeddings, semantic_encoder, sc_classes)`` with
    logits ``(B, K, H, W)`` at input size, features ``(B, D, h, w)``, labels ``(B, H, W)``;
    returns ``(total, {"bar", "ce", "sc"})`` (detached parts).
    """

    def __init__(self, ratio: float = 0.25, temperature: float = 5.0, alpha: float = 0.1,
                 sc_reduction: Literal["rows", "rows_sq"] = "rows", ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        self.bar = BoundaryAwareRegression(ratio, ignore_index)
        eps = CONTEXT_SC_EPS if sc_reduction == "rows_sq" else 0.0
        self.sc = SemanticConsistency(temperature, sc_reduction, eps)
        self.alpha = alpha
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, features: torch.Tensor, labels: torch.Tensor,
                class_embeddings: torch.Tensor, semantic_encoder: Callable[[torch.Tensor], torch.Tensor],
                sc_classes: Sequence[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        bar = self.bar(features, labels, class_embeddings, semantic_encoder)
        if bool((labels != self.ignore_index).any()):
            ce = F.cross_entropy(logits, labels, ignore_index=self.ignore_index)  # E7
        else:
            ce = logits.sum() * 0.0
        if self.alpha:
            sc = self.sc(class_embeddings, semantic_encoder(class_embeddings), sc_classes)
        else:
            sc = features.new_zeros(())
        total = bar + ce + self.alpha * sc
        return total, {"bar": bar.detach(), "ce": ce.detach(), "sc": sc.detach()}
