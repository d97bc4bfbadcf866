"""Confusion-matrix segmentation metrics: pixel acc, mean acc, (per-class, seen, unseen) IoU.

Conventions (those of the DeepLab / FCN evaluation scripts): rows are ground truth, columns
predictions; pixels whose label is ``ignore_index`` are skipped; a class that appears in neither
ground truth nor prediction has IoU NaN and is left out of every mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cvcore.metrics._arrays import as_numpy

__all__ = ["ConfusionMatrix", "confusion_matrix", "harmonic_mean", "segmentation_scores"]


def confusion_matrix(pred: Any, target: Any, num_classes: int, *, ignore_index: int | None = 255) -> np.ndarray:
    """``(C, C)`` int64 counts; ``cm[t, p]`` = pixels of true class t predicted as p.

    ``pred`` and ``target`` are integer arrays/tensors of the same shape. Target labels outside
    ``[0, C)`` other than ``ignore_index`` are an error; so are such predictions.
    """
    p = as_numpy(pred).astype(np.int64, copy=False).ravel()
    t = as_numpy(target).astype(np.int64, copy=False).ravel()
    if p.shape != t.shape:
        raise ValueError(f"pred and target differ in size: {p.size} vs {t.size}")
    keep = np.ones_like(t, dtype=bool) if ignore_index is None else t != ignore_index
    p, t = p[keep], t[keep]
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(f"target labels must be in [0, {num_classes}) or {ignore_index}, got {t.min()}..{t.max()}")
    if p.size and (p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f"predicted labels must be in [0, {num_classes}), got {p.min()}..{p.max()}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)``; 0 when both are 0, NaN when either is NaN."""
    if np.isnan(a) or np.isnan(b):
        return float("nan")
    return 0.0 if a + b == 0 else float(2 * a * b / (a + b))


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def segmentation_scores(
    cm: np.ndarray, *, seen: Sequence[int] | None = None, unseen: Sequence[int] | None = None
) -> dict[str, Any]:
    """Scores in [0, 1] from a confusion matrix.

    Returns ``pixel_acc``, ``mean_acc``, ``miou``, ``iou`` (list, NaN for absent classes) and,
    when ``seen``/``unseen`` class ids are given, ``miou_seen``, ``miou_unseen`` and
    ``miou_harmonic`` (their harmonic mean).
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got {cm.shape}")
    tp = np.diag(cm)
    gt = cm.sum(axis=1)
    pr = cm.sum(axis=0)
    union = gt + pr - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        acc = np.where(gt > 0, tp / gt, np.nan)
    total = cm.sum()
    out: dict[str, Any] = {
        "pixel_acc": float(tp.sum() / total) if total else float("nan"),
        "mean_acc": _nanmean(acc),
        "miou": _nanmean(iou),
        "iou": iou.tolist(),
    }
    if seen is not None or unseen is not None:
        s = _nanmean(iou[list(seen or [])]) if seen else float("nan")
        u = _nanmean(iou[list(unseen or [])]) if unseen else float("nan")
        out.update(miou_seen=s, miou_unseen=u, miou_harmonic=harmonic_mean(s, u))
    return out


class ConfusionMatrix:
    """Accumulates a confusion matrix over batches.

    Example::

        cm = ConfusionMatrix(21)
        for pred, label in batches:
            cm.update(pred, label)
        scores = cm.compute()
    """

    def __init__(self, num_classes: int, *, ignore_index: int | None = 255) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, pred: Any, target: Any) -> None:
        self.matrix += confusion_matrix(pred, target, self.num_classes, ignore_index=self.ignore_index)

    def merge(self, other: np.ndarray) -> None:
        """Add counts from another matrix (e.g. all-reduced across ranks)."""
        self.matrix += np.asarray(other, dtype=np.int64)

    def reset(self) -> None:
        self.matrix[:] = 0

    def compute(self, *, seen: Sequence[int] | None = None, unseen: Sequence[int] | None = None) -> dict[str, Any]:
        return segmentation_scores(self.matrix, seen=seen, unseen=unseen)
