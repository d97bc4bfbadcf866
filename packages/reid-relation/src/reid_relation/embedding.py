"""The 1x1-conv embedding ``E(·) = ReLU(BN(W·+b))`` used by every branch (equation R3)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Embedding"]


class Embedding(nn.Sequential):
    """``Conv2d(in, out, 1, bias=True) → BatchNorm2d → ReLU`` applied to ``(B, in)`` vectors.

    Kept as a 1x1 convolution on a 1x1 map (indices 0/1 = conv/BN) so that the official
    ``*_conv_list.i.0.weight`` / ``.1.running_mean`` parameters map one to one.

    Shapes: ``(B, in_dim) -> (B, out_dim)``.
    """

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__(nn.Conv2d(in_dim, out_dim, 1), nn.BatchNorm2d(out_dim), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x[:, :, None, None]).flatten(1)
