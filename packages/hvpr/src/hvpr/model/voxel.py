"""Voxel stream: pillar feature net (E2–E4) and scale encoder (E5), spec §2.1, §3.3, table 4.1."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

BN_EPS = 1e-3
BN_MOMENTUM = 0.01


def pillar_centroids(voxels: Tensor, num_points: Tensor) -> Tensor:
    """Mean of the real points of each pillar: sum over all P slots (padding is zero) / n_i. -> (N_v, 3)."""
    n = num_points.clamp(min=1).to(voxels.dtype)[:, None]
    return voxels[:, :, :3].sum(1) / n


def decorate_points(voxels: Tensor, num_points: Tensor, coords: Tensor, voxel_size: Sequence[float],
                    point_range: Sequence[float]) -> Tensor:
    """Point decoration (E2). voxels (N_v, P, 4), num_points (N_v,), coords (N_v, 4: b, z, y, x) -> (N_v, P, 10).

    u = [x, y, z, r, x − x̄, y − ȳ, z − z̄, x − x^c, y − y^c, z − z^c]; padded slots are the zero vector.
    """
    mean = pillar_centroids(voxels, num_points)
    centre = torch.stack([
        point_range[0] + (coords[:, 3].to(voxels.dtype) + 0.5) * voxel_size[0],
        point_range[1] + (coords[:, 2].to(voxels.dtype) + 0.5) * voxel_size[1],
        point_range[2] + (coords[:, 1].to(voxels.dtype) + 0.5) * voxel_size[2],
    ], dim=1)
    xyz = voxels[:, :, :3]
    feats = torch.cat([voxels, xyz - mean[:, None], xyz - centre[:, None]], dim=-1)
    mask = torch.arange(voxels.shape[1], device=voxels.device)[None] < num_points[:, None]
    return feats * mask[..., None].to(feats.dtype)


class PFNLayer(nn.Module):
    """Linear (no bias) + BN1d over N_v·P samples + ReLU, then max over the P slots (E3/E4).

    Not-last layers use half the width and return ``[e ; max e]`` (N_v, P, out); the last returns (N_v, out).
    """

    def __init__(self, in_channels: int, out_channels: int, last: bool) -> None:
        super().__init__()
        self.last = last
        width = out_channels if last else out_channels // 2
        self.linear = nn.Linear(in_channels, width, bias=False)
        self.norm = nn.BatchNorm1d(width, eps=BN_EPS, momentum=BN_MOMENTUM)

    def forward(self, x: Tensor) -> Tensor:
        x = self.linear(x)
        # BN over the N_v·P samples per channel; on the contiguous (N_v·P, C) view (same statistics as BN1d over
        # the (N_v, C, P) permutation of the official code, several times faster backward on CPU)
        n, p, c = x.shape
        x = torch.relu(self.norm(x.reshape(n * p, c)).reshape(n, p, c))
        x_max = x.max(dim=1, keepdim=True).values
        if self.last:
            return x_max[:, 0]
        return torch.cat([x, x_max.expand_as(x)], dim=-1)


class PillarFeatureNet(nn.Module):
    """Pillar features v (E2–E4): (voxels (N_v, P, 4), num_points, coords) -> (N_v, filters[-1]).

    Both maxima run over all P slots: padded slots are zero before the first linear layer but not after BN +
    ReLU (official behaviour, §3.3).
    """

    def __init__(self, voxel_size: Sequence[float], point_range: Sequence[float], filters: Sequence[int] = (32, 64),
                 in_channels: int = 10) -> None:
        super().__init__()
        self.voxel_size = tuple(float(v) for v in voxel_size)
        self.point_range = tuple(float(v) for v in point_range)
        chans = [in_channels, *filters]
        self.layers = nn.ModuleList(
            PFNLayer(chans[i], chans[i + 1], last=i == len(filters) - 1) for i in range(len(filters)))

    @property
    def out_channels(self) -> int:
        return self.layers[-1].linear.out_features

    def forward(self, voxels: Tensor, num_points: Tensor, coords: Tensor) -> Tensor:
        x = decorate_points(voxels, num_points, coords, self.voxel_size, self.point_range)
        for layer in self.layers:
            x = layer(x)
        return x


def scale_descriptor(voxels: Tensor, num_points: Tensor) -> Tensor:
    """s_i = [n_i, ‖(x̄, ȳ, z̄)‖₂, x̄, ȳ, z̄] (E5) with raw counts and metres. -> (N_v, 5)."""
    mean = pillar_centroids(voxels, num_points)
    return torch.cat([num_points.to(voxels.dtype)[:, None], mean.norm(dim=1, keepdim=True), mean], dim=1)


class ScaleEncoder(nn.Module):
    """σ = ReLU(BN(W4·ReLU(BN(W3 s)))) (E5); linear layers without bias, BN1d(eps 1e-3, momentum 0.01)."""

    def __init__(self, filters: Sequence[int] = (16, 32), in_channels: int = 5) -> None:
        super().__init__()
        chans = [in_channels, *filters]
        layers: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b, eps=BN_EPS, momentum=BN_MOMENTUM), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.out_channels = chans[-1]

    def forward(self, voxels: Tensor, num_points: Tensor) -> Tensor:
        """voxels (N_v, P, 4), num_points (N_v,) -> (N_v, filters[-1])."""
        return self.net(scale_descriptor(voxels, num_points))
