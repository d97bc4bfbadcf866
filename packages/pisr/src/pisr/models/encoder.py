"""The PISR teacher encoder ("lcscc" encoder, spec section 3 #1): HR -> LR-size code (E3)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PISREncoder"]


class PISREncoder(nn.Module):
    """Conv5x5(1->d) PReLU Conv5x5(d->d, stride s) PReLU Conv3x3(d->s_c) PReLU Conv3x3(s_c->k).

    ``(N, C, H, W)`` -> ``(N, C*k, ceil(H/s), ceil(W/s))``; no activation at the end.
    86 084 parameters for the official (d=56, s=12, k=1).

    Args:
        scale: stride of the second convolution.
        d, s: widths, shared with the decoder's FSRCNN ``d``/``s`` (official behaviour).
        k: channel multiplier of the code (1 in the paper).
        in_channels: image channels (1 = Y).
    """

    def __init__(self, scale: int, d: int = 56, s: int = 12, k: int = 1, in_channels: int = 1) -> None:
        super().__init__()
        self.scale = int(scale)
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, d, 5, stride=1, padding=2),
            nn.PReLU(),
            nn.Conv2d(d, d, 5, stride=self.scale, padding=2),
            nn.PReLU(),
            nn.Conv2d(d, s, 3, stride=1, padding=1),
            nn.PReLU(),
            nn.Conv2d(s, in_channels * k, 3, stride=1, padding=1),
        )

    def forward(self, hr: torch.Tensor) -> torch.Tensor:
        """HR ``(N, C, H, W)`` -> code ``(N, C*k, ceil(H/s), ceil(W/s))``."""
        return self.body(hr)
