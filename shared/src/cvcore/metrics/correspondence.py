"""Percentage of correct keypoints (PCK)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cvcore.metrics._arrays import as_numpy

__all__ = ["pck", "pck_per_pair"]


def pck_per_pair(
    pred: Any, target: Any, ref_length: float, *, alpha: float = 0.1, valid: Any = None, inclusive: bool = True
) -> float:
    """Fraction of keypoints with ``||pred - target|| <= alpha * ref_length`` for one image pair.

    Args:
        pred, target: ``(N, 2)`` keypoints (x, y) in pixels.
        ref_length: the normalising length, e.g. ``max(h, w)`` of the object's bounding box
            (PF-PASCAL) or of the image.
        alpha: the threshold factor.
        valid: optional ``(N,)`` bool mask of keypoints to count (others ignored).
        inclusive: ``<=`` (default) or ``<`` for the comparison.

    Returns NaN when no keypoint is valid.
    """
    p = as_numpy(pred, np.float64)
    t = as_numpy(target, np.float64)
    if p.shape != t.shape or p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"pred and target must both be (N, 2), got {p.shape} and {t.shape}")
    if ref_length <= 0:
        raise ValueError(f"ref_length must be positive, got {ref_length}")
    mask = np.ones(len(p), bool) if valid is None else as_numpy(valid).astype(bool).ravel()
    if not mask.any():
        return float("nan")
    dist = np.linalg.norm(p[mask] - t[mask], axis=1)
    thr = alpha * ref_length
    hits = dist <= thr if inclusive else dist < thr
    return float(hits.mean())


def pck(
    preds: Any, targets: Any, ref_lengths: Any, *, alpha: float = 0.1, valid: Any = None, inclusive: bool = True
) -> float:
    """Mean over pairs of :func:`pck_per_pair` (pairs without a valid keypoint are skipped).

    Args:
        preds, targets: ``(B, N, 2)`` keypoints.
        ref_lengths: ``(B,)`` normalising lengths.
        valid: optional ``(B, N)`` mask.
    """
    p = as_numpy(preds, np.float64)
    t = as_numpy(targets, np.float64)
    r = as_numpy(ref_lengths, np.float64).ravel()
    if p.ndim != 3 or p.shape != t.shape or len(r) != len(p):
        raise ValueError(f"expected (B, N, 2) keypoints and (B,) lengths, got {p.shape}, {t.shape}, {r.shape}")
    v = None if valid is None else as_numpy(valid).astype(bool)
    scores = [
        pck_per_pair(p[i], t[i], float(r[i]), alpha=alpha, valid=None if v is None else v[i], inclusive=inclusive)
        for i in range(len(p))
    ]
    scores = [s for s in scores if not np.isnan(s)]
    return float(np.mean(scores)) if scores else float("nan")
