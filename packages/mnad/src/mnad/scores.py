"""Frame scores and the frame-level AUC protocol (spec equations E8-E13, Sec. 7).

Images given to these functions are in ``[-1, 1]`` (the network's range) unless noted.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from cvcore.errors import DataError
from cvcore.metrics import roc_auc

__all__ = [
    "align_labels",
    "anomaly_scores",
    "frame_auc",
    "frame_mse",
    "minmax",
    "psnr",
    "video_ids_from_lengths",
    "weighted_regular_score",
]

#: Default mixing weight ``lambda`` of (E12) per variant (official ``Evaluate.py`` / README).
DEFAULT_LAMBDA = {"pred": 0.6, "recon": 0.7}
#: Default test-time update threshold ``gamma`` of (E10) per variant.
DEFAULT_GAMMA = {"pred": 0.01, "recon": 0.015}


def _to01(x: Tensor) -> Tensor:
    return (x.double() + 1.0) / 2.0


def frame_mse(pred: Tensor, target: Tensor) -> Tensor:
    """(E8) per-frame ``mean((pred - target)^2)`` over ``C*H*W`` after mapping ``[-1,1] -> [0,1]``.

    Args:
        pred, target: ``(B, C, H, W)`` or ``(C, H, W)`` in [-1, 1].

    Returns:
        ``(B,)`` float64 (a 0-d tensor for a single frame).
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    d = (_to01(pred) - _to01(target)) ** 2
    return d.mean(dim=(-3, -2, -1))


