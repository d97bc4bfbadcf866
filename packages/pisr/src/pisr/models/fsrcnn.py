"""FSRCNN (Dong et al., ECCV 2016) as used by PISR: the student and the teacher decoder (E2).

Stages (official names, spec section 3 #2): ``feature_extraction, shrinking, mapping,
expanding, last_layer``. PReLU has one learnable slope per layer (spec section 3 #3).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["FSRCNN", "STAGE_NAMES"]

STAGE_NAMES: tuple[str, ...] = ("feature_extraction", "shrinking", "mapping", "expanding", "last_layer")


def _prelu(channels: int, kind: str) -> nn.PReLU:
    # Official: nn.PReLU() -> num_parameters=1, init 0.25 (models/fsrcnn.py).
    return nn.PReLU(num_parameters=1 if kind == "shared" else channels)


def _conv_act(cin: int, cout: int, k: int, kind: str) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=1, padding=k // 2), _prelu(cout, kind))


class FSRCNN(nn.Module):
    """FSRCNN(d, s, m) (E2): LR ``(N, C, h, w)`` -> SR ``(N, C, s*h, s*w)``.

    Args:
        scale: integer up-scaling factor ``s`` (2, 3, 4 in the paper; any integer >= 1 works).
        in_channels: image channels (1 = Y).
        d: feature width (56). s: shrunk width (12). m: number of 3x3 mapping layers (4).
        prelu: ``"shared"`` (one slope per layer, the official choice) or ``"channel"``.

    Parameter count: 12 644 for (56, 12, 4) and 4 016 for FSRCNN-s (32, 5, 1).
    """

    stage_names: tuple[str, ...] = STAGE_NAMES

    def __init__(
        self,
        scale: int,
        in_channels: int = 1,
        d: int = 56,
        s: int = 12,
        m: int = 4,
        prelu: Literal["shared", "channel"] = "shared",
    ) -> None:
        super().__init__()
        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale!r}")
        if prelu not in ("shared", "channel"):
            raise ValueError(f"prelu must be 'shared' or 'channel', got {prelu!r}")
        self.scale = int(scale)
        self.in_channels, self.d, self.s, self.m = in_channels, d, s, m
        self.feature_extraction = _conv_act(in_channels, d, 5, prelu)
        self.shrinking = _conv_act(d, s, 1, prelu)
        self.mapping = nn.Sequential(*[_conv_act(s, s, 3, prelu) for _ in range(m)])
        self.expanding = _conv_act(s, d, 1, prelu)
        # Output exactly s*h x s*w: (h-1)*s - 2*4 + 9 + (s-1) = s*h.
        self.last_layer = nn.ConvTranspose2d(d, in_channels, 9, stride=self.scale, padding=4,
                                             output_padding=self.scale - 1)

    def stages(self) -> list[tuple[str, nn.Module]]:
        """``[(name, module), ...]`` in forward order."""
        return [(n, getattr(self, n)) for n in self.stage_names]

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every stage output, keyed by stage name (``last_layer`` is the SR image)."""
        out: dict[str, torch.Tensor] = {}
        for name, module in self.stages():
            x = module(x)
            out[name] = x
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, h, w)`` -> ``(N, C, s*h, s*w)``; values unconstrained (trained on [0, 1])."""
        for _, module in self.stages():
            x = module(x)
        return x

    def extra_repr(self) -> str:
        return f"scale={self.scale}, d={self.d}, s={self.s}, m={self.m}"
