"""Luma (E1) and its inverse for the colour round trip of :func:`pisr.upscale`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cvcore.metrics import rgb_to_y as _cv_rgb_to_y

__all__ = ["rgb_to_y", "rgb_to_ycbcr", "ycbcr_to_rgb"]

_Y = (65.481, 128.553, 24.966)


def rgb_to_y(img: Any) -> Any:
    """(E1): ``Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255`` with R, G, B in [0, 1].

    Args:
        img: numpy ``(H, W, 3)`` (uint8 in [0, 255] or float in [0, 1]) or a tensor
            ``(..., 3, H, W)`` in [0, 1].

    Returns:
        float Y in ``[16/255, 235/255]``, not rounded: ``(H, W)`` float64 for numpy,
        ``(..., 1, H, W)`` for tensors.
    """
    if isinstance(img, torch.Tensor):
        if img.ndim < 3 or img.shape[-3] != 3:
            raise ValueError(f"expected a (..., 3, H, W) tensor, got {tuple(img.shape)}")
        w = torch.tensor(_Y, dtype=img.dtype, device=img.device).view(3, 1, 1)
        return (16.0 + (img * w).sum(dim=-3, keepdim=True)) / 255.0
    a = np.asarray(img)
    if a.dtype == np.uint8:
        return _cv_rgb_to_y(a) / 255.0
    return _cv_rgb_to_y(a.astype(np.float64), data_range=1.0)


def rgb_to_ycbcr(img: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 3)`` RGB -> float64 YCbCr in [0, 255] (BT.601 studio swing, MATLAB rgb2ycbcr)."""
    a = np.asarray(img, dtype=np.float64) / 255.0
    m = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
    return a @ m.T + np.array([16.0, 128.0, 128.0])


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`: float YCbCr in [0, 255] -> uint8 RGB (rounded, clipped)."""
    m = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
    rgb = (np.asarray(ycc, dtype=np.float64) - np.array([16.0, 128.0, 128.0])) @ np.linalg.inv(m).T
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
