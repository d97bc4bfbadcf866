"""Mean and scale heads of the variance-aware distillation (E5, spec section 3 #4)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["VARIANCE_MODES", "VarianceHead"]

VarianceMode = Literal["none", "channel", "spatial", "global"]
VARIANCE_MODES: tuple[str, ...] = ("none", "channel", "spatial", "global")
# official names: None, C, HW, CHW
_OFFICIAL = {"None": "none", "C": "channel", "HW": "spatial", "CHW": "global"}


def _adapter(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cin, 1), nn.PReLU(), nn.Conv2d(cin, cout, 1))


class VarianceHead(nn.Module):
    """``f (N, C, h, w)`` -> ``(mu (N, C, h, w), rho >= 0)`` with rho of shape

    - ``none``: ``(N, C, h, w)`` (one scale per element; the paper's choice),
    - ``channel``: ``(N, C, 1, 1)``, ``spatial``: ``(N, 1, h, w)``, ``global``: ``(N, 1, 1, 1)``.

    mean = Conv1x1 PReLU Conv1x1; scale = Conv1x1 PReLU Conv1x1 [GAP] Softplus.
    12 770 parameters for C = 56, mode ``none``.
    """

    def __init__(self, channels: int, mode: VarianceMode = "none") -> None:
        super().__init__()
        mode = _OFFICIAL.get(mode, mode)  # type: ignore[assignment]
        if mode not in VARIANCE_MODES:
            raise ValueError(f"variance mode must be one of {VARIANCE_MODES}, got {mode!r}")
        self.mode = mode
        self.mean = _adapter(channels, channels)
        self.var = _adapter(channels, channels if mode in ("none", "channel") else 1)
        self.pool = mode in ("channel", "global")
        self.softplus = nn.Softplus()

    def forward(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.mean(f)
        v = self.var(f)
        if self.pool:
            v = v.mean(dim=(-2, -1), keepdim=True)
        return mu, self.softplus(v)
