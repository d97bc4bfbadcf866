"""The PISR teacher T = D o E (E3): an encoder that sees the HR image and an FSRCNN decoder."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from pisr.models.encoder import PISREncoder
from pisr.models.fsrcnn import FSRCNN

__all__ = ["PISRTeacher", "TeacherOutput"]


class TeacherOutput(NamedTuple):
    """``sr``: ``(N, 1, H, W)``; ``lr_code``: ``(N, k, ceil(H/s), ceil(W/s))``; ``features``: stage -> tensor."""

    sr: torch.Tensor
    lr_code: torch.Tensor
    features: dict[str, torch.Tensor]


class PISRTeacher(nn.Module):
    """Teacher of PISR: ``z = E(Y_HR)``, ``sr = D(z)`` with D an FSRCNN taking ``k`` channels.

    ``features`` holds ``encoder`` and every decoder stage output (spec section 3 #2). When ``H``
    is not a multiple of ``s`` the decoder output (``s*ceil(H/s)``) is cropped to ``H x W``.
    98 728 parameters for the official (56, 12, 4, k=1).
    """

    def __init__(self, scale: int, d: int = 56, s: int = 12, m: int = 4, k: int = 1) -> None:
        super().__init__()
        self.scale = int(scale)
        self.encoder = PISREncoder(scale, d=d, s=s, k=k)
        self.decoder = FSRCNN(scale, in_channels=1, d=d, s=s, m=m)
        if k != 1:  # the decoder reads k channels and writes one
            self.decoder.feature_extraction[0] = nn.Conv2d(k, d, 5, padding=2)
            self.decoder.last_layer = nn.ConvTranspose2d(d, 1, 9, stride=self.scale, padding=4,
                                                         output_padding=self.scale - 1)

    def forward(self, hr: torch.Tensor) -> TeacherOutput:
        """HR Y ``(N, 1, H, W)`` in [0, 1] -> :class:`TeacherOutput`."""
        z = self.encoder(hr)
        feats = {"encoder": z}
        feats.update(self.decoder.forward_features(z))
        sr = feats["last_layer"][..., : hr.shape[-2], : hr.shape[-1]]
        return TeacherOutput(sr, z, feats)
