"""Background-aware pooling (BAP) and its GAP baseline, stage 1 of BANA (spec §2 E1-E5, §3.5-3.10).

Tensors: features ``(B, D, h, w)`` at output stride 8, background masks ``(B, H, W)`` at image
resolution with 1 = definite background (outside every box), boxes ``(K, 5)`` float
``[x1, y1, x2, y2, cls]`` in pixels plus ``(K,)`` long image indices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BAPOutput",
    "BackgroundAwarePooling",
    "background_attention",
    "box_sampling_grid",
    "grid_background_prototypes",
    "pad_for_grid",
    "sample_box_features",
    "weighted_avg_pool2d",
]

EPS = 1e-12  # spec §2: epsilon of every masked mean (official `Labeler`)
MIN_BG_FRACTION = 0.125  # §3.5: BAP only if > 12.5 % of the crop is definite background


def pad_for_grid(x: Tensor, grid_size: int) -> Tensor:
    """Zero-pad the last two axes so both are divisible by ``grid_size`` (§3.6).

    Pad amount ``N - size mod N`` (0 if divisible); an even amount is split equally
    top/bottom (left/right), an odd amount goes entirely to the bottom (right).
    41 with N = 4 -> 44 with 3 rows at the bottom.

    Args:
        x: ``(..., h, w)``.
    Returns:
        ``(..., h', w')`` with ``h' % N == w' % N == 0``.
    """

    def amounts(n: int) -> tuple[int, int]:
        r = n % grid_size
        pad = 0 if r == 0 else grid_size - r
        return (pad // 2, pad // 2) if pad % 2 == 0 else (0, pad)

    top, bottom = amounts(x.shape[-2])
    left, right = amounts(x.shape[-1])
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


def grid_background_prototypes(
    features: Tensor, bg_mask: Tensor, grid_size: int, eps: float = EPS
) -> tuple[Tensor, Tensor]:
    """Grid background queries ``q_j`` (E1).

    Args:
        features: ``(B, D, h, w)`` float.
        bg_mask: ``(B, h, w)`` with values in {0, 1} at the feature resolution (1 = background).
        grid_size: N; the padded map is split into ``N x N`` equal cells.
    Returns:
        ``protos (B, N*N, D)`` (masked cell means, row-major cell order) and
        ``valid (B, N*N)`` bool (cell holds at least one background pixel).
    """
    m = pad_for_grid(bg_mask.to(features.dtype), grid_size)
    f = pad_for_grid(features, grid_size)
    b, d, hp, wp = f.shape
    ch, cw = hp // grid_size, wp // grid_size
    fm = (f * m[:, None]).reshape(b, d, grid_size, ch, grid_size, cw).sum(dim=(3, 5))
    cnt = m.reshape(b, grid_size, ch, grid_size, cw).sum(dim=(2, 4))
    protos = fm / (cnt[:, None] + eps)
    return protos.flatten(2).transpose(1, 2), cnt.flatten(1) > 0


def background_attention(features: Tensor, prototypes: Tensor, valid: Tensor) -> Tensor:
    """Background attention ``A(p) = mean_{j in J} max(0, cos(f(p), q_j))`` (E2).

    Args:
        features: ``(B, D, H, W)``.
        prototypes: ``(B, J, D)``.
        valid: ``(B, J)`` bool; invalid queries are left out of the mean.
    Returns:
        ``(B, H, W)`` in [0, 1]; 0 for an image with no valid query.
    """
    fn = F.normalize(features, dim=1)
    qn = F.normalize(prototypes, dim=2)
    sim = torch.einsum("bdhw,bjd->bjhw", fn, qn).clamp_min(0)
    v = valid.to(sim.dtype)[:, :, None, None]
    n = valid.sum(dim=1).clamp_min(1).to(sim.dtype)[:, None, None]
    return (sim * v).sum(dim=1) / n


def _bin_ranges(n: int, bins: int) -> list[tuple[int, int]]:
    """Official bin rule (§3.9): stride ``floor(n / R)``, length ``n - (R - 1) * stride``."""
    s = n // bins
    length = n - (bins - 1) * s
    return [(i * s, i * s + length) for i in range(bins)]


def weighted_avg_pool2d(x: Tensor, weight: Tensor, out_size: tuple[int, int] = (2, 2), eps: float = EPS) -> Tensor:
    """Weighted average pooling into ``R_h x R_w`` possibly overlapping bins (E3, §3.9).

    Per axis of length n: stride ``s = floor(n / R)``, bins start at ``0, s, ...`` and have length
    ``n - (R-1) s`` (n = 5, R = 2 -> [0, 3) and [2, 5)). An axis shorter than R is first
    replicated (rows at the bottom, columns on the left), so every bin sees the same values.

    Args:
        x: ``(D, h, w)`` features.
        weight: ``(h, w)`` non-negative weights (``1 - A`` for BAP, ones for GAP).
    Returns:
        ``(R_h * R_w, D)``: ``sum(weight * x) / (sum(weight) + eps)`` per bin, row-major bins.
    """
    rh, rw = out_size
    while x.shape[-2] < rh:
        x = torch.cat([x, x[..., -1:, :]], dim=-2)
        weight = torch.cat([weight, weight[-1:, :]], dim=0)
    while x.shape[-1] < rw:
        x = torch.cat([x[..., :1], x], dim=-1)
        weight = torch.cat([weight[:, :1], weight], dim=1)
    wx = x * weight
    out = []
    for r0, r1 in _bin_ranges(x.shape[-2], rh):
        for c0, c1 in _bin_ranges(x.shape[-1], rw):
            num = wx[:, r0:r1, c0:c1].sum(dim=(1, 2))
            den = weight[r0:r1, c0:c1].sum()
            out.append(num / (den + eps))
    return torch.stack(out)


def box_sampling_grid(box_n: Tensor, feat_hw: tuple[int, int]) -> Tensor:
    """Sampling grid of one box in the normalised frame (§3.8).

    Args:
        box_n: ``(4,)`` normalised ``[x1, y1, x2, y2]`` with ``x_n = x / ((W-1)/2) - 1``.
        feat_hw: feature size ``(h, w)``.
    Returns:
        ``(h_k, w_k, 2)`` grid of ``(x, y)`` points, uniformly spaced corner to corner
        inclusive, with ``w_k = ceil(x2_f) - floor(x1_f)``, ``x_f = (x_n + 1)(w - 1) / 2``.
    """
    h, w = feat_hw
    x1, y1, x2, y2 = (float(v) for v in box_n)
    xf1, xf2 = (x1 + 1) * (w - 1) / 2, (x2 + 1) * (w - 1) / 2
    yf1, yf2 = (y1 + 1) * (h - 1) / 2, (y2 + 1) * (h - 1) / 2
    wk = max(1, math.ceil(xf2) - math.floor(xf1))
    hk = max(1, math.ceil(yf2) - math.floor(yf1))
    xs = torch.linspace(x1, x2, wk, dtype=box_n.dtype)
    ys = torch.linspace(y1, y2, hk, dtype=box_n.dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1)


def sample_box_features(features: Tensor, box_n: Tensor, align_corners: bool = False) -> Tensor:
    """Resample one box of a ``(D, h, w)`` feature map to ``(D, h_k, w_k)`` (§3.8).

    ``align_corners=False`` (default) reproduces the official sampling, which interprets the
    corner-aligned normalised coordinates half a cell off; ``True`` is the consistent variant.
    Bilinear, zero padding.
    """
    grid = box_sampling_grid(box_n, tuple(features.shape[-2:])).to(features)
    return F.grid_sample(features[None], grid[None], mode="bilinear", padding_mode="zeros",
                         align_corners=align_corners)[0]


@dataclass
class BAPOutput:
    """Pooled samples of a batch.

    Attributes:
        fg: ``(R K, D)`` pooled box features (R = bins, 4 by default), box-major.
        fg_labels: ``(R K,)`` long, ``c_k`` repeated R times.
        bg: ``(J, D)`` valid cell queries of all images (image-major, row-major cells).
        bg_labels: ``(J,)`` zeros.
        attention: per box, the ``(h_k, w_k)`` background attention (zeros under GAP).
        uses_bap: ``(B,)`` bool, images whose boxes used BAP (False: GAP fallback, §3.5).
    """

    fg: Tensor
    fg_labels: Tensor
    bg: Tensor
    bg_labels: Tensor
    attention: list[Tensor] = field(default_factory=list)
    uses_bap: Tensor | None = None

    def samples(self) -> tuple[Tensor, Tensor]:
        """``(fg ++ bg, fg_labels ++ bg_labels)``: the inputs and targets of E5."""
        return torch.cat([self.fg, self.bg]), torch.cat([self.fg_labels, self.bg_labels])


def normalise_boxes(boxes: Tensor, image_size: tuple[int, int]) -> Tensor:
    """Pixels -> normalised frame ``x / ((W-1)/2) - 1`` (§3.2). ``(K, >=4)`` -> ``(K, 4)``."""
    h, w = image_size
    scale = boxes.new_tensor([(w - 1) / 2, (h - 1) / 2, (w - 1) / 2, (h - 1) / 2])
    return boxes[:, :4] / scale - 1


class BackgroundAwarePooling(nn.Module):
    """Background-aware pooling of box features (E1-E4) with the GAP fallback of §3.5.

    Args:
        grid_size: N of the background grid (4 in stage 1).
        bins: ``(R_h, R_w)`` pooling bins per box (2 x 2).
        min_bg_fraction: BAP only for images whose crop is more than this fraction background.
        mode: ``"bap"`` or ``"gap"`` (E4: A = 0 for every box).
        roi_align_corners: ``False`` = official box resampling (§3.8), ``True`` = consistent.
        compat: ``"default"`` or ``"official"`` (identical in stage 1; kept for symmetry).
    """

    def __init__(self, grid_size: int = 4, bins: tuple[int, int] = (2, 2), min_bg_fraction: float = MIN_BG_FRACTION,
                 eps: float = EPS, mode: Literal["bap", "gap"] = "bap", roi_align_corners: bool = False,
                 compat: Literal["default", "official"] = "default") -> None:
        super().__init__()
        if mode not in ("bap", "gap"):
            raise ValueError(f"mode must be 'bap' or 'gap', got {mode!r}")
        if grid_size < 1:
            raise ValueError(f"grid_size must be >= 1, got {grid_size}")
        self.grid_size, self.bins, self.min_bg_fraction = grid_size, tuple(bins), min_bg_fraction
        self.eps, self.mode, self.roi_align_corners, self.compat = eps, mode, roi_align_corners, compat

    def forward(self, features: Tensor, boxes: Tensor, box_image_idx: Tensor, bg_mask: Tensor,
                image_size: tuple[int, int] | None = None) -> BAPOutput:
        """Pool every box of the batch.

        Args:
            features: ``(B, D, h, w)``.
            boxes: ``(K, 5)`` ``[x1, y1, x2, y2, cls]`` in pixels of the input image.
            box_image_idx: ``(K,)`` long, image of each box.
            bg_mask: ``(B, H, W)`` {0, 1} at image resolution (1 = definite background).
            image_size: ``(H, W)`` of the input images (default: ``bg_mask`` size).
        """
        b, d, h, w = features.shape
        image_size = tuple(bg_mask.shape[-2:]) if image_size is None else tuple(image_size)
        mask = bg_mask.to(features.dtype)
        frac = mask.flatten(1).mean(dim=1)
        mask_f = F.interpolate(mask[:, None], size=(h, w), mode="nearest")[:, 0]
        protos, valid = grid_background_prototypes(features, mask_f, self.grid_size, self.eps)
        uses_bap = (frac > self.min_bg_fraction) & valid.any(dim=1)
        if self.mode == "gap":
            uses_bap = torch.zeros_like(uses_bap)
        box_n = normalise_boxes(boxes.to(features.dtype), image_size)
        fg, labels, attn = [], [], []
        r = self.bins[0] * self.bins[1]
        for k in range(boxes.shape[0]):
            i = int(box_image_idx[k])
            fk = sample_box_features(features[i], box_n[k], self.roi_align_corners)
            if bool(uses_bap[i]):
                a = background_attention(fk[None], protos[i:i + 1], valid[i:i + 1])[0]
            else:
                a = fk.new_zeros(fk.shape[-2:])
            fg.append(weighted_avg_pool2d(fk, 1 - a, self.bins, self.eps))
            labels.append(torch.full((r,), int(boxes[k, 4]), dtype=torch.long, device=features.device))
            attn.append(a)
        fg_t = torch.cat(fg) if fg else features.new_zeros((0, d))
        lab_t = torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long, device=features.device)
        bg = protos[valid]
        return BAPOutput(fg_t, lab_t, bg, torch.zeros(bg.shape[0], dtype=torch.long, device=features.device),
                         attn, uses_bap)
