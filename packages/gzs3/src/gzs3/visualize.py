"""Overlays of predicted label maps; unseen classes are outlined in white."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cvcore.viz import overlay_mask, voc_palette

__all__ = ["colorize", "overlay"]


def colorize(labels: np.ndarray, palette: np.ndarray | None = None) -> np.ndarray:
    """``(H, W)`` ids → ``(H, W, 3)`` uint8 colours (VOC palette; 255 stays white-ish per palette)."""
    pal = voc_palette() if palette is None else palette
    return pal[np.clip(np.asarray(labels, dtype=np.int64), 0, len(pal) - 1)]


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(bool)
    edge = np.zeros_like(m)
    edge[1:] |= m[1:] != m[:-1]
    edge[:-1] |= m[1:] != m[:-1]
    edge[:, 1:] |= m[:, 1:] != m[:, :-1]
    edge[:, :-1] |= m[:, 1:] != m[:, :-1]
    return edge & m


def overlay(image_u8: Any, labels: np.ndarray, unseen: Sequence[int] = (), alpha: float = 0.5) -> np.ndarray:
    """Blend ``labels (H, W)`` over ``image_u8 (H, W, 3)``; pixels of unseen classes get a white outline."""
    lab = np.asarray(labels)
    out = overlay_mask(image_u8, lab, alpha=alpha)
    if len(unseen):
        out[_boundary(np.isin(lab, list(unseen)))] = 255
    return out
