"""The training loss (R9): Σ15 batch-hard triplet + 2 · Σ45 cross entropy."""

from __future__ import annotations

import torch
from torch import nn

from cvcore.reid.losses import batch_hard_triplet_loss, cross_entropy
from reid_relation.model import RelationOutput

__all__ = ["RelationLoss", "RRID_MARGIN", "RRID_EPS", "RRID_CE_WEIGHT"]

RRID_MARGIN = 1.2  # Train.py: TripletSemihardLoss(margin=1.2)
RRID_EPS = 1e-16  # triplet.py: clamp before sqrt
RRID_CE_WEIGHT = 2.0  # Train.py: loss = T_loss + 2 * C_loss


class RelationLoss(nn.Module):
    """``L = Σ_k L_tri(f_k, y) + ce_weight · Σ_m L_CE(z_m, y)`` over the 15 raw 256-d features and
    the 45 classifiers (R9). ``acc`` is the mean top-1 accuracy over the classifiers (the
    official "precision"). A batch holding a single identity gets a zero triplet term (as the
    official ``+1e6`` masking gives) instead of an error.

    Returns ``(total, {"triplet": Σ triplet, "ce": Σ CE, "acc": mean accuracy})``.
    """

    def __init__(self, margin: float = RRID_MARGIN, ce_weight: float = RRID_CE_WEIGHT, label_smoothing: float = 0.0,
                 eps: float = RRID_EPS) -> None:
        super().__init__()
        self.margin, self.ce_weight, self.label_smoothing, self.eps = margin, ce_weight, label_smoothing, eps

    def forward(self, out: RelationOutput, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        if out.logits is None:
            raise ValueError("RelationLoss needs the training-mode output of a model with num_classes > 0")
        if bool((y == y[0]).all()):
            # one identity fills the batch (possible with the anchor sampler on small data): the
            # official +1e6 mining gives d- ~ 1e6 there, i.e. a zero hinge; reproduce that
            tri = out.features[0].sum() * 0.0
        else:
            tri = sum(batch_hard_triplet_loss(f, y, self.margin, self.eps) for f in out.features)
        logits = out.all_logits()
        ce = sum(cross_entropy(z, y, self.label_smoothing) for z in logits)
        with torch.no_grad():
            acc = torch.stack([(z.argmax(1) == y).float().mean() for z in logits]).mean()
        total = tri + self.ce_weight * ce
        return total, {"triplet": float(tri.detach()), "ce": float(ce.detach()), "acc": float(acc)}
