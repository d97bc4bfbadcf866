"""Greedy rotated-BEV non-maximum suppression (E37, §3.8 ``nms_gpu`` semantics)."""

from __future__ import annotations

import torch
from torch import Tensor

from hvpr.ops.iou import rotated_iou_bev


def nms_bev(
    boxes: Tensor, scores: Tensor, iou_thresh: float, pre_max: int | None = None, post_max: int | None = None
) -> Tensor:
    """Indices (LongTensor, into the input, by descending score) of the boxes (N, 7) kept by NMS.

    Boxes are sorted by score (stable: ties keep input order), the first ``pre_max`` are considered, and
    walking in that order a box is suppressed when its rotated BEV IoU with an already kept box is
    strictly greater than ``iou_thresh``; at most ``post_max`` indices are returned.
    """
    order = torch.sort(scores, descending=True, stable=True).indices
    if pre_max is not None:
        order = order[:pre_max]
    if order.numel() == 0:
        return order
    iou = rotated_iou_bev(boxes[order].double(), boxes[order].double()).cpu()
    n = order.numel()
    suppressed = torch.zeros(n, dtype=torch.bool)
    keep: list[int] = []
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        if post_max is not None and len(keep) >= post_max:
            break
        suppressed |= iou[i] > iou_thresh
    return order[torch.tensor(keep, dtype=torch.long, device=order.device)]
