"""Grid conversions between the padded evaluation input and the image frame (spec section 3, "Evaluation")."""

from __future__ import annotations

import torch

from sfnet.keypoint_transfer import padding_scale

__all__ = ["padded_grid_to_image"]


def padded_grid_to_image(grid: torch.Tensor) -> torch.Tensor:
    """``h x w x 2`` grid of a padded 16(h-2)+32 input -> ``(h-2) x (w-2) x 2`` grid over the image
    itself: crop the 1-cell border, scale by ``(w/2)/(w/2 - 1)`` (the official correction)."""
    h, w = grid.shape[-3:-1]
    return grid[..., 1:-1, 1:-1, :] * torch.tensor([padding_scale(w), padding_scale(h)], dtype=grid.dtype)
