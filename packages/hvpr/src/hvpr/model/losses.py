"""Detection losses of one pseudo image (E29–E32): sigmoid focal, smooth-L1 with the sine trick, direction CE.

Normalisation (§3.7): per sample, class weights are 1/n_pos for labels ≥ 0 (0 for ignored), regression and
direction weights 1/n_pos for positives, n_pos = max(#positives, 1); summed losses are divided by B.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hvpr.ops.boxes import DIR_OFFSET, direction_target

FOCAL_ALPHA = 0.25  # E29
FOCAL_GAMMA = 2.0  # E29
SMOOTH_L1_BETA = 1.0 / 9.0  # E30
LOSS_WEIGHTS = {"cls": 1.0, "loc": 2.0, "dir": 0.2}  # E32


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float = FOCAL_ALPHA, gamma: float = FOCAL_GAMMA
                       ) -> Tensor:
    """Element-wise focal loss (E29) of logits and {0, 1} targets of the same shape (…, C)."""
    p = torch.sigmoid(logits)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    q = targets * (1 - p) + (1 - targets) * p
    bce = logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))
    return alpha_t * q.pow(gamma) * bce


def add_sin_difference(pred: Tensor, target: Tensor, dim: int = 6) -> tuple[Tensor, Tensor]:
    """Replace the angle codes by sin(θ̂)cos(θ*) and cos(θ̂)sin(θ*) (E30)."""
    s = torch.sin(pred[..., dim : dim + 1]) * torch.cos(target[..., dim : dim + 1])
    t = torch.cos(pred[..., dim : dim + 1]) * torch.sin(target[..., dim : dim + 1])
    return (torch.cat([pred[..., :dim], s, pred[..., dim + 1 :]], -1),
            torch.cat([target[..., :dim], t, target[..., dim + 1 :]], -1))


def smooth_l1(diff: Tensor, beta: float = SMOOTH_L1_BETA) -> Tensor:
    """0.5·d²/β if |d| < β else |d| − 0.5·β (E30)."""
    d = diff.abs()
    return torch.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)


def detection_loss(cls_preds: Tensor, box_preds: Tensor, dir_preds: Tensor, labels: Tensor, reg_targets: Tensor,
                   anchors: Tensor, num_class: int, dir_offset: float = DIR_OFFSET) -> dict[str, Tensor]:
    """Losses of one pseudo image (E29–E32).

    cls_preds (B, N, num_class), box_preds (B, N, 7), dir_preds (B, N, 2), labels (B, N) in {−1, 0, 1..C},
    reg_targets (B, N, 7), anchors (N, 7) or (B, N, 7). Returns ``cls``, ``loc``, ``dir`` and weighted ``total``.
    """
    b = labels.shape[0]
    pos = labels > 0
    n_pos = pos.sum(1, keepdim=True).clamp(min=1).to(cls_preds.dtype)
    cls_w = (labels >= 0).to(cls_preds.dtype) / n_pos
    reg_w = pos.to(cls_preds.dtype) / n_pos
    one_hot = F.one_hot(labels.clamp(min=0), num_class + 1)[..., 1:].to(cls_preds.dtype)
    l_cls = (sigmoid_focal_loss(cls_preds, one_hot) * cls_w[..., None]).sum() / b
    target = torch.where(torch.isnan(reg_targets), box_preds, reg_targets)
    p_s, t_s = add_sin_difference(box_preds, target)
    l_loc = (smooth_l1(p_s - t_s).sum(-1) * reg_w).sum() / b
    anchors = anchors.expand_as(reg_targets) if anchors.dim() == 3 else anchors[None].expand_as(reg_targets)
    dir_t = direction_target(reg_targets[..., 6] + anchors[..., 6], dir_offset)
    ce = F.cross_entropy(dir_preds.reshape(-1, 2), dir_t.reshape(-1), reduction="none").reshape(dir_t.shape)
    l_dir = (ce * reg_w).sum() / b
    total = LOSS_WEIGHTS["cls"] * l_cls + LOSS_WEIGHTS["loc"] * l_loc + LOSS_WEIGHTS["dir"] * l_dir
    return {"cls": l_cls, "loc": l_loc, "dir": l_dir, "total": total}


