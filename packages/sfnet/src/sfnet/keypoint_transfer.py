"""Keypoint transfer through a predicted grid: the official evaluation path (spec section 3, "Evaluation")."""

from __future__ import annotations

import torch

from sfnet.flow import upsample_grid

__all__ = ["padding_scale", "transfer_keypoints"]


def padding_scale(feature_w: int) -> float:
    """``(w/2) / (w/2 - 1)`` = 10/9 for w = 20: undoes the 16 px padding after the border crop."""
    return (feature_w / 2) / (feature_w / 2 - 1)


def transfer_keypoints(grid_t2s: torch.Tensor, tgt_pts: torch.Tensor, src_size: tuple[int, int],
                       tgt_size: tuple[int, int], feature_size: tuple[int, int] = (20, 20),
                       official_padding_correction: bool = True) -> torch.Tensor:
    """Map target keypoints to the source image with the target->source grid.

    Steps (official ``eval_pascal.py``): crop the 1-cell border (20 x 20 -> 18 x 18) and scale both
    coordinates by ``(w/2)/(w/2 - 1)`` (only with ``official_padding_correction``, for inputs that were
    padded by :func:`~sfnet.data.transforms.prepare_eval_image`); upsample the grid bilinearly
    (corner-aligned) to the target size; round each target keypoint, clamp it into the image, read
    the grid there and convert to source pixels ``x^ = (g_x + 1)(W_s - 1)/2``.

    Args:
        grid_t2s: ``B x h x w x 2`` (or ``h x w x 2``) grid in normalised source coordinates.
        tgt_pts: ``B x 2 x K`` (or ``2 x K``) target keypoints (x, y) in pixels of a ``tgt_size``
            image; ``-1`` marks a missing point.
        src_size, tgt_size: ``(H, W)`` of the source and target frames the keypoints live in.
        feature_size: the grid size of the padded input (only checked).
        official_padding_correction: apply the border crop and 10/9 rescale.

    Returns:
        ``B x 2 x K`` (or ``2 x K``) source keypoints in pixels, ``-1`` where the target point is missing.
    """
    single = grid_t2s.ndim == 3
    grid = grid_t2s[None] if single else grid_t2s
    pts = tgt_pts[None] if tgt_pts.ndim == 2 else tgt_pts
    if grid.ndim != 4 or grid.shape[-1] != 2 or pts.ndim != 3 or pts.shape[1] != 2 or len(pts) != len(grid):
        raise ValueError(f"expected B x h x w x 2 grid and B x 2 x K keypoints, got {tuple(grid_t2s.shape)} "
                         f"and {tuple(tgt_pts.shape)}")
    if official_padding_correction:
        h, w = grid.shape[1:3]
        if (h, w) != tuple(feature_size):
            raise ValueError(f"grid is {h}x{w} but feature_size is {feature_size}")
        grid = grid[:, 1:-1, 1:-1] * torch.tensor([padding_scale(w), padding_scale(h)], dtype=grid.dtype,
                                                    device=grid.device)
    ht, wt = int(tgt_size[0]), int(tgt_size[1])
    hs, ws = int(src_size[0]), int(src_size[1])
    up = upsample_grid(grid.float(), (ht, wt))  # B x Ht x Wt x 2
    valid = (pts[:, 0] != -1) & (pts[:, 1] != -1)  # B x K
    x = torch.round(pts[:, 0].float()).long().clamp(0, wt - 1)
    y = torch.round(pts[:, 1].float()).long().clamp(0, ht - 1)
    b = torch.arange(len(pts), device=pts.device)[:, None].expand_as(x)
    g = up[b, y, x]  # B x K x 2
    out = torch.stack([(g[..., 0] + 1) * (ws - 1) / 2, (g[..., 1] + 1) * (hs - 1) / 2], dim=1)
    out = torch.where(valid[:, None], out, torch.full_like(out, -1.0))
    return out[0] if tgt_pts.ndim == 2 else out
