"""Cosine-similarity correlation volumes (E2)-(E4).

Layout convention of the official ``matching_layer``: the *channel* axis indexes the target
cell ``q = y_t * W_t + x_t`` and the spatial axes index the source cell ``p``, i.e. a volume is
``B x (H_t*W_t) x H_s x W_s``.
"""

from __future__ import annotations

import torch

__all__ = ["L2_EPS", "combine_correlations", "correlation", "l2_normalize"]

#: epsilon inside the square root of every L2 normalisation (official ``model.py``; E2, E4).
L2_EPS = 1e-6


def l2_normalize(x: torch.Tensor, dim: int = 1, eps: float = L2_EPS) -> torch.Tensor:
    """``x / sqrt(sum_dim x^2 + eps)`` (E2).

    Args:
        x: any float tensor, typically ``B x C x H x W`` features.
        dim: the axis to normalise over (channels).
        eps: added inside the square root.
    """
    return x / torch.sqrt(x.pow(2).sum(dim=dim, keepdim=True) + eps)


def correlation(f_src: torch.Tensor, f_tgt: torch.Tensor, eps: float = L2_EPS, relu: bool = True) -> torch.Tensor:
    """Per-layer correlation ``C(p, q) = max(0, <f_s(p)/|f_s(p)|, f_t(q)/|f_t(q)|>)`` (E2)-(E3).

    Args:
        f_src: source features ``B x C x H_s x W_s``.
        f_tgt: target features ``B x C x H_t x W_t``.
        eps: normalisation epsilon (E2).
        relu: clamp negative similarities to 0 (E3).

    Returns:
        ``B x (H_t*W_t) x H_s x W_s``; entry ``[b, y_t*W_t + x_t, y_s, x_s]`` compares source cell
        ``(x_s, y_s)`` with target cell ``(x_t, y_t)``. Values in ``[0, 1)`` with ReLU.
    """
    if f_src.ndim != 4 or f_tgt.ndim != 4 or f_src.shape[:2] != f_tgt.shape[:2]:
        raise ValueError(f"expected B x C x H x W features with equal B and C, got {tuple(f_src.shape)} "
                         f"and {tuple(f_tgt.shape)}")
    b, _, hs, ws = f_src.shape
    ht, wt = f_tgt.shape[-2:]
    s = l2_normalize(f_src, 1, eps).flatten(2)  # B x C x Ps
    t = l2_normalize(f_tgt, 1, eps).flatten(2)  # B x C x Pt
    corr = torch.bmm(t.transpose(1, 2), s).view(b, ht * wt, hs, ws)
    return torch.relu(corr) if relu else corr


def transpose_volume(corr: torch.Tensor, target_size: tuple[int, int]) -> torch.Tensor:
    """Swap the roles of source and target: ``B x (H_t*W_t) x H_s x W_s -> B x (H_s*W_s) x H_t x W_t``."""
    b, pt, hs, ws = corr.shape
    ht, wt = target_size
    if ht * wt != pt:
        raise ValueError(f"target_size {target_size} does not match {pt} channels")
    return corr.reshape(b, pt, hs * ws).transpose(1, 2).reshape(b, hs * ws, ht, wt)


def combine_correlations(
    c4: torch.Tensor, c5: torch.Tensor, eps: float = L2_EPS, target_size: tuple[int, int] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multiply the layer volumes and L2-normalise over the candidate axis, both directions (E4).

    Args:
        c4, c5: ``B x (H_t*W_t) x H_s x W_s`` volumes from :func:`correlation` (same shape).
        eps: normalisation epsilon.
        target_size: ``(H_t, W_t)``; defaults to ``(H_s, W_s)`` (square problem).

    Returns:
        ``(corr_s2t, corr_t2s)``: ``B x (H_t*W_t) x H_s x W_s`` normalised over the target axis, and
        ``B x (H_s*W_s) x H_t x W_t`` (transposed product, normalised over the source axis).
    """
    if c4.shape != c5.shape:
        raise ValueError(f"layer volumes differ in shape: {tuple(c4.shape)} vs {tuple(c5.shape)}")
    hs, ws = c4.shape[-2:]
    target_size = target_size or (hs, ws)
    prod = c4 * c5
    s2t = l2_normalize(prod, 1, eps)
    t2s = l2_normalize(transpose_volume(prod, target_size), 1, eps)
    return s2t, t2s
