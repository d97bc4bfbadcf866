"""Batch-hard triplet loss and label-smoothed cross entropy (reid_common spec §2.4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TripletLoss", "batch_hard_triplet_loss", "cross_entropy", "euclidean_dist"]

#: torchreid's clamp before the square root; RRID ``triplet.py`` uses 1e-16.
TORCHREID_EPS = 1e-12


def euclidean_dist(x: torch.Tensor, y: torch.Tensor, eps: float = TORCHREID_EPS) -> torch.Tensor:
    """``D_ij = sqrt(max(|x_i|^2 + |y_j|^2 - 2 <x_i, y_j>, eps))``, ``(M, D), (N, D) -> (M, N)``."""
    d2 = x.pow(2).sum(1, keepdim=True) + y.pow(2).sum(1).unsqueeze(0) - 2.0 * x @ y.t()
    return d2.clamp(min=eps).sqrt()


def batch_hard_triplet_loss(f: torch.Tensor, y: torch.Tensor, margin: float = 0.3, eps: float = TORCHREID_EPS,
                            soft: bool = False) -> torch.Tensor:
    """Batch-hard triplet loss (Hermans et al. 2017).

    ``d+_i = max_{j: y_j = y_i} D_ij`` (anchor included), ``d-_i = min_{j: y_j != y_i} D_ij``,
    loss ``mean_i max(0, d+_i - d-_i + margin)`` or ``mean_i softplus(d+_i - d-_i)`` (``soft``).

    Args:
        f: ``(B, D)`` features (not normalised by this function).
        y: ``(B,)`` integer labels.
        margin: hinge margin (torchreid 0.3, RRID 1.2).
        eps: clamp of the squared distance before the square root.
        soft: soft-margin variant.

    Returns:
        Scalar tensor.

    Raises:
        ValueError: a row has no negative (all labels equal).
    """
    if f.ndim != 2 or y.ndim != 1 or f.shape[0] != y.shape[0]:
        raise ValueError(f"expected features (B, D) and labels (B,), got {tuple(f.shape)} and {tuple(y.shape)}")
    d = euclidean_dist(f, f, eps)
    same = y.unsqueeze(0) == y.unsqueeze(1)
    if bool(same.all(1).any()):
        raise ValueError("batch-hard triplet loss needs a negative for every anchor (a label fills the batch)")
    d_pos = d.masked_fill(~same, float("-inf")).amax(1)
    d_neg = d.masked_fill(same, float("inf")).amin(1)
    if soft:
        return F.softplus(d_pos - d_neg).mean()
    return F.relu(d_pos - d_neg + margin).mean()


class TripletLoss(nn.Module):
    """Module form of :func:`batch_hard_triplet_loss`."""

    def __init__(self, margin: float = 0.3, eps: float = TORCHREID_EPS, soft: bool = False) -> None:
        super().__init__()
        self.margin, self.eps, self.soft = margin, eps, soft

    def forward(self, f: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return batch_hard_triplet_loss(f, y, self.margin, self.eps, self.soft)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross entropy with targets ``(1 - eps) onehot + eps / C`` (torchreid ``CrossEntropyLoss``).

    Args:
        logits: ``(B, C)``; y: ``(B,)`` labels in ``[0, C)``; label_smoothing: eps in [0, 1].
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    logp = F.log_softmax(logits, dim=1)
    nll = -logp.gather(1, y.long().unsqueeze(1)).squeeze(1)
    if label_smoothing == 0.0:
        return nll.mean()
    return ((1.0 - label_smoothing) * nll - label_smoothing * logp.mean(1)).mean()
