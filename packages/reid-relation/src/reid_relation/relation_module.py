"""One-vs.-rest relation module (equations R2-R4)."""

from __future__ import annotations

import torch
from torch import nn

from reid_relation.embedding import Embedding
from reid_relation.stripes import rest_average

__all__ = ["OneVsRestRelation"]


class OneVsRestRelation(nn.Module):
    """Relational local features of one partition into ``num_parts`` stripes.

    For stripe i (separate weights per stripe):
    ``a_i = E_a,i(p_i)``, ``b_i = E_b,i(r_i)`` with ``r_i`` the mean of the *raw* other stripes
    (R2, R3), and ``q_i = a_i + E_c,i([a_i ; b_i])`` (R4, residual on the embedded stripe).

    Shapes: ``parts (B, n, in_dim) -> q, a, b`` each ``(B, n, out_dim)``.
    """

    def __init__(self, num_parts: int, in_dim: int = 2048, out_dim: int = 256) -> None:
        super().__init__()
        if num_parts < 2:
            raise ValueError("OneVsRestRelation needs at least two parts")
        self.num_parts = num_parts
        self.local = nn.ModuleList(Embedding(in_dim, out_dim) for _ in range(num_parts))
        self.rest = nn.ModuleList(Embedding(in_dim, out_dim) for _ in range(num_parts))
        self.fuse = nn.ModuleList(Embedding(2 * out_dim, out_dim) for _ in range(num_parts))

    def forward(self, parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if parts.ndim != 3 or parts.shape[1] != self.num_parts:
            raise ValueError(f"expected parts (B, {self.num_parts}, C), got {tuple(parts.shape)}")
        rest = rest_average(parts)
        a = [self.local[i](parts[:, i]) for i in range(self.num_parts)]
        b = [self.rest[i](rest[:, i]) for i in range(self.num_parts)]
        q = [a[i] + self.fuse[i](torch.cat([a[i], b[i]], dim=1)) for i in range(self.num_parts)]
        return torch.stack(q, 1), torch.stack(a, 1), torch.stack(b, 1)
