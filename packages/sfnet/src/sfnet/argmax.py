"""Turning a correlation volume into a dense sampling grid (E5)-(E6).

All functions take a volume ``B x (H_t*W_t) x H_s x W_s`` (channel = candidate cell in the
*other* image, row-major ``q = y*W_t + x``) and return a grid ``B x H_s x W_s x 2`` of
corner-aligned normalised coordinates (x first) in the other image, ready for ``grid_sample``
with ``align_corners=True``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["BETA", "KERNEL_SIGMA", "hard_argmax", "kernel_soft_argmax", "soft_argmax"]

#: softmax temperature (official ``--beta 50``; E5).
BETA = 50.0
#: Gaussian window standard deviation in grid cells (official ``--kernel_sigma 5``; E5).
KERNEL_SIGMA = 5.0


def _target_size(corr: torch.Tensor, target_size: tuple[int, int] | None) -> tuple[int, int]:
    if corr.ndim != 4:
        raise ValueError(f"expected a B x (H_t*W_t) x H_s x W_s volume, got shape {tuple(corr.shape)}")
    p, h, w = corr.shape[1:]
    if target_size is None:
        if p != h * w:
            raise ValueError(f"{p} candidate channels is not {h}x{w}: pass target_size=(H_t, W_t)")
        return h, w
    ht, wt = target_size
    if ht * wt != p:
        raise ValueError(f"target_size {target_size} does not match {p} candidate channels")
    return int(ht), int(wt)


def _coords(n: int, like: torch.Tensor) -> torch.Tensor:
    """``n(x) = -1 + 2x/(n-1)`` for x = 0..n-1 (``linspace(-1, 1, n)``; a single cell maps to 0)."""
    if n == 1:
        return torch.zeros(1, dtype=like.dtype, device=like.device)
    return torch.linspace(-1.0, 1.0, n, dtype=like.dtype, device=like.device)


def _expectation(prob: torch.Tensor, ht: int, wt: int) -> torch.Tensor:
    """Expected coordinate of ``prob`` (``B x ht x wt x H x W``, sums to 1 over ht, wt)."""
    px = prob.sum(dim=1)  # marginal over target columns: B x wt x H x W
    py = prob.sum(dim=2)  # marginal over target rows:    B x ht x H x W
    gx = (px * _coords(wt, prob).view(1, wt, 1, 1)).sum(dim=1)
    gy = (py * _coords(ht, prob).view(1, ht, 1, 1)).sum(dim=1)
    return torch.stack((gx, gy), dim=-1)


def hard_argmax(corr: torch.Tensor, target_size: tuple[int, int] | None = None) -> torch.Tensor:
    """Grid of the best-scoring candidate cell, ``(n(q*_x), n(q*_y))`` (E5 with ``beta=None``).

    The official ``beta=None`` branch fails with a rank error; this one works. Not differentiable.

    Args:
        corr: ``B x (H_t*W_t) x H_s x W_s`` volume.
        target_size: ``(H_t, W_t)`` when the other image's grid differs from ``(H_s, W_s)``.

    Returns:
        ``B x H_s x W_s x 2`` grid (x, y) in ``[-1, 1]``, same dtype as ``corr``.
    """
    ht, wt = _target_size(corr, target_size)
    idx = corr.argmax(dim=1)  # B x H x W
    gx = _coords(wt, corr)[idx % wt]
    gy = _coords(ht, corr)[torch.div(idx, wt, rounding_mode="floor")]
    return torch.stack((gx, gy), dim=-1)


def soft_argmax(corr: torch.Tensor, beta: float = BETA, target_size: tuple[int, int] | None = None) -> torch.Tensor:
    """Plain soft argmax: expected coordinate under ``softmax(beta * C)`` over candidates.

    Equals :func:`kernel_soft_argmax` with an infinitely wide window (``sigma=None``).

    Returns:
        ``B x H_s x W_s x 2`` grid (x, y).
    """
    return kernel_soft_argmax(corr, beta=beta, sigma=None, target_size=target_size)


def gaussian_window(corr: torch.Tensor, sigma: float, target_size: tuple[int, int] | None = None) -> torch.Tensor:
    """``k_p(q) = exp(-|q - q*(p)|^2 / (2 sigma^2))`` in grid units, centred at the hard argmax (E5).

    Returns:
        ``B x (H_t*W_t) x H_s x W_s``, values in ``(0, 1]``; the centre is not differentiated.
    """
    ht, wt = _target_size(corr, target_size)
    idx = corr.detach().argmax(dim=1)  # B x H x W
    cx = (idx % wt).to(corr.dtype)
    cy = torch.div(idx, wt, rounding_mode="floor").to(corr.dtype)
    xs = torch.arange(wt, dtype=corr.dtype, device=corr.device).view(1, 1, wt, 1, 1)
    ys = torch.arange(ht, dtype=corr.dtype, device=corr.device).view(1, ht, 1, 1, 1)
    d2 = (xs - cx[:, None, None]) ** 2 + (ys - cy[:, None, None]) ** 2  # B x ht x wt x H x W
    return torch.exp(-d2 / (2.0 * sigma**2)).flatten(1, 2)


def kernel_soft_argmax(
    corr: torch.Tensor,
    beta: float | None = BETA,
    sigma: float | None = KERNEL_SIGMA,
    target_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Kernel soft argmax (E5)-(E6): Gaussian window at the peak, tempered softmax, expectation.

    ``S = k * C``; ``P = exp(beta (S - max S)) / sum``; ``m(p) = sum_q P(q|p) n(q)``.

    Args:
        corr: ``B x (H_t*W_t) x H_s x W_s`` normalised volume (E4).
        beta: softmax temperature; ``None`` selects :func:`hard_argmax`.
        sigma: window width in cells; ``None`` or ``inf`` disables the window (plain soft argmax).
        target_size: ``(H_t, W_t)`` if not equal to ``(H_s, W_s)``.

    Returns:
        ``B x H_s x W_s x 2`` grid (x, y) in ``[-1, 1]``; differentiable in ``corr`` except through
        the (detached) argmax location.
    """
    if beta is None:
        return hard_argmax(corr, target_size)
    ht, wt = _target_size(corr, target_size)
    if sigma is not None and not math.isinf(sigma):
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        score = gaussian_window(corr, sigma, (ht, wt)) * corr
    else:
        score = corr
    score = score - score.max(dim=1, keepdim=True).values
    e = torch.exp(beta * score)
    prob = e / e.sum(dim=1, keepdim=True)
    b, _, h, w = corr.shape
    return _expectation(prob.view(b, ht, wt, h, w), ht, wt)
