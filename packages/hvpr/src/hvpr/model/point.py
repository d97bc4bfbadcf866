"""Point stream: PointNet++ MSG (E6), spec §3.4 and table 4.2; training only."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hvpr.ops.pointnet2 import ball_query, farthest_point_sample, squared_distances, three_nn_interpolate


def _mlp(chans: Sequence[int]) -> nn.Sequential:
    """1×1 Conv2d (no bias) + BN2d (PyTorch defaults) + ReLU per arrow."""
    layers: list[nn.Module] = []
    for a, b in zip(chans[:-1], chans[1:]):
        layers += [nn.Conv2d(a, b, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
    return nn.Sequential(*layers)


def _gather(x: Tensor, idx: Tensor) -> Tensor:
    """x (B, N, C), idx (B, ...) -> (B, ..., C)."""
    b = x.shape[0]
    flat = idx.reshape(b, -1)
    out = torch.gather(x, 1, flat[..., None].expand(-1, -1, x.shape[-1]))
    return out.reshape(*idx.shape, x.shape[-1])


class SetAbstractionMSG(nn.Module):
    """FPS → ball query per scale → MLP on [xyz − centre ; features] → max over samples → concat scales."""

    def __init__(self, npoint: int, radii: Sequence[float], nsamples: Sequence[int], in_channels: int,
                 mlps: Sequence[Sequence[int]]) -> None:
        super().__init__()
        self.npoint, self.radii, self.nsamples = npoint, list(radii), list(nsamples)
        self.mlps = nn.ModuleList(_mlp([in_channels + 3, *m]) for m in mlps)
        self.out_channels = sum(m[-1] for m in mlps)

    def forward(self, xyz: Tensor, feats: Tensor) -> tuple[Tensor, Tensor]:
        """xyz (B, N, 3), feats (B, C, N) -> centres (B, npoint, 3), features (B, ΣC_out, npoint)."""
        centres = _gather(xyz, farthest_point_sample(xyz, self.npoint))
        f_t = feats.transpose(1, 2)
        outs = []
        d2 = squared_distances(xyz, centres)  # one distance matrix for all radii
        for radius, ns, mlp in zip(self.radii, self.nsamples, self.mlps):
            idx = ball_query(radius, ns, xyz, centres, d2)  # B M ns
            g_xyz = _gather(xyz, idx) - centres[:, :, None]
            grouped = torch.cat([g_xyz, _gather(f_t, idx)], dim=-1).permute(0, 3, 1, 2)  # B C M ns
            outs.append(mlp(grouped).max(dim=-1).values)
        return centres, torch.cat(outs, dim=1)


class FeaturePropagation(nn.Module):
    """3-NN inverse-distance interpolation, concat [interpolated ; skip], then the MLP (§3.4)."""

    def __init__(self, in_channels: int, mlp: Sequence[int]) -> None:
        super().__init__()
        self.mlp = _mlp([in_channels, *mlp])

    def forward(self, unknown: Tensor, known: Tensor, skip: Tensor, known_feats: Tensor) -> Tensor:
        x = torch.cat([three_nn_interpolate(unknown, known, known_feats), skip], dim=1)
        return self.mlp(x[..., None])[..., 0]


class PointNet2MSG(nn.Module):
    """PointNet++ MSG encoder-decoder: (xyz (B, N, 3), reflectance (B, 1, N)) -> point features (B, C, N)."""

    def __init__(self, npoints: Sequence[int], radii: Sequence[Sequence[float]], nsamples: Sequence[Sequence[int]],
                 mlps: Sequence[Sequence[Sequence[int]]], fp_mlps: Sequence[Sequence[int]], in_channels: int = 1
                 ) -> None:
        super().__init__()
        self.sa = nn.ModuleList()
        skip_ch = [in_channels]
        c = in_channels
        for npt, r, ns, m in zip(npoints, radii, nsamples, mlps):
            sa = SetAbstractionMSG(npt, r, ns, c, m)
            self.sa.append(sa)
            c = sa.out_channels
            skip_ch.append(c)
        self.fp = nn.ModuleList()
        for i, m in enumerate(fp_mlps):
            self.fp.append(FeaturePropagation(c + skip_ch[-2 - i], m))
            c = m[-1]
        self.out_channels = c

    def forward(self, xyz: Tensor, feats: Tensor) -> Tensor:
        xyzs, fs = [xyz], [feats]
        for sa in self.sa:
            x, f = sa(xyzs[-1], fs[-1])
            xyzs.append(x)
            fs.append(f)
        f = fs[-1]
        for i, fp in enumerate(self.fp):
            f = fp(xyzs[-2 - i], xyzs[-1 - i], fs[-2 - i], f)
        return f