def psnr(mse: float | np.ndarray | Tensor) -> float | np.ndarray:
    """(E8) ``P = 10 log10(1 / mse)`` (peak 1, as in the official code; paper: ``max(I_hat)^2``)."""
    if isinstance(mse, Tensor):
        mse = mse.detach().cpu().numpy()
    m = np.asarray(mse, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(1.0 / m)
    return float(out) if out.ndim == 0 else out


def weighted_regular_score(pred: Tensor, target: Tensor) -> float:
    """(E10) ``eps = sum(w*e)/sum(w)`` with ``e = (I_hat - I)^2`` per element of the ``[0,1]``
    images and ``w = 1 - exp(-e)``; the test-time memory is updated iff ``eps < gamma``.

    Args:
        pred, target: one frame ``(C, H, W)`` or ``(1, C, H, W)`` in [-1, 1].

    Returns:
        The score (0 for a perfect prediction).
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    e = (_to01(pred) - _to01(target)) ** 2
    w = 1.0 - torch.exp(-e)
    total = w.sum()
    if float(total) == 0.0:
        return 0.0
    return float((w * e).sum() / total)


def minmax(x: np.ndarray | Sequence[float]) -> np.ndarray:
    """(E11) ``(x - min) / (max - min)`` over one video; a constant video gives zeros (and a
    warning) instead of the official NaNs (issue #42)."""
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        return a.copy()
    if not np.all(np.isfinite(a)):
        raise DataError("scores contain NaN or infinity (a frame predicted perfectly has infinite PSNR)")
    lo, hi = a.min(), a.max()
    if hi == lo:
        warnings.warn("constant values within a video: min-max normalised to zeros", RuntimeWarning, stacklevel=2)
        return np.zeros_like(a)
    return (a - lo) / (hi - lo)


def video_ids_from_lengths(lengths: Sequence[int]) -> np.ndarray:
    """``[2, 3] -> [0, 0, 1, 1, 1]``."""
    return np.repeat(np.arange(len(lengths)), np.asarray(lengths, dtype=np.int64))


def _group_ids(n: int, videos: Sequence | np.ndarray | None, video_ids: Sequence | None,
               video_lengths: Sequence[int] | None) -> np.ndarray:
    if video_ids is not None:
        ids = np.asarray(video_ids)
    elif video_lengths is not None:
        ids = video_ids_from_lengths(video_lengths)
    elif videos is None:
        ids = np.zeros(n, dtype=np.int64)
    else:
        arr = np.asarray(videos).ravel()
        # One entry per frame: per-frame video ids; otherwise a list of video lengths.
        ids = arr if arr.size == n else video_ids_from_lengths(arr.astype(np.int64))
    if ids.size != n:
        raise ValueError(f"video ids/lengths describe {ids.size} frames, scores have {n}")
    return ids


def _groups(ids: np.ndarray) -> list[np.ndarray]:
    """Indices of each video in order of first appearance (ids need not be sorted)."""
    _, first = np.unique(ids, return_index=True)
    return [np.flatnonzero(ids == ids[i]) for i in sorted(first)]


def anomaly_scores(
    psnr_values: np.ndarray | Sequence[float],
    feat_dist: np.ndarray | Sequence[float],
    videos: Sequence | np.ndarray | None = None,
    lam: float = 0.6,
    *,
    video_ids: Sequence | None = None,
    video_lengths: Sequence[int] | None = None,
) -> np.ndarray:
    """(E12) ``A_t = lam*(1 - g(P)_t) + (1 - lam)*g(D)_t`` with per-video min-max ``g`` (E11).

    Args:
        psnr_values: ``(T,)`` PSNR per frame (E8), all videos concatenated.
        feat_dist: ``(T,)`` feature distance per frame (E9).
        videos: per-frame video ids ``(T,)`` or a list of video lengths summing to ``T``.
        lam: weight of the PSNR cue (0.6 pred, 0.7 recon; 1 = PSNR only).
        video_ids / video_lengths: the same, unambiguous.

    Returns:
        ``(T,)`` float64 anomaly scores in [0, 1], higher = more abnormal. The official normality
        score is ``1 - A``.
    """
    p = np.asarray(psnr_values, dtype=np.float64).ravel()
    d = np.asarray(feat_dist, dtype=np.float64).ravel()
    if p.shape != d.shape:
        raise ValueError(f"psnr ({p.size}) and feature distance ({d.size}) differ in length")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], got {lam}")
    ids = _group_ids(p.size, videos, video_ids, video_lengths)
    out = np.empty_like(p)
    for idx in _groups(ids):
        gp = minmax(p[idx])
        gd = minmax(d[idx]) if lam < 1.0 else np.zeros(idx.size)
        out[idx] = lam * (1.0 - gp) + (1.0 - lam) * gd
    return out


def frame_auc(
    scores: np.ndarray | Sequence[float],
    labels: np.ndarray | Sequence[int],
    *,
    video_ids: Sequence | np.ndarray | None = None,
    mode: Literal["pooled", "per_video"] = "pooled",
) -> float:
    """(E13) Frame-level ROC-AUC (0..1; the paper reports x100), scores high = abnormal.

    ``pooled`` (paper, "micro"): one ROC over all frames of all videos. ``per_video`` ("macro"):
    mean AUC over the videos that contain both classes (needs ``video_ids``).

    Raises:
        DataError: labels of a single class (AUC undefined), or no video with both classes.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise DataError(f"{s.size} scores but {y.size} labels: labels do not match the test frames")
    if not np.isin(np.unique(y), (0, 1)).all():
        raise DataError(f"labels must be 0 (normal) or 1 (abnormal), got values {np.unique(y)[:5].tolist()}")
    y = y.astype(np.int64)
    mode = mode.replace("-", "_")  # type: ignore[assignment]
    if mode == "pooled":
        if y.size == 0 or y.min() == y.max():
            raise DataError("frame AUC is undefined: all labels belong to one class")
        return roc_auc(s, y)
    if mode == "per_video":
        if video_ids is None:
            raise ValueError("mode='per_video' needs video_ids")
        ids = np.asarray(video_ids).ravel()
        if ids.size != s.size:
            raise ValueError(f"{ids.size} video ids for {s.size} scores")
        aucs = [roc_auc(s[i], y[i]) for i in _groups(ids) if 0 < y[i].sum() < i.size]
        if not aucs:
            raise DataError("per-video AUC is undefined: no video contains both normal and abnormal frames")
        return float(np.mean(aucs))
    raise ValueError(f"mode must be 'pooled' or 'per_video', got {mode!r}")


def align_labels(labels: np.ndarray | Sequence[int], video_lengths: Sequence[int], t_length: int) -> np.ndarray:
    """Drop the first ``t_length - 1`` labels of every video (no prediction exists for them).

    Args:
        labels: ``(sum(video_lengths),)`` concatenated per-frame labels (or ``(1, n)``).
        video_lengths: frames per video, in the test order.
        t_length: 5 for prediction (drops 4), 1 for reconstruction (keeps all).

    Returns:
        ``(sum(max(L - t_length + 1, 0)),)`` labels of the scored frames.
    """
    y = np.asarray(labels).reshape(-1)
    lengths = [int(n) for n in video_lengths]
    if y.size != sum(lengths):
        raise DataError(f"label array has {y.size} frames, the test videos have {sum(lengths)}")
    if t_length < 1:
        raise ValueError(f"t_length must be >= 1, got {t_length}")
    out, start = [], 0
    for n in lengths:
        out.append(y[start + t_length - 1:start + n])
        start += n
    return np.concatenate(out) if out else y[:0]
