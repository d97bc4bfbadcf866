"""PNG pictures with Pillow only: image grids, mask and heat-map overlays, side-by-side panels.

Images are ``uint8`` ``(H, W)`` / ``(H, W, 3)`` arrays or float ``(C, H, W)`` tensors in [0, 1].
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["heatmap_colors", "image_grid", "overlay_heatmap", "overlay_mask", "save_png", "side_by_side", "voc_palette"]


def _rgb(img: Any) -> np.ndarray:
    if hasattr(img, "detach"):
        t = img.detach().cpu().float()
        if t.ndim == 3:
            t = t.permute(1, 2, 0)
        img = (t.clamp(0, 1) * 255).round().byte().numpy()
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    if a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {a.shape}")
    return a


def voc_palette(n: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map, ``(n, 3)`` uint8 (class 0 black, 1 maroon, ...)."""
    pal = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


def heatmap_colors(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to a blue-green-yellow-red ramp, ``(..., 3)`` uint8."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0, 1)
    stops = np.array([[0, 0, 128], [0, 128, 255], [0, 200, 80], [255, 220, 0], [220, 0, 0]], dtype=np.float64)
    pos = v * (len(stops) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - lo)[..., None]
    return (stops[lo] * (1 - frac) + stops[lo + 1] * frac).round().astype(np.uint8)


def overlay_mask(image: Any, mask: np.ndarray, *, palette: np.ndarray | None = None, alpha: float = 0.5,
                 ignore_index: int | None = 255) -> np.ndarray:
    """Blend a label mask ``(H, W)`` (coloured by ``palette``) over ``image``; label 0 and
    ``ignore_index`` stay transparent."""
    img = _rgb(image).astype(np.float64)
    m = np.asarray(mask)
    if m.shape != img.shape[:2]:
        raise ValueError(f"mask {m.shape} and image {img.shape[:2]} differ in size")
    pal = voc_palette() if palette is None else np.asarray(palette, dtype=np.uint8)
    colors = pal[np.clip(m, 0, len(pal) - 1)].astype(np.float64)
    show = (m != 0) & ((m != ignore_index) if ignore_index is not None else True)
    out = img.copy()
    out[show] = (1 - alpha) * img[show] + alpha * colors[show]
    return out.round().astype(np.uint8)


def overlay_heatmap(image: Any, heat: np.ndarray, *, alpha: float = 0.5, normalize: bool = True) -> np.ndarray:
    """Blend a heat map ``(h, w)`` (resized to the image) over ``image``."""
    img = _rgb(image)
    h = np.asarray(heat, dtype=np.float64)
    if normalize:
        lo, hi = np.nanmin(h), np.nanmax(h)
        h = (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
    if h.shape != img.shape[:2]:
        h = np.asarray(Image.fromarray((h * 255).astype(np.uint8)).resize(img.shape[1::-1], Image.BILINEAR)) / 255.0
    colors = heatmap_colors(h).astype(np.float64)
    return ((1 - alpha) * img + alpha * colors).round().astype(np.uint8)


def image_grid(images: Sequence[Any], *, ncols: int | None = None, pad: int = 2, background: int = 255) -> np.ndarray:
    """Tile images (resized to the first one's size) into a grid, ``(H', W', 3)`` uint8."""
    if not images:
        raise ValueError("image_grid needs at least one image")
    tiles = [_rgb(im) for im in images]
    h, w = tiles[0].shape[:2]
    tiles = [t if t.shape[:2] == (h, w) else np.asarray(Image.fromarray(t).resize((w, h))) for t in tiles]
    ncols = ncols or int(np.ceil(np.sqrt(len(tiles))))
    nrows = int(np.ceil(len(tiles) / ncols))
    grid = np.full((nrows * h + (nrows + 1) * pad, ncols * w + (ncols + 1) * pad, 3), background, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y:y + h, x:x + w] = t
    return grid


def side_by_side(images: Sequence[Any], labels: Sequence[str] | None = None, *, pad: int = 4,
                 label_height: int = 14) -> np.ndarray:
    """Images in one row (same height), with optional captions above each."""
    tiles = [_rgb(im) for im in images]
    h = max(t.shape[0] for t in tiles)
    tiles = [t if t.shape[0] == h else np.asarray(Image.fromarray(t).resize((round(t.shape[1] * h / t.shape[0]), h)))
             for t in tiles]
    top = label_height if labels else 0
    width = sum(t.shape[1] for t in tiles) + pad * (len(tiles) + 1)
    canvas = Image.new("RGB", (width, h + top + 2 * pad), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    x = pad
    for i, t in enumerate(tiles):
        canvas.paste(Image.fromarray(t), (x, pad + top))
        if labels:
            draw.text((x, pad), str(labels[i]), fill=(0, 0, 0))
        x += t.shape[1] + pad
    return np.asarray(canvas)


def save_png(path: str | os.PathLike[str], image: Any) -> Path:
    """Write an image atomically as PNG."""
    from cvcore.data.images import write_image

    return write_image(Path(path), _rgb(image) if not (isinstance(image, np.ndarray) and image.ndim == 2) else image)
