"""PCK for semantic correspondence (E12): the PF-PASCAL / PF-WILLOW normalisations and dense flow PCK.

The counting itself is :func:`cvcore.metrics.pck_per_pair` (inclusive ``<=``, per-pair mean);
this module adds the choice of the threshold length ``L`` used by the official scripts.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from cvcore.metrics import pck_per_pair

__all__ = ["ALPHA", "EVAL_IMAGE_SIZE", "flow_pck", "pck", "pck_batch", "threshold_length", "valid_keypoints"]

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
    """Dense PCK (TSS protocol, reconstructed): fraction of foreground pixels whose estimated flow
    end point lies within ``alpha L`` of the ground truth.

    Args:
        est_flow_px, gt_flow_px: ``2 x H x W`` flows in pixels (NaN/inf in the ground truth = unknown).
        fg_mask: ``H x W`` foreground of the image the flows start from.
        alpha: 0.05 in the TSS protocol.
        L: threshold length; default ``max(H, W)``.
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
