"""Segmentation evaluation of the official ``SemSegEvaluator`` (spec E21, §3.32) on ``cvcore.metrics``."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from cvcore.metrics import ConfusionMatrix, segmentation_scores

__all__ = ["SegmentationEvaluator", "official_miou"]


def official_miou(cm: np.ndarray) -> float:
    """``sum_{c: GT_c > 0} IoU_c / |{c: GT_c + PR_c > 0}|`` (E21): a class predicted but absent from the
    ground truth adds 0 to the numerator and 1 to the denominator."""
    cm = np.asarray(cm, dtype=np.float64)
    tp, gt, pr = np.diag(cm), cm.sum(1), cm.sum(0)
    present = (gt + pr) > 0
    if not present.any():
        return float("nan")
    iou = np.where(gt > 0, tp / np.maximum(gt + pr - tp, 1e-300), 0.0)
    return float(iou[gt > 0].sum() / present.sum())


class SegmentationEvaluator:
    """Accumulates label maps and reports mIoU (official or standard), pixel/mean accuracy, fwIoU.

    Args:
        num_classes: 21 for VOC.
        ignore_index: void label (255), skipped.
        miou_mode: ``"official"`` (E21), ``"standard"`` (mean over classes present in GT or prediction,
            ``cvcore.metrics.segmentation_scores``) or ``"gt"`` (mean over classes present in GT).
            Note: ``official`` and ``standard`` are equal by construction (a class predicted but absent
            from GT has IoU 0 and counts once in both denominators); only ``gt`` differs, exactly
            when such a class exists.
    """

    def __init__(self, num_classes: int = 21, ignore_index: int = 255,
                 miou_mode: Literal["official", "standard", "gt"] = "official") -> None:
        if miou_mode not in ("official", "standard", "gt"):
            raise ValueError(f"miou_mode must be 'official', 'standard' or 'gt', got {miou_mode!r}")
        self.cm = ConfusionMatrix(num_classes, ignore_index=ignore_index)
        self.miou_mode = miou_mode
        self.n_images = 0

    def update(self, pred: Any, gt: Any) -> None:
        """``pred``/``gt``: integer ``(H, W)`` or ``(B, H, W)`` arrays/tensors of the same shape."""
        p, g = np.asarray(pred), np.asarray(gt)
        if p.shape != g.shape:
            raise ValueError(f"prediction {p.shape} and ground truth {g.shape} differ in shape")
        self.cm.update(p, g)
        self.n_images += 1 if p.ndim == 2 else p.shape[0]

    def compute(self) -> dict[str, Any]:
        """``miou``, ``miou_official``, ``miou_standard``, ``pixel_acc``, ``mean_acc``, ``fwiou``,
        ``per_class_iou`` (fractions in [0, 1], NaN for absent classes), ``n_images``."""
        cm = self.cm.matrix.astype(np.float64)
        s = segmentation_scores(cm)
        tp, gt = np.diag(cm), cm.sum(1)
        iou = np.asarray(s["iou"], dtype=np.float64)
        total = gt.sum()
        fw = float(((gt / total) * np.nan_to_num(iou))[gt > 0].sum()) if total else float("nan")
        off = official_miou(cm)
        gt_iou = iou[gt > 0]
        miou_gt = float(gt_iou.mean()) if gt_iou.size else float("nan")
        modes = {"official": off, "standard": s["miou"], "gt": miou_gt}
        return {"miou": modes[self.miou_mode], "miou_official": off, "miou_standard": s["miou"], "miou_gt": miou_gt, "pixel_acc": float(tp.sum() / total) if total else float("nan"),
                "mean_acc": s["mean_acc"], "fwiou": fw, "per_class_iou": iou.tolist(), "n_images": self.n_images}
