"""The semantic encoder g (spec §3.6): ``Linear(300 → 256)``, Xavier-uniform weight, bias 0.01."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SemanticEncoder"]

BIAS_INIT = 0.01  # GeneratorMLP fills the bias with 0.01


class SemanticEncoder(nn.Module):
    """``g(s) = A s + b`` on ``(..., in_dim)`` tensors → ``(..., out_dim)`` (E5 relies on g being
    affine). ``hidden > 0`` gives the unused variant Linear → LeakyReLU(0.2) → Dropout(0.5) → Linear.

    Full size (300 → 256): 77 056 parameters.
    """

    def __init__(self, in_dim: int = 300, out_dim: int = 256, hidden: int = 0) -> None:
        super().__init__()
        self.in_dim, self.out_dim, self.hidden = in_dim, out_dim, hidden
        if hidden:
            self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2), nn.Dropout(0.5), nn.Linear(hidden, out_dim))
        else:
            self.net = nn.Sequential(nn.Linear(in_dim, out_dim))
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.constant_(m.bias, BIAS_INIT)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        if s.shape[-1] != self.in_dim:
            raise ValueError(f"semantic encoder expects (..., {self.in_dim}) vectors, got {tuple(s.shape)}")
        return self.net(s)
