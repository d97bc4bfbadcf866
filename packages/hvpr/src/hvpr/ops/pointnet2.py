"""PointNet++ primitives in plain PyTorch (§3.4): farthest point sampling, ball query, 3-NN interpolation."""

from __future__ import annotations

import torch
from torch import Tensor

#: Initial "distance to the selected set" of the official FPS kernel.
_FPS_INIT = 1e10
#: Inverse-distance epsilon of feature propagation (§3.4).
THREE_NN_EPS = 1e-8


def farthest_point_sample(xyz: Tensor, npoint: int) -> Tensor:
    """Farthest point sampling. xyz (B, N, 3) -> indices (B, npoint) long.

    Starts at index 0; each step picks the point with the largest squared distance to the selected set
    (first index on ties). If ``npoint > N`` indices repeat (the argmax of an all-zero distance is 0).
    """
    b, n, _ = xyz.shape
    if npoint == 0:
        return torch.zeros(b, 0, dtype=torch.long, device=xyz.device)
    xyz = xyz.detach()
    dist = torch.full((b, n), _FPS_INIT, dtype=xyz.dtype, device=xyz.device)
    cur = torch.zeros(b, dtype=torch.long, device=xyz.device)
    ar = torch.arange(b, device=xyz.device)
    picked = []
    for _ in range(npoint):  # sequential by definition; few dispatches per step (CPU cost is dispatch-bound)
        picked.append(cur)
        d = ((xyz - xyz[ar, cur][:, None]) ** 2).sum(-1)
        torch.minimum(dist, d, out=dist)
        cur = torch.argmax(dist, dim=1)
    return torch.stack(picked, 1)


def squared_distances(xyz: Tensor, new_xyz: Tensor) -> Tensor:
    """(B, M, N) squared distances of centres new_xyz (B, M, 3) to points xyz (B, N, 3) (ball-query metric)."""
    return ((new_xyz[:, :, None] - xyz[:, None]) ** 2).sum(-1)


def ball_query(radius: float, nsample: int, xyz: Tensor, new_xyz: Tensor, d2: Tensor | None = None) -> Tensor:
    """Ball query. xyz (B, N, 3), centres new_xyz (B, M, 3) -> indices (B, M, nsample) long.

    Returns the first ``nsample`` points in index order with squared distance strictly below ``radius²``;
    missing slots repeat the first found index; an empty ball gives index 0 in every slot. ``d2`` may pass
    precomputed :func:`squared_distances` (shared by the radii of a multi-scale layer).
    """
    n = xyz.shape[1]
    if d2 is None:
        d2 = squared_distances(xyz, new_xyz)  # B M N
    inside = d2 < radius * radius
    ar = torch.arange(n, device=xyz.device).expand_as(inside)
    cand = torch.where(inside, ar, torch.full_like(ar, n))
    k = min(nsample, n)
    idx = torch.topk(cand, k, dim=-1, largest=False, sorted=True).values
    if k < nsample:
        idx = torch.cat([idx, idx.new_full((*idx.shape[:-1], nsample - k), n)], dim=-1)
    first = idx[..., :1]
    first = torch.where(first == n, torch.zeros_like(first), first)
    return torch.where(idx == n, first.expand_as(idx), idx)


def three_nn_interpolate(unknown: Tensor, known: Tensor, known_feats: Tensor) -> Tensor:
    """Inverse-distance interpolation from the 3 nearest known points (feature propagation, §3.4).

    unknown (B, n, 3), known (B, m, 3) with m ≥ 3, known_feats (B, C, m) -> (B, C, n). Weights are
    1/(d + 1e-8) with Euclidean (not squared) distance d, normalised to sum 1.
    """
    d = torch.cdist(unknown, known)
    dist, idx = torch.topk(d, 3, dim=-1, largest=False)
    w = 1.0 / (dist + THREE_NN_EPS)
    w = w / w.sum(-1, keepdim=True)
    b, c, m = known_feats.shape
    n = idx.shape[1]
    # gather neighbour rows from (B, m, C): the backward scatters into (B, m, C), never into a (B, C, n, m) tensor
    rows = torch.gather(known_feats.transpose(1, 2), 1, idx.reshape(b, n * 3, 1).expand(b, n * 3, c))
    return (rows.view(b, n, 3, c) * w[..., None]).sum(2).transpose(1, 2)
