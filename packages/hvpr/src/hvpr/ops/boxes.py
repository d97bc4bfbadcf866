"""Box utilities: residual box coder (E25, E26), heading periods and direction bins (E27, E28), corners.

Boxes are (x, y, z, dx, dy, dz, θ) in the LiDAR frame (x forward, y left, z up), centre-based, heading
measured from +x towards +y (spec §2 conventions).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: Extents are clamped to at least this before the log-encoding (E25; OpenPCDet ``ResidualCoder``).
EXTENT_EPS = 1e-5
#: Direction-bin offset δ of the released config (E27, ``DIR_OFFSET: 0.78539``).
DIR_OFFSET = 0.78539


def limit_period(x: Tensor, offset: float = 0.5, period: float = math.pi) -> Tensor:
    """Wrap ``x`` into ``[-offset·period, (1 - offset)·period)``: ``x − floor(x/period + offset)·period``."""
    return x - torch.floor(x / period + offset) * period


class ResidualCoder:
    """Residual encoding of boxes relative to anchors, 7 codes (E25) and its exact inverse (E26)."""

    code_size = 7

    @staticmethod
    def encode(boxes: Tensor, anchors: Tensor) -> Tensor:
        """Encode ``boxes`` (..., 7) against ``anchors`` (..., 7) -> residuals (..., 7) (E25)."""
        anchors = anchors.clone()
        boxes = boxes.clone()
        anchors[..., 3:6] = anchors[..., 3:6].clamp(min=EXTENT_EPS)
        boxes[..., 3:6] = boxes[..., 3:6].clamp(min=EXTENT_EPS)
        xa, ya, za, dxa, dya, dza, ra = anchors.unbind(-1)
        xg, yg, zg, dxg, dyg, dzg, rg = boxes.unbind(-1)
        diag = torch.sqrt(dxa**2 + dya**2)
        return torch.stack(
            [
                (xg - xa) / diag,
                (yg - ya) / diag,
                (zg - za) / dza,
                torch.log(dxg / dxa),
                torch.log(dyg / dya),
                torch.log(dzg / dza),
                rg - ra,
            ],
            dim=-1,
        )

    @staticmethod
    def decode(codes: Tensor, anchors: Tensor) -> Tensor:
        """Decode residuals (..., 7) against ``anchors`` (..., 7) -> boxes (..., 7) (E26)."""
        xa, ya, za, dxa, dya, dza, ra = anchors.unbind(-1)
        tx, ty, tz, tdx, tdy, tdz, tr = codes.unbind(-1)
        diag = torch.sqrt(dxa**2 + dya**2)
        return torch.stack(
            [
                tx * diag + xa,
                ty * diag + ya,
                tz * dza + za,
                torch.exp(tdx) * dxa,
                torch.exp(tdy) * dya,
                torch.exp(tdz) * dza,
                tr + ra,
            ],
            dim=-1,
        )


def direction_target(gt_heading: Tensor, dir_offset: float = DIR_OFFSET, num_bins: int = 2) -> Tensor:
    """Direction-bin target (E27): ``clamp(floor(wrap_[0,2π)(θ − δ) / (2π/num_bins)), 0, num_bins − 1)``."""
    period = 2 * math.pi / num_bins
    rot = limit_period(gt_heading - dir_offset, 0.0, 2 * math.pi)
    return torch.floor(rot / period).long().clamp(0, num_bins - 1)


def apply_direction(
    heading: Tensor, dir_bin: Tensor, dir_offset: float = DIR_OFFSET, dir_limit_offset: float = 0.0,
    num_bins: int = 2,
) -> Tensor:
    """Direction fix at decoding (E28): ``wrap(θ − δ) + δ + period·bin`` with period = 2π/num_bins."""
    period = 2 * math.pi / num_bins
    rot = limit_period(heading - dir_offset, dir_limit_offset, period)
    return rot + dir_offset + period * dir_bin.to(heading.dtype)


def boxes_to_corners_bev(boxes: Tensor) -> Tensor:
    """Ground-plane corners (..., 4, 2) of boxes (..., ≥5: x, y, [z,] dx, dy, ..., θ), counter-clockwise.

    Uses columns 0, 1 (centre), 3, 4 (extents) and 6 (heading) of a 7-column box.
    """
    x, y, dx, dy, r = boxes[..., 0], boxes[..., 1], boxes[..., 3], boxes[..., 4], boxes[..., 6]
    sx = torch.tensor([0.5, -0.5, -0.5, 0.5], dtype=boxes.dtype, device=boxes.device)
    sy = torch.tensor([0.5, 0.5, -0.5, -0.5], dtype=boxes.dtype, device=boxes.device)
    lx = dx[..., None] * sx
    ly = dy[..., None] * sy
    c, s = torch.cos(r)[..., None], torch.sin(r)[..., None]
    return torch.stack([x[..., None] + c * lx - s * ly, y[..., None] + s * lx + c * ly], dim=-1)


def boxes_to_corners_3d(boxes: Tensor) -> Tensor:
    """Corners (..., 8, 3) of 7-column boxes: 4 bottom corners (ccw) then the 4 top corners."""
    bev = boxes_to_corners_bev(boxes)
    z0 = (boxes[..., 2] - boxes[..., 5] / 2)[..., None, None].expand(*bev.shape[:-1], 1)
    z1 = (boxes[..., 2] + boxes[..., 5] / 2)[..., None, None].expand(*bev.shape[:-1], 1)
    return torch.cat([torch.cat([bev, z0], -1), torch.cat([bev, z1], -1)], dim=-2)
