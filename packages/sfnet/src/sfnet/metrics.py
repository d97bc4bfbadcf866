"""PCK for semantic correspondence (E12): the PF-PASCAL / PF-WILLOW normalisations and dense flow PCK;
mask-transfer scores of the Caltech-101 protocol (LT-ACC, IoU, LOC-ERR).

The counting itself is :func:`cvcore.metrics.pck_per_pair` (inclusive ``<=``, per-pair mean);
this module adds the choice of the threshold length ``L`` used by the official scripts.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from cvcore.metrics import confusion_matrix, pck_per_pair

__all__ = ["ALPHA", "EVAL_IMAGE_SIZE", "flow_pck", "label_transfer_accuracy", "localization_error", "mask_iou",
           "pck", "pck_batch", "threshold_length", "valid_keypoints"]

#: default PCK threshold factor (official ``eval_pascal.py``/``eval_willow.py``).
ALPHA = 0.1
#: side of the resized test image in the ``image_size`` normalisation (16 * (20 - 2)).
EVAL_IMAGE_SIZE = 288

EvalType = Literal["image_size", "bounding_box"]


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float64)


def valid_keypoints(points: Any) -> np.ndarray:
    """``2 x K`` keypoints with ``-1`` for missing -> ``K`` bool mask (both coordinates != -1)."""
    p = _np(points)
    return (p[0] != -1) & (p[1] != -1)


def threshold_length(benchmark: str, eval_type: EvalType, src_points: Any = None, bbox_length: float | None = None,
                     image_size: int = EVAL_IMAGE_SIZE) -> float:
    """The PCK length ``L`` of one pair (spec section 3, "Threshold length").

    - ``image_size`` (PF-PASCAL and PF-WILLOW): ``max(288, 288)``, keypoints in the 288 x 288 frame;
    - ``bounding_box`` on ``pf-pascal``: the CSV's ``L_pck`` column (source object bbox, original pixels);
    - ``bounding_box`` on ``pf-willow``: ``max(max_x - min_x, max_y - min_y)`` of the valid source keypoints.
    """
    if eval_type == "image_size":
        return float(max(image_size, image_size))
    if eval_type != "bounding_box":
        raise ValueError(f"eval_type must be 'image_size' or 'bounding_box', got {eval_type!r}")
    if benchmark == "pf-pascal":
        if bbox_length is None:
            raise ValueError("PF-PASCAL bounding-box PCK needs the pair's L_pck value")
        return float(bbox_length)
    if benchmark == "pf-willow":
        p = _np(src_points)
        v = valid_keypoints(p)
        if not v.any():
            raise ValueError("no valid source keypoint to build the PF-WILLOW bounding box")
        xs, ys = p[0][v], p[1][v]
        return float(max(xs.max() - xs.min(), ys.max() - ys.min()))
    raise ValueError(f"unknown benchmark {benchmark!r} (pf-pascal or pf-willow)")


def pck(src_pts: Any, est_pts: Any, L: float, alpha: float = ALPHA) -> float:
    """(E12) for one pair: fraction of valid keypoints with ``|p - p^| <= alpha L``.

    Args:
        src_pts: annotated source keypoints ``2 x K`` (pixels, ``-1`` = missing).
        est_pts: transferred keypoints ``2 x K``.
        L: threshold length (:func:`threshold_length`).

    Returns:
        PCK in [0, 1]; NaN when no keypoint is valid.
    """
    s, e = _np(src_pts), _np(est_pts)
    if s.shape != e.shape or s.ndim != 2 or s.shape[0] != 2:
        raise ValueError(f"expected 2 x K keypoints, got {s.shape} and {e.shape}")
    return pck_per_pair(e.T, s.T, float(L), alpha=alpha, valid=valid_keypoints(s))


def pck_batch(src_pts: Any, est_pts: Any, L: Any, alpha: float = ALPHA) -> torch.Tensor:
    """Per-pair PCK of ``B x 2 x K`` keypoints with ``B`` lengths -> float64 tensor ``B``."""
    s, e, lengths = _np(src_pts), _np(est_pts), _np(L).ravel()
    if s.ndim != 3 or len(lengths) != len(s):
        raise ValueError(f"expected B x 2 x K keypoints and B lengths, got {s.shape} and {lengths.shape}")
    return torch.tensor([pck(s[i], e[i], float(lengths[i]), alpha) for i in range(len(s))], dtype=torch.float64)


def flow_pck(est_flow_px: Any, gt_flow_px: Any, fg_mask: Any, alpha: float = 0.05, L: float | None = None) -> float:
    """Dense PCK (TSS protocol, reconstructed): fraction of the counted pixels with a known
    ground truth whose estimated flow end point lies within ``alpha L`` of it (inclusive).

    Args:
        est_flow_px, gt_flow_px: ``2 x H x W`` flows in pixels (NaN/inf/> 1e9 in the ground truth = unknown).
        fg_mask: ``H x W`` pixels to count (the foreground, or all ``True`` for every known pixel as
            the TSS toolkit does).
        alpha: 0.05 in the TSS protocol.
        L: threshold length; default ``max(H, W)`` of the flow (the TSS toolkit uses the size of
            the image the flow points into; :class:`~sfnet.data.TSS` items carry it as ``L``).
    """
    e, g = _np(est_flow_px), _np(gt_flow_px)
    m = _np(fg_mask).astype(bool)
    if e.shape != g.shape or e.ndim != 3 or e.shape[0] != 2 or m.shape != e.shape[1:]:
        raise ValueError(f"expected 2 x H x W flows and an H x W mask, got {e.shape}, {g.shape}, {m.shape}")
    m = m & np.isfinite(g).all(0) & (np.abs(g) < 1e9).all(0)
    if not m.any():
        return float("nan")
    length = float(max(e.shape[1:])) if L is None else float(L)
    d = np.hypot(*(e[:, m] - g[:, m]))
    return float((d <= alpha * length).mean())


# -- Caltech-101 mask transfer (CNNGeo / weakalign protocol, reconstructed) ---------------------------

def _binary_confusion(warped_mask: Any, target_mask: Any) -> np.ndarray:
    w, t = _np(warped_mask), _np(target_mask)
    if w.shape != t.shape or w.ndim != 2:
        raise ValueError(f"expected two H x W masks of one size, got {w.shape} and {t.shape}")
    return confusion_matrix((w > 0.5).astype(np.int64), (t > 0.5).astype(np.int64), 2, ignore_index=None)


def label_transfer_accuracy(warped_mask: Any, target_mask: Any) -> float:
    """LT-ACC: fraction of target pixels whose transferred label (``warped > 0.5``) equals the
    target label (``target > 0.5``), over the whole image (foreground and background)."""
    cm = _binary_confusion(warped_mask, target_mask)
    return float(np.trace(cm) / cm.sum())


def mask_iou(warped_mask: Any, target_mask: Any) -> float:
    """IoU of the thresholded (``> 0.5``) transferred and target foregrounds; NaN if both are empty."""
    cm = _binary_confusion(warped_mask, target_mask)
    union = cm[1, 1] + cm[0, 1] + cm[1, 0]
    return float(cm[1, 1] / union) if union else float("nan")


def _box_coordinates(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel coordinates relative to the mask's bounding box (protocol's ``obj_ptr``): 1-based
    pixel positions minus the 0-based box corner, divided by the box size."""
    ys, xs = np.nonzero(mask > 0.5)
    left, top = xs.min(), ys.min()
    fw, fh = xs.max() - left + 1, ys.max() - top + 1
    h, w = mask.shape
    gx, gy = np.meshgrid(np.arange(1, w + 1, dtype=np.float64), np.arange(1, h + 1, dtype=np.float64))
    return (gx - left) / fw, (gy - top) / fh


