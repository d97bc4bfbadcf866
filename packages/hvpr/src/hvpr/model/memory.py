"""Voxel–point aggregation (E7–E10) and the memory module with its two reads (E11–E17), spec §2.3–2.5, §3.5."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

SHRINK_EPS = 1e-12  # E12
RENORM_EPS = 1e-12  # E13


def _topk_by_sort(scores: Tensor, k: int) -> Tensor:
    return torch.sort(scores, dim=-1, descending=True, stable=True).indices[..., :k]


def topk_stable(scores: Tensor, k: int) -> Tensor:
    """Indices (rows, k) of the k largest entries of each row of scores (rows, n), in descending order with ties
    broken by lower index (deterministic, §3.5).

    Uses ``torch.topk``; rows where the k-th value is tied with an unselected entry fall back to a stable sort,
    so the result always equals the stable-sort definition.
    """
    n = scores.shape[-1]
    if k >= n or n <= 64 or scores.shape[0] == 0:
        return _topk_by_sort(scores, k)
    # k + 1 largest: the top-k set is unique unless the k-th and (k+1)-th values tie
    vals, idx = torch.topk(scores, k + 1, dim=-1, sorted=True)
    ambiguous = vals[:, k - 1] == vals[:, k]
    idx = idx[:, :k].sort(dim=-1).values  # index order, then a stable sort by value keeps lower index first on ties
    order = torch.sort(torch.gather(scores, 1, idx), dim=-1, descending=True, stable=True).indices
    idx = torch.gather(idx, 1, order)
    if bool(ambiguous.any()):
        rows = torch.nonzero(ambiguous).squeeze(1)
        idx[rows] = _topk_by_sort(scores[rows], k)
    return idx


def aggregate_points(v: Tensor, p: Tensor, k: int, chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """Per-scene voxel–point aggregation (E7–E10).

    v (N_v, C) pillar features, p (N_p, C) point features, k clamped to N_p. Returns g^p (N_v, C) and the
    selected point features (N_v, k, C). Selection and softmax weights are detached: gradient reaches p through
    the values only and never reaches v. Chunked over pillars (identical results).
    """
    k = min(k, p.shape[0])
    if v.shape[0] == 0 or k == 0:
        return v.new_zeros(v.shape[0], p.shape[1]), v.new_zeros(v.shape[0], k, p.shape[1])
    gs, sels = [], []
    for s in range(0, v.shape[0], chunk):
        vc = v[s:s + chunk]
        with torch.no_grad():
            a = vc @ p.T
            idx = topk_stable(a, k)
            w = torch.softmax(torch.gather(a, 1, idx), dim=1)
        sel = p[idx]  # (n, k, C)
        gs.append((w[..., None] * sel).sum(1))
        sels.append(sel)
    return torch.cat(gs), torch.cat(sels)


def hard_shrink_relu(beta: Tensor, lambd: float, eps: float = SHRINK_EPS) -> Tensor:
    """β̂ = max(β − λ, 0)·β / (|β − λ| + ε) (E12)."""
    return torch.relu(beta - lambd) * beta / ((beta - lambd).abs() + eps)


class MemoryBank(nn.Module):
    """Learnable memory M ∈ R^{L×C}, init U(−1/√C, 1/√C), updated by back-propagation only (§3.5)."""

    def __init__(self, num_items: int = 2000, dim: int = 64, k: int = 20, shrink: float = 0.0025) -> None:
        super().__init__()
        self.k, self.shrink = k, shrink
        self.weight = nn.Parameter(torch.empty(num_items, dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.weight.shape[1])
        nn.init.uniform_(self.weight, -stdv, stdv)

    def address(self, q: Tensor) -> Tensor:
        """β̃(q) (E11–E13): softmax over items, hard shrinkage, L1 renormalisation. q (…, C) -> (…, L)."""
        beta = torch.softmax(q @ self.weight.T, dim=-1)
        if self.shrink > 0:
            beta = hard_shrink_relu(beta, self.shrink)
            beta = beta / beta.sum(-1, keepdim=True).clamp(min=RENORM_EPS)
        return beta

    def read_points(self, v: Tensor, q: Tensor) -> Tensor:
        """Training read (E14–E15). v (N_v, C) pillars, q (N_v, K, C) selected point features -> g^m (N_v, C).

        q is not detached (gradient reaches the point stream through β); the re-aggregation weights ρ are.
        """
        if q.shape[1] == 0:
            return v.new_zeros(v.shape)
        r = self.address(q) @ self.weight  # (N_v, K, C)
        with torch.no_grad():
            rho = torch.softmax((v[:, None] * r).sum(-1), dim=1)
        return (rho[..., None] * r).sum(1)

    def read_voxels(self, v: Tensor) -> Tensor:
        """Inference read (E16–E17). v (N_v, C) -> g^m (N_v, C); only the items receive gradients."""
        k = min(self.k, self.weight.shape[0])
        with torch.no_grad():
            s = v @ self.weight.T
            idx = topk_stable(s, k)
            eta = torch.softmax(torch.gather(s, 1, idx), dim=1)
        return (eta[..., None] * self.weight[idx]).sum(1)


def memory_loss(g_mem: Tensor, g_point: Tensor, norm: str = "official", weight: float = 1.0) -> Tensor:
    """E33: λ·mean((g^m − sg(g^p))²), divided once more by N_v^B when ``norm == "official"`` (D9)."""
    if g_mem.numel() == 0:
        return g_mem.sum() * 0.0
    mse = ((g_mem - g_point.detach()) ** 2).mean()
    if norm == "official":
        mse = mse / g_mem.shape[0]
    return weight * mse


def scatter_to_bev(features: Tensor, coords: Tensor, batch_size: int, ny: int, nx: int) -> Tensor:
    """Scatter pillar features (N_v, C) to a zero canvas (B, C, ny, nx) at (row=y, col=x) of coords (b, z, y, x) (E19)."""
    c = features.shape[1]
    canvas = features.new_zeros(batch_size * ny * nx, c)
    if features.shape[0]:
        flat = coords[:, 0].long() * (ny * nx) + coords[:, 2].long() * nx + coords[:, 3].long()
        canvas = canvas.index_put((flat,), features)
    return canvas.view(batch_size, ny, nx, c).permute(0, 3, 1, 2).contiguous()
