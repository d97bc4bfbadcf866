"""Anchor grid (E24, ``align_center = False``) and per-class anchor target assignment (§3.7)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from hvpr.ops.boxes import ResidualCoder
from hvpr.ops.iou import nearest_bev_iou


class AnchorGenerator:
    """Anchors of one class on a G_x × G_y grid spanning the point range corner to corner.

    ``generate((H, W))`` -> (H, W, A, 7) with A = |sizes|·|rotations| ordered (size, rotation) and
    x_a = x_min + i·(x_max − x_min)/(W − 1), y_a = y_min + j·(y_max − y_min)/(H − 1),
    z_a = bottom height + dz/2 (E24). Flat index of anchor a at (y, x) is (y·W + x)·A + a.
    """

    def __init__(self, point_range: Sequence[float], sizes: Sequence[Sequence[float]], rotations: Sequence[float],
                 bottom_height: float) -> None:
        self.point_range = [float(v) for v in point_range]
        self.sizes = torch.tensor([list(s) for s in sizes], dtype=torch.float32)
        self.rotations = torch.tensor(list(rotations), dtype=torch.float32)
        self.bottom_height = float(bottom_height)

    @property
    def num_anchors_per_location(self) -> int:
        return self.sizes.shape[0] * self.rotations.numel()

    def generate(self, feature_size: tuple[int, int]) -> Tensor:
        h, w = feature_size
        x0, y0, _, x1, y1, _ = self.point_range
        xs = x0 + torch.arange(w, dtype=torch.float32) * ((x1 - x0) / (w - 1))
        ys = y0 + torch.arange(h, dtype=torch.float32) * ((y1 - y0) / (h - 1))
        ns, nr = self.sizes.shape[0], self.rotations.numel()
        out = torch.zeros(h, w, ns, nr, 7)
        out[..., 0] = xs[None, :, None, None]
        out[..., 1] = ys[:, None, None, None]
        out[..., 3:6] = self.sizes[None, None, :, None, :]
        out[..., 2] = self.bottom_height + self.sizes[None, None, :, None, 2] / 2
        out[..., 6] = self.rotations[None, None, None, :]
        return out.reshape(h, w, ns * nr, 7)


def assign_targets(anchors: Tensor, gt_boxes: Tensor, gt_labels: Tensor, matched: float, unmatched: float
                   ) -> tuple[Tensor, Tensor, Tensor]:
    """Targets of one class for anchors (N, 7) from its gts (M, 7) with labels (M,) (1-based).

    IoU is the nearest BEV IoU (E40). Labels: −1 ignored, 0 background (max IoU < unmatched), the gt label
    when max IoU ≥ matched; every anchor attaining some gt's best IoU (> 0) is forced positive with its own
    argmax gt, overriding background. Returns labels (N,) long, regression targets (N, 7) (E25, zero for
    non-positives) and regression weights (N,) (1 for positives). No gts: every anchor is background.
    """
    n = anchors.shape[0]
    labels = torch.full((n,), -1, dtype=torch.long, device=anchors.device)
    targets = anchors.new_zeros(n, 7)
    if gt_boxes.shape[0] == 0 or n == 0:
        return labels.fill_(0), targets, anchors.new_zeros(n)
    iou = nearest_bev_iou(anchors, gt_boxes)
    a_max, a_arg = iou.max(dim=1)
    g_max = iou.max(dim=0).values
    g_max = torch.where(g_max == 0, torch.full_like(g_max, -1.0), g_max)
    forced = torch.nonzero(iou == g_max[None]).T[0].unique()
    labels[forced] = gt_labels[a_arg[forced]].long()
    pos = a_max >= matched
    labels[pos] = gt_labels[a_arg[pos]].long()
    labels[a_max < unmatched] = 0
    labels[forced] = gt_labels[a_arg[forced]].long()
    fg = labels > 0
    targets[fg] = ResidualCoder.encode(gt_boxes[a_arg[fg]], anchors[fg])
    return labels, targets, fg.to(anchors.dtype)
