"""Inference: super-resolve a Y plane (optionally tiled) and colour images (Y by the network, CbCr bicubic)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from pisr.data.color import rgb_to_ycbcr, ycbcr_to_rgb
from pisr.data.imresize import imresize

__all__ = ["TILE_HALO", "super_resolve_y", "upscale"]

# LR pixels of context around a tile: FSRCNN sees +-2 (5x5) +4 (four 3x3) and the 9x9 transposed
# conv reaches ceil(4/s)+1 more; 12 keeps tiled outputs equal to the whole-image output.
TILE_HALO = 12


@torch.no_grad()
def super_resolve_y(model: torch.nn.Module, y: Any, *, tile: int | None = None,
                    device: torch.device | str = "cpu") -> np.ndarray:
    """LR Y ``(h, w)`` in [0, 1] -> SR Y ``(s*h, s*w)`` float64 (not clamped or quantised).

    Args:
        model: an LR->HR network with integer attribute ``scale`` (FSRCNN).
        tile: LR tile side; None = whole image. Tiles overlap by :data:`TILE_HALO` LR pixels so
            the result equals the untiled one up to float rounding.
    """
    s = int(model.scale)
    t = torch.as_tensor(np.asarray(y, dtype=np.float32)) if not isinstance(y, torch.Tensor) else y.float()
    if t.ndim != 2:
        raise ValueError(f"expected an (h, w) Y plane, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("the input image contains NaN or infinite values")
    was_training = model.training
    model.eval()
    dev = torch.device(device)
    h, w = t.shape
    try:
        if tile is None or (h <= tile and w <= tile):
            return model(t[None, None].to(dev))[0, 0].double().cpu().numpy()
        if tile < 1:
            raise ValueError(f"tile must be >= 1, got {tile}")
        out = np.empty((h * s, w * s), dtype=np.float64)
        for y0 in range(0, h, tile):
            for x0 in range(0, w, tile):
                y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
                py0, px0 = max(0, y0 - TILE_HALO), max(0, x0 - TILE_HALO)
                py1, px1 = min(h, y1 + TILE_HALO), min(w, x1 + TILE_HALO)
                sr = model(t[py0:py1, px0:px1][None, None].to(dev))[0, 0].double().cpu().numpy()
                oy, ox = (y0 - py0) * s, (x0 - px0) * s
                out[y0 * s:y1 * s, x0 * s:x1 * s] = sr[oy:oy + (y1 - y0) * s, ox:ox + (x1 - x0) * s]
        return out
    finally:
        model.train(was_training)


def _sr_blocks(a: np.ndarray, model: torch.nn.Module, tile: int | None,
               device: torch.device | str) -> Iterator[tuple[slice, slice, np.ndarray]]:
    """SR YCbCr of a uint8 ``(H, W, 3)`` image, block by block: ``(rows, cols, ycc)`` in output coordinates.

    ``ycc`` is float64 ``(rows, cols, 3)`` in [0, 255] scale (Y clipped to [0, 255], Cb/Cr from (E10)
    bicubic, not rounded). With ``tile`` every LR tile is processed with :data:`TILE_HALO` LR pixels of
    context (more than the reach of FSRCNN and of the 4-tap bicubic kernel), so the blocks equal the
    whole-image result up to float rounding while memory stays bounded by the tile size.
    """
    s = int(model.scale)
    h, w = a.shape[:2]
    if tile is not None and tile < 1:
        raise ValueError(f"tile must be >= 1, got {tile}")
    step_y = h if tile is None else tile
    step_x = w if tile is None else tile
    halo = 0 if tile is None else TILE_HALO
    for y0 in range(0, h, step_y):
        for x0 in range(0, w, step_x):
            y1, x1 = min(y0 + step_y, h), min(x0 + step_x, w)
            py0, px0 = max(0, y0 - halo), max(0, x0 - halo)
            py1, px1 = min(h, y1 + halo), min(w, x1 + halo)
            ycc = rgb_to_ycbcr(a[py0:py1, px0:px1])
            y = np.clip(super_resolve_y(model, ycc[..., 0] / 255.0, device=device) * 255.0, 0, 255)
            cbcr = imresize(ycc[..., 1:], float(s))
            oy, ox, ny, nx = (y0 - py0) * s, (x0 - px0) * s, (y1 - y0) * s, (x1 - x0) * s
            block = np.concatenate([y[oy:oy + ny, ox:ox + nx, None], cbcr[oy:oy + ny, ox:ox + nx]], axis=2)
            yield slice(y0 * s, y1 * s), slice(x0 * s, x1 * s), block


def upscale(image: Any, model: torch.nn.Module, scale: int | None = None, *, tile: int | None = None,
            device: torch.device | str = "cpu") -> np.ndarray:
    """Super-resolve an 8-bit image: Y through ``model``, Cb/Cr by bicubic (E10), back to RGB.

    Args:
        image: uint8 ``(H, W, 3)`` RGB or ``(H, W)`` grey array, or a PIL image.
        model: FSRCNN (or any LR->HR Y network with ``scale``).
        scale: must equal ``model.scale`` when given.
        tile: LR tile side; None = the whole image at once. Tiling covers the whole pipeline
            (colour conversion, network, bicubic Cb/Cr), so peak memory is the uint8 output plus
            O(tile^2) work arrays; the result equals the untiled one (float difference <= 1e-5
            before the final rounding to uint8).

    Returns:
        uint8 ``(s*H, s*W, 3)`` (or ``(s*H, s*W)`` for grey input).
    """
    a = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
    s = int(model.scale)
    if scale is not None and int(scale) != s:
        raise ValueError(f"the model upscales by {s}, not {scale}")
    grey = a.ndim == 2
    if grey:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W, 3) or (H, W) image, got {a.dtype} {a.shape}")
    out = np.empty((a.shape[0] * s, a.shape[1] * s, 3), dtype=np.uint8)
    for rows, cols, ycc in _sr_blocks(a, model, tile, device):
        out[rows, cols] = ycbcr_to_rgb(ycc)
    return out[..., 0] if grey else out
