"""Bird's-eye-view pictures of a scan with boxes (spec §10.6), NumPy + Pillow only (no OpenCV, no mayavi).

Orientation: forward (+x) points up, left (+y) points left, as seen from above the sensor. Points are grey
pixels (brighter = more points), ground-truth boxes green, predicted boxes red (with their score), each box a
rotated rectangle with a tick from the centre to the front face (heading).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

GT_COLOR = (40, 220, 60)
PRED_COLOR = (255, 60, 40)


def _np(x: Any) -> np.ndarray:
    if x is None:
        return np.zeros((0, 7), np.float64)
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, np.float64)


def box_corners_bev(boxes: np.ndarray) -> np.ndarray:
    """(M, ≥7) LiDAR boxes -> (M, 4, 2) ground-plane corners (front-left, front-right, rear-right, rear-left)."""
    b = _np(boxes).reshape(-1, _np(boxes).shape[-1] if _np(boxes).size else 7)
    local = np.array([[0.5, 0.5], [0.5, -0.5], [-0.5, -0.5], [-0.5, 0.5]])
    xy = local[None] * b[:, None, 3:5]
    c, s = np.cos(b[:, 6])[:, None], np.sin(b[:, 6])[:, None]
    return np.stack([c * xy[..., 0] - s * xy[..., 1], s * xy[..., 0] + c * xy[..., 1]], -1) + b[:, None, :2]


def bev_image(points: Any, gt_boxes: Any = None, pred_boxes: Any = None, scores: Any = None,
              range: Sequence[float] = (0.0, -20.0, 40.0, 20.0), resolution: float = 0.1) -> np.ndarray:
    """Render a BEV picture (H, W, 3) uint8 of ``points`` (N, ≥2) in the window ``range`` = (x_min, y_min,
    x_max, y_max) metres at ``resolution`` metres per pixel, with gt (green) and predicted (red) boxes (M, ≥7)."""
    x0, y0, x1, y1 = (float(v) for v in range)
    if not (x1 > x0 and y1 > y0 and resolution > 0):
        raise ValueError(f"bad BEV window {range} / resolution {resolution}")
    h, w = int(round((x1 - x0) / resolution)), int(round((y1 - y0) / resolution))
    pts = _np(points).reshape(-1, _np(points).shape[-1] if _np(points).size else 4)
    img = np.zeros((h, w), np.float64)
    if len(pts):
        r = np.floor((x1 - pts[:, 0]) / resolution).astype(np.int64)
        c = np.floor((y1 - pts[:, 1]) / resolution).astype(np.int64)
        ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        np.add.at(img, (r[ok], c[ok]), 1.0)
    grey = np.where(img > 0, 90 + 165 * np.minimum(np.log1p(img) / np.log(8.0), 1.0), 0).astype(np.uint8)
    canvas = Image.fromarray(np.stack([grey] * 3, -1))
    draw = ImageDraw.Draw(canvas)

    def to_px(xy: np.ndarray) -> list[tuple[float, float]]:
        return [((y1 - y) / resolution, (x1 - x) / resolution) for x, y in xy]

    score_list = _np(scores).reshape(-1) if scores is not None else None
    for boxes, color, with_scores in ((gt_boxes, GT_COLOR, False), (pred_boxes, PRED_COLOR, True)):
        b = _np(boxes)
        if b.size == 0:
            continue
        b = b.reshape(-1, b.shape[-1])
        for i, corners in enumerate(box_corners_bev(b)):
            px = to_px(corners)
            draw.polygon(px, outline=color)
            centre = to_px(b[i:i + 1, :2])[0]
            front = to_px(((corners[0] + corners[1]) / 2)[None])[0]
            draw.line([centre, front], fill=color)
            if with_scores and score_list is not None and i < len(score_list):
                draw.text((px[0][0] + 2, px[0][1] - 10), f"{score_list[i]:.2f}", fill=color)
    return np.asarray(canvas)


def save_bev_png(path: str | Path, points: Any, gt_boxes: Any = None, pred_boxes: Any = None, scores: Any = None,
                 range: Sequence[float] = (0.0, -20.0, 40.0, 20.0), resolution: float = 0.1) -> Path:
    """:func:`bev_image` written atomically as PNG (``cvcore.viz.save_png``)."""
    from cvcore.viz import save_png

    return save_png(path, bev_image(points, gt_boxes, pred_boxes, scores, range, resolution))


__all__ = ["bev_image", "box_corners_bev", "save_bev_png"]
_ = Image
