"""GZS3 evaluation (spec E16-E18, §7) on top of ``cvcore.metrics.ConfusionMatrix``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from cvcore.metrics import ConfusionMatrix, segmentation_scores
from cvcore.metrics.segmentation import harmonic_mean

__all__ = ["GZSEvaluator", "gzs_scores"]

NanMode = Literal["zero", "skip"]


def _mean(x: np.ndarray, nan_mode: NanMode) -> float:
    if nan_mode == "zero":
        return float(np.nan_to_num(x, nan=0.0).mean()) if x.size else float("nan")
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def _group_pixel_acc(cm: np.ndarray, ids: Sequence[int]) -> float:
    ids = list(ids)
    if not ids:
        return float("nan")
    rows = cm[ids].sum()
    return float(np.diag(cm)[ids].sum() / rows) if rows else 0.0


def gzs_scores(cm: np.ndarray, seen: Sequence[int], unseen: Sequence[int], nan_mode: NanMode = "zero") -> dict[str, Any]:
    """Seen/unseen/harmonic/overall mIoU, pixel accuracy and mean accuracy, fractions in [0, 1].

    IoUs and overall scores come from :func:`cvcore.metrics.segmentation_scores`; undefined
    (0/0) per-class values count as 0 with ``nan_mode="zero"`` (official ``nan_to_num``) and are
    left out of the means with ``"skip"``.
    """
    if nan_mode not in ("zero", "skip"):
        raise ValueError(f"nan_mode must be 'zero' or 'skip', got {nan_mode!r}")
    cm = np.asarray(cm, dtype=np.int64)
    base = segmentation_scores(cm, seen=list(seen), unseen=list(unseen))
    iou = np.asarray(base["iou"], dtype=np.float64)
    gt = cm.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = np.where(gt > 0, np.diag(cm) / np.where(gt > 0, gt, 1), np.nan)
    s, u = list(seen), list(unseen)
    if nan_mode == "skip":  # exactly cvcore's NaN-skipping means
        miou_s, miou_u, miou_all = base["miou_seen"], base["miou_unseen"], base["miou"]
        macc_all = base["mean_acc"]
    else:
        miou_s, miou_u, miou_all = _mean(iou[s], nan_mode), _mean(iou[u], nan_mode), _mean(iou, nan_mode)
        macc_all = _mean(acc, nan_mode)
    macc_s, macc_u = _mean(acc[s], nan_mode), _mean(acc[u], nan_mode)
    pa_s, pa_u = _group_pixel_acc(cm, s), _group_pixel_acc(cm, u)
    return {
        "miou": {"seen": miou_s, "unseen": miou_u, "harmonic": harmonic_mean(miou_s, miou_u),
                 "overall": miou_all, "per_class": np.nan_to_num(iou, nan=0.0).tolist() if nan_mode == "zero" else iou.tolist()},
        "pixel_acc": {"seen": pa_s, "unseen": pa_u, "harmonic": harmonic_mean(pa_s, pa_u), "overall": base["pixel_acc"]},
        "mean_acc": {"seen": macc_s, "unseen": macc_u, "harmonic": harmonic_mean(macc_s, macc_u), "overall": macc_all},
    }


class GZSEvaluator:
    """Accumulate predictions over a data set and score them (E16-E18).

    ``update(pred (…), gt (…))``: integer maps of the same shape; gt pixels with label
    ``>= num_classes`` (e.g. 255) are ignored.
    """

    def __init__(self, num_classes: int, seen: Sequence[int], unseen: Sequence[int], nan_mode: NanMode = "zero",
                 ignore_index: int = 255) -> None:
        if set(seen) & set(unseen):
            raise ValueError(f"classes both seen and unseen: {sorted(set(seen) & set(unseen))}")
        self.cm = ConfusionMatrix(num_classes, ignore_index=ignore_index)
        self.num_classes, self.seen, self.unseen, self.nan_mode = num_classes, list(seen), list(unseen), nan_mode
        self.ignore_index = ignore_index

    def update(self, pred: Any, gt: Any) -> None:
        p = pred.detach().cpu().numpy() if hasattr(pred, "detach") else np.asarray(pred)
        g = gt.detach().cpu().numpy() if hasattr(gt, "detach") else np.asarray(gt)
        if p.shape != g.shape:
            raise ValueError(f"prediction {p.shape} and ground truth {g.shape} differ in shape")
        g = np.where((g >= self.num_classes) | (g < 0), self.ignore_index, g)
        self.cm.update(p, g)

    def reset(self) -> None:
        self.cm.reset()

    @property
    def matrix(self) -> np.ndarray:
        return self.cm.matrix

    def compute(self) -> dict[str, Any]:
        return gzs_scores(self.cm.matrix, self.seen, self.unseen, self.nan_mode)
