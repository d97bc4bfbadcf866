"""Grids, flows and warping, all in corner-aligned normalised coordinates (E6)-(E7).

- grid: ``B x H x W x 2`` (x, y) in ``[-1, 1]``, cell 0 -> -1 and cell W-1 -> +1;
- flow: ``B x 2 x H x W`` = grid minus the regular grid, same units.

Every resampling uses ``align_corners=True`` (the official code predates PyTorch 1.3, where this
was the behaviour; without it every warp shifts by half a cell).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

__all__ = ["flow_to_color", "flow_to_grid", "grid_to_flow", "regular_grid", "upsample_grid", "warp"]


def regular_grid(h: int, w: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
                 ) -> torch.Tensor:
    """The identity grid ``H x W x 2``: ``(n(x), n(y))`` with ``n(x) = -1 + 2x/(W-1)``."""
    xs = torch.linspace(-1.0, 1.0, w, dtype=dtype, device=device) if w > 1 else torch.zeros(1, dtype=dtype, device=device)
    ys = torch.linspace(-1.0, 1.0, h, dtype=dtype, device=device) if h > 1 else torch.zeros(1, dtype=dtype, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((gx, gy), dim=-1)


def grid_to_flow(grid: torch.Tensor) -> torch.Tensor:
    """``B x H x W x 2`` grid -> ``B x 2 x H x W`` flow ``F(p) = G(p) - n(p)`` (E6)."""
    if grid.ndim != 4 or grid.shape[-1] != 2:
        raise ValueError(f"expected a B x H x W x 2 grid, got {tuple(grid.shape)}")
    h, w = grid.shape[1:3]
    return (grid - regular_grid(h, w, dtype=grid.dtype, device=grid.device)).permute(0, 3, 1, 2)


def flow_to_grid(flow: torch.Tensor) -> torch.Tensor:
    """``B x 2 x H x W`` flow -> ``B x H x W x 2`` grid (inverse of :func:`grid_to_flow`)."""
    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"expected a B x 2 x H x W flow, got {tuple(flow.shape)}")
    h, w = flow.shape[2:]
    return flow.permute(0, 2, 3, 1) + regular_grid(h, w, dtype=flow.dtype, device=flow.device)


def warp(x: torch.Tensor, grid: torch.Tensor, *, mode: str = "bilinear", padding_mode: str = "zeros") -> torch.Tensor:
    """Sample ``x`` (``B x C x H_in x W_in``) at ``grid`` (``B x H x W x 2``) -> ``B x C x H x W`` (E7).

    Output location p takes the value of ``x`` at ``grid[p]`` (bilinear, zero outside by default).
    """
    if x.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or x.shape[0] != grid.shape[0]:
        raise ValueError(f"warp expects B x C x H x W input and B x H x W x 2 grid, got {tuple(x.shape)} "
                         f"and {tuple(grid.shape)}")
    return F.grid_sample(x, grid.to(x.dtype), mode=mode, padding_mode=padding_mode, align_corners=True)


def upsample_grid(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize a grid ``B x h x w x 2`` to ``B x H x W x 2`` (corner-aligned)."""
    g = F.interpolate(grid.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=True)
    return g.permute(0, 2, 3, 1)


def flow_to_color(flow: torch.Tensor | np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-wheel picture of one flow ``2 x H x W``: hue = direction, saturation = magnitude.

    Returns:
        ``H x W x 3`` uint8; zero flow is white.
    """
    f = flow.detach().cpu().double().numpy() if isinstance(flow, torch.Tensor) else np.asarray(flow, np.float64)
    if f.ndim != 3 or f.shape[0] != 2:
        raise ValueError(f"expected a 2 x H x W flow, got {f.shape}")
    u, v = np.nan_to_num(f[0]), np.nan_to_num(f[1])
    mag = np.hypot(u, v)
    top = max_magnitude if max_magnitude is not None else (float(mag.max()) or 1.0)
    hue = (np.arctan2(-v, -u) / np.pi + 1.0) / 2.0
    sat = np.clip(mag / top, 0.0, 1.0)
    hsv = np.stack([np.round(hue * 255) % 256, np.round(sat * 255), np.full_like(hue, 255)], axis=-1)
    return np.asarray(Image.fromarray(hsv.astype(np.uint8), mode="HSV").convert("RGB"))
