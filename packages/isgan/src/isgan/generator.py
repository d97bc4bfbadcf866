"""The conditional generator G (spec (I6), section 4.2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Generator", "num_upsamplings"]

LEAKY_SLOPE = 0.2
MAX_UPSAMPLINGS = 6  # the spec's table (section 4.2): six stride-2 up-convolutions
MIN_UPSAMPLINGS = 4  # 8w -> 4w -> 2w -> w -> 3 needs four


def num_upsamplings(h: int, w: int) -> int:
    """Stride-2 up-convolutions of G for ``(h, w)``: ``min(6, v2(h), v2(w))``, at least 4."""
    def v2(n: int) -> int:
        return (n & -n).bit_length() - 1 if n > 0 else 0

    n = min(MAX_UPSAMPLINGS, v2(h), v2(w))
    if n < MIN_UPSAMPLINGS:
        raise ValueError(f"generator image size must be multiples of 16, got {(h, w)}")
    return n


def _up(cin: int, cout: int, kernel: int | tuple[int, int], stride: int, padding: int,
        dropout: float | None) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm2d(cout),
                               nn.LeakyReLU(LEAKY_SLOPE, inplace=True)]
    if dropout is not None:
        layers.append(nn.Dropout(dropout))
    return layers


class Generator(nn.Module):
    """``G([φ_R, φ_U, n] ⊕ onehot(y)) -> x̂`` in [-1, 1] (tanh).

    Args:
        num_classes: C, for the one-hot label.
        id_dim: size of φ_R (8 * feat_id); nid_dim: size of φ_U (8 * feat_nid).
        noise_dim: size of n (128).
        image_size: ``(H, W)``, both multiples of 16. The first up-convolution has kernel
            ``(H / 2^n, W / 2^n)`` and ``n`` stride-2 up-convolutions follow, ``n = min(6, v2(H),
            v2(W))`` (``v2`` = how often 2 divides): at 384x128 and 192x128 ``n = 6``, the spec's
            table; smaller images (96x48 in the demo, ``n = 4``) drop the 512->512 stride-2 layers
            ``up2`` / ``up3`` and keep the channel pyramid ``8w -> 4w -> 2w -> w -> 3``.
        width: feat_G (64); dropout: 0.2.
    """

    def __init__(self, num_classes: int, id_dim: int = 2048, nid_dim: int = 512, noise_dim: int = 128,
                 image_size: tuple[int, int] = (384, 128), width: int = 64, dropout: float = 0.2) -> None:
        super().__init__()
        h, w = image_size
        n_up = num_upsamplings(h, w)
        self.num_classes, self.noise_dim, self.image_size = num_classes, noise_dim, (h, w)
        self.id_dim, self.nid_dim = id_dim, nid_dim
        c8 = width * 8
        self.fc = nn.Sequential(nn.Linear(id_dim + nid_dim + noise_dim + num_classes, c8), nn.BatchNorm1d(c8),
                                nn.LeakyReLU(LEAKY_SLOPE, inplace=True), nn.Dropout(dropout))
        # one flat Sequential, indexed like the official G_deconv
        self.deconv = nn.Sequential(
            *_up(c8, c8, (h >> n_up, w >> n_up), 1, 0, dropout),
            *[layer for _ in range(n_up - MIN_UPSAMPLINGS) for layer in _up(c8, c8, 4, 2, 1, dropout)],
            *_up(c8, width * 4, 4, 2, 1, dropout),
            *_up(width * 4, width * 2, 4, 2, 1, dropout),
            *_up(width * 2, width, 4, 2, 1, None),
            nn.ConvTranspose2d(width, 3, 4, 2, 1, bias=False),
            nn.Tanh(),
        )
        for m in self.modules():  # official init: every "Conv" class (ConvTranspose too), BN2d
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in")
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, id_feat: torch.Tensor, nid_feat: torch.Tensor, labels: torch.Tensor,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, id_dim), (B, nid_dim), (B,) -> (B, 3, H, W)``; fresh noise unless given."""
        b = id_feat.shape[0]
        if id_feat.shape != (b, self.id_dim) or nid_feat.shape != (b, self.nid_dim):
            raise ValueError(f"expected codes (B, {self.id_dim}) and (B, {self.nid_dim}), "
                             f"got {tuple(id_feat.shape)} and {tuple(nid_feat.shape)}")
        if noise is None:
            noise = torch.randn(b, self.noise_dim, device=id_feat.device, dtype=id_feat.dtype)
        onehot = F.one_hot(labels.long(), self.num_classes).to(id_feat.dtype)
        z = self.fc(torch.cat([id_feat, nid_feat, noise, onehot], 1))
        return self.deconv(z[:, :, None, None])
