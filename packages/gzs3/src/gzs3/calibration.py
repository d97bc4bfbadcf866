"""Decision rules on prototype distances: nearest prototype (E12), Apollonius calibration
(E13, E14) and calibrated stacking (E15)."""

from __future__ import annotations

from typing import Literal

import torch

__all__ = ["apollonius_calibration", "apollonius_sphere", "calibrated_stacking", "nearest_prototype"]

#: sigma of the official VOC and Context ZS3-setting configs (0.7 in the SPNet setting).
DEFAULT_SIGMA = 0.5


def _check(sq_dist: torch.Tensor, mask: torch.Tensor, name: str) -> torch.Tensor:
    if sq_dist.ndim < 2:
        raise ValueError(f"distances must be (B, K, ...), got shape {tuple(sq_dist.shape)}")
    mask = torch.as_tensor(mask, dtype=torch.bool, device=sq_dist.device)
    if mask.ndim != 1 or mask.numel() != sq_dist.shape[1]:
        raise ValueError(f"{name} must be a (K,) bool mask with K={sq_dist.shape[1]}, got shape {tuple(mask.shape)}")
    return mask


def _bcast(mask: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return mask.view(1, -1, *([1] * (ref.ndim - 2)))


def nearest_prototype(sq_dist: torch.Tensor) -> torch.Tensor:
    """Plain nearest-neighbour classifier (E12): ``argmin_c d_c``. ``(B, K, ...)`` → ``(B, ...)`` long."""
    return sq_dist.argmin(1)


def apollonius_calibration(
    sq_dist: torch.Tensor,
    unseen_mask: torch.Tensor,
    sigma: float = DEFAULT_SIGMA,
    mode: Literal["top2", "full"] = "top2",
) -> torch.Tensor:
    """Apollonius calibration (E13).

    ``"top2"`` (official): take the two nearest classes c1, c2; scale the squared distance of
    each one that is unseen by ``sigma``; predict c2 iff its scaled distance is strictly smaller.
    So only a seen-nearest / unseen-second pair can flip, exactly when ``d_s / d_u > sigma``.
    ``"full"``: ``argmin_c sigma^{1[c in U]} d_c`` over all classes (differs from top2 when the
    best unseen class is third or further).

    Args:
        sq_dist: ``(B, K, ...)`` squared distances (E11).
        unseen_mask: ``(K,)`` bool, True for unseen classes.
        sigma: ratio applied to squared distances, > 0 (1 = plain nearest prototype).
        mode: ``"top2"`` or ``"full"``.

    Returns:
        ``(B, ...)`` long labels.
    """
    mask = _check(sq_dist, unseen_mask, "unseen_mask")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    scale = torch.where(mask, torch.tensor(float(sigma), dtype=sq_dist.dtype, device=sq_dist.device),
                        torch.tensor(1.0, dtype=sq_dist.dtype, device=sq_dist.device))
    if mode == "full":
        return (sq_dist * _bcast(scale, sq_dist)).argmin(1)
    if mode != "top2":
        raise ValueError(f"unknown calibration mode {mode!r}: use 'top2' or 'full'")
    if sq_dist.shape[1] == 1:
        return torch.zeros_like(sq_dist[:, 0], dtype=torch.long)
    d, idx = sq_dist.topk(2, dim=1, largest=False, sorted=True)  # (B, 2, ...)
    d_cal = d * scale[idx]
    return torch.where(d_cal[:, 1] < d_cal[:, 0], idx[:, 1], idx[:, 0])


def apollonius_sphere(
    mu_seen: torch.Tensor, mu_unseen: torch.Tensor, sigma: float = DEFAULT_SIGMA
) -> tuple[torch.Tensor, torch.Tensor]:
    """The boundary ``{x : ||x - a||^2 = sigma ||x - b||^2}`` between seen ``a`` and unseen ``b`` (E14).

    For ``0 < sigma < 1`` it is a sphere with centre ``(a - sigma b) / (1 - sigma)`` and radius
    ``sqrt(sigma) ||a - b|| / (1 - sigma)``; the seen class keeps the inside.

    Args:
        mu_seen, mu_unseen: ``(..., D)`` prototypes.

    Returns:
        ``(centre (..., D), radius (...))``.
    """
    if not 0 < sigma < 1:
        raise ValueError(f"the Apollonius boundary is a sphere only for 0 < sigma < 1, got {sigma}")
    centre = (mu_seen - sigma * mu_unseen) / (1.0 - sigma)
    radius = (sigma ** 0.5) * (mu_seen - mu_unseen).norm(dim=-1) / (1.0 - sigma)
    return centre, radius


def calibrated_stacking(scores: torch.Tensor, seen_mask: torch.Tensor, gamma: float = 0.0) -> torch.Tensor:
    """Calibrated stacking baseline (E15) in distance form: ``argmin_c (d_c + gamma 1[c in S])``.

    Args:
        scores: ``(B, K, ...)`` squared distances (lower = better).
        seen_mask: ``(K,)`` bool, True for seen classes.
        gamma: constant added to every seen-class distance (0 = nearest prototype).

    Returns:
        ``(B, ...)`` long labels.
    """
    mask = _check(scores, seen_mask, "seen_mask")
    shift = mask.to(scores.dtype) * float(gamma)
    return (scores + _bcast(shift, scores)).argmin(1)
