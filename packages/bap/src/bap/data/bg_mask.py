"""Definite-background masks from boxes (spec §3.4, §3.18)."""

from __future__ import annotations

import numpy as np

__all__ = ["box_pixel_ranges", "boxes_to_bg_mask", "boxes_union_masks"]


def box_pixel_ranges(box: np.ndarray, height: int, width: int) -> tuple[slice, slice]:
    """Rows ``floor(y1) … floor(y2) - 1`` and columns ``floor(x1) … floor(x2) - 1`` (§3.18), clipped."""
    x1, y1, x2, y2 = (int(np.floor(v)) for v in np.asarray(box, dtype=np.float64)[:4])
    return slice(max(y1, 0), max(min(y2, height), 0)), slice(max(x1, 0), max(min(x2, width), 0))


def boxes_to_bg_mask(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(H, W)`` uint8: 1 outside every box, 0 inside some box (the ``BgMaskfromBoxes`` files)."""
    mask = np.ones((height, width), dtype=np.uint8)
    for b in np.asarray(boxes).reshape(-1, np.asarray(boxes).shape[-1] if np.asarray(boxes).size else 5):
        rs, cs = box_pixel_ranges(b, height, width)
        mask[rs, cs] = 0
    return mask


def boxes_union_masks(boxes: np.ndarray, height: int, width: int) -> dict[int, np.ndarray]:
    """Per class id, the bool ``(H, W)`` union ``B_c`` of its boxes."""
    out: dict[int, np.ndarray] = {}
    for b in np.asarray(boxes).reshape(-1, 5):
        c = int(b[4])
        m = out.setdefault(c, np.zeros((height, width), dtype=bool))
        rs, cs = box_pixel_ranges(b, height, width)
        m[rs, cs] = True
    return out
