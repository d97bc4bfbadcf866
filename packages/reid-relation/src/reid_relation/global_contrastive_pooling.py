"""Global contrastive pooling, GCP (equations R5-R6)."""

from __future__ import annotations

import torch
from torch import nn

from reid_relation.embedding import Embedding

__all__ = ["GlobalContrastivePooling", "contrastive_feature"]


def contrastive_feature(parts: torch.Tensor, global_max: torch.Tensor) -> torch.Tensor:
    """``g_cont = (Σ_i p_i − g_max) / (n − 1)`` (R5): per channel, the mean of the stripe
    responses left after removing the maximal one. ``(B, n, C), (B, C) -> (B, C)``."""
    n = parts.shape[1]
    return (parts.sum(dim=1) - global_max) / (n - 1)


class GlobalContrastivePooling(nn.Module):
    """GCP for one partition: ``ĝ_max = E_m(g_max)``, ``ĝ_cont = E_r(g_cont)``,
    ``g = ĝ_max + E_g([ĝ_max ; ĝ_cont])`` (R6).

    Shapes: ``parts (B, n, in_dim)``, ``global_max (B, in_dim)`` (default: ``parts.max(1)``, equal
    to global max pooling of the map) ``-> (g, ĝ_max, ĝ_cont)`` each ``(B, out_dim)``.
    """

    def __init__(self, num_parts: int, in_dim: int = 2048, out_dim: int = 256) -> None:
        super().__init__()
        if num_parts < 2:
            raise ValueError("GlobalContrastivePooling needs at least two parts")
        self.num_parts = num_parts
        self.max_emb = Embedding(in_dim, out_dim)
        self.cont_emb = Embedding(in_dim, out_dim)
        self.fuse = Embedding(2 * out_dim, out_dim)

    def forward(self, parts: torch.Tensor, global_max: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if parts.ndim != 3 or parts.shape[1] != self.num_parts:
            raise ValueError(f"expected parts (B, {self.num_parts}, C), got {tuple(parts.shape)}")
        gmax = parts.amax(dim=1) if global_max is None else global_max
        g_max = self.max_emb(gmax)
        g_cont = self.cont_emb(contrastive_feature(parts, gmax))
        return g_max + self.fuse(torch.cat([g_max, g_cont], dim=1)), g_max, g_cont