def localization_error(source_mask: Any, target_mask: Any, grid_t2s: Any) -> float:
    """LOC-ERR of a dense target->source grid (protocol of DSP, as computed by CNNGeo / weakalign).

    Every target pixel whose grid point lies strictly inside ``(-1, 1)^2`` is mapped to the source
    pixel ``floor(x_s), floor(y_s)`` (``x_s = (g_x + 1)(W_s - 1)/2``); the error is the mean over
    these pixels of ``|x_t' - x_s'| + |y_t' - y_s'|``, where ``'`` are coordinates relative to the
    bounding box of the respective object mask (``(x + 1 - left) / width``).

    Args:
        source_mask: ``H_s x W_s``; target_mask: ``H_t x W_t``.
        grid_t2s: ``H_t x W_t x 2`` normalised (x, y) source positions of the target pixels.

    Returns:
        LOC-ERR (lower is better); NaN if a mask is empty or no grid point is inside.
    """
    s, t, g = _np(source_mask), _np(target_mask), _np(grid_t2s)
    if g.shape != (*t.shape, 2):
        raise ValueError(f"grid must be H_t x W_t x 2 = {(*t.shape, 2)}, got {g.shape}")
    if not (s > 0.5).any() or not (t > 0.5).any():
        return float("nan")
    hs, ws = s.shape
    inside = (g[..., 0] > -1) & (g[..., 0] < 1) & (g[..., 1] > -1) & (g[..., 1] < 1)
    if not inside.any():
        return float("nan")
    rows, cols = np.nonzero(inside)
    xs = np.floor((g[rows, cols, 0] + 1) * (ws - 1) / 2).astype(np.int64)
    ys = np.floor((g[rows, cols, 1] + 1) * (hs - 1) / 2).astype(np.int64)
    tx, ty = _box_coordinates(t)
    sx, sy = _box_coordinates(s)
    err = np.abs(tx[rows, cols] - sx[ys, xs]) + np.abs(ty[rows, cols] - sy[ys, xs])
    return float(err.mean())
