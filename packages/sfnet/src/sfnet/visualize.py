"""Pictures of a predicted correspondence: warped source, flow colour map, transferred keypoints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from sfnet.flow import flow_to_color, grid_to_flow, upsample_grid, warp

__all__ = ["draw_keypoints", "flow_picture", "warp_image"]


def warp_image(source_rgb: torch.Tensor, grid_t2s: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Source image resampled into the target frame with ``G_t2s``.

    Args:
        source_rgb: ``3 x H_s x W_s`` in [0, 1]; grid_t2s: ``h x w x 2`` (feature grid of an unpadded input).
        size: output ``(H, W)`` (default: the source size).

    Returns:
        ``3 x H x W`` in [0, 1].
    """
    size = size or tuple(source_rgb.shape[-2:])
    g = upsample_grid(grid_t2s[None].float(), size)
    return warp(source_rgb[None].float(), g)[0].clamp(0, 1)


def flow_picture(grid: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Colour map of the flow of ``grid`` (``h x w x 2``), resized to ``size`` -> uint8 ``H x W x 3``."""
    c = flow_to_color(grid_to_flow(grid[None].float())[0])
    return np.asarray(Image.fromarray(c).resize((size[1], size[0]), Image.NEAREST))


def draw_keypoints(image: np.ndarray, points: np.ndarray, colors: Sequence[tuple[int, int, int]] | None = None,
                   radius: int = 3) -> np.ndarray:
    """Draw ``2 x K`` pixel keypoints (``-1`` skipped) as filled circles on a uint8 ``H x W x 3`` copy."""
    im = Image.fromarray(np.asarray(image, np.uint8).copy())
    d = ImageDraw.Draw(im)
    pts = np.asarray(points, np.float64)
    for k in range(pts.shape[1]):
        x, y = pts[:, k]
        if x == -1 and y == -1:
            continue
        c = colors[k % len(colors)] if colors else tuple(int(v) for v in np.array(
            [(k * 97) % 256, (k * 57 + 128) % 256, (k * 151 + 64) % 256]))
        d.ellipse([x - radius, y - radius, x + radius, y + radius], fill=c, outline=(0, 0, 0))
    return np.asarray(im)
