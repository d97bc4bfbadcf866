"""Pillar voxelization with ``spconv.pytorch.utils.PointToVoxel`` semantics, in plain PyTorch (§3.2 step 8).

Backends: ``"torch"`` (plain PyTorch, the reference), ``"spconv"`` (``spconv.pytorch.utils.PointToVoxel``, spconv
2.x, CPU or CUDA; ImportError when spconv is not installed) and ``"auto"`` (spconv when importable, else torch).
Both give identical output (tested).

Semantics (first-come order): points are visited in input order; a point outside the half-open range
``[min, max)`` on any axis is dropped; a point opening a new voxel when ``max_voxels`` voxels already exist is
dropped; the first ``max_points`` points of a voxel are kept, later ones dropped. Voxels are returned in the
order of their first point; coordinates are integer (z, y, x); padded point slots are zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def spconv_available() -> bool:
    """True when ``spconv.pytorch.utils.PointToVoxel`` can be imported (spconv 2.x)."""
    global _SPCONV
    if _SPCONV is None:
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # spconv's deprecated torch.cuda.amp decorators
                warnings.simplefilter("ignore", DeprecationWarning)  # ccimport's locale call
                from spconv.pytorch.utils import PointToVoxel  # noqa: F401
            _SPCONV = True
        except Exception:  # noqa: BLE001 - a broken binary wheel raises OSError/RuntimeError, not only ImportError
            _SPCONV = False
    return _SPCONV


_SPCONV: bool | None = None


class PillarVoxelizer:
    """Voxelize a point cloud (N, C ≥ 3: x, y, z, ...) into (voxels, coords, num_points).

    Returns ``voxels`` (V, max_points, C) float, ``coords`` (V, 3) long as (z, y, x) and ``num_points`` (V,)
    long. ``backend`` is ``"torch"``, ``"spconv"`` or ``"auto"`` (see the module docstring); the chosen one is
    in ``self.backend``.
    """

    def __init__(
        self,
        voxel_size: Sequence[float],
        point_range: Sequence[float],
        max_points: int,
        max_voxels: int,
        backend: str = "torch",
    ) -> None:
        if backend not in ("torch", "spconv", "auto"):
            raise ValueError(f"backend must be 'torch', 'spconv' or 'auto', got {backend!r}")
        if backend == "auto":
            backend = "spconv" if spconv_available() else "torch"
        elif backend == "spconv" and not spconv_available():
            raise ImportError("backend='spconv' needs spconv 2.x (pip install spconv-cu120); use backend='torch'")
        self.backend = backend
        self._spconv: dict[str, object] = {}
        self.voxel_size = torch.tensor(list(voxel_size), dtype=torch.float32)
        self.point_range = torch.tensor(list(point_range), dtype=torch.float32)
        grid = torch.round((self.point_range[3:] - self.point_range[:3]) / self.voxel_size).long()
        self.grid_size = grid  # (nx, ny, nz)
        self.max_points = int(max_points)
        self.max_voxels = int(max_voxels)

    def __call__(self, points: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if self.backend == "spconv":
            return self._spconv_voxelize(points)
        return self._torch_voxelize(points)

    def _spconv_voxelize(self, points: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        from spconv.pytorch.utils import PointToVoxel

        key = f"{points.device}:{points.shape[1]}"
        if key not in self._spconv:
            self._spconv[key] = PointToVoxel(
                vsize_xyz=self.voxel_size.tolist(), coors_range_xyz=self.point_range.tolist(),
                num_point_features=points.shape[1], max_num_voxels=self.max_voxels,
                max_num_points_per_voxel=self.max_points, device=points.device)
        gen = self._spconv[key]
        voxels, coords, num = gen(points.float().contiguous())  # type: ignore[operator]
        return voxels.clone(), coords.long(), num.long()

    def _torch_voxelize(self, points: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        dev = points.device
        n, c = points.shape
        vs, lo, grid = self.voxel_size.to(dev), self.point_range[:3].to(dev), self.grid_size.to(dev)
        cell = torch.floor((points[:, :3] - lo) / vs).long()  # (N, 3) x, y, z
        ok = ((cell >= 0) & (cell < grid)).all(dim=1)
        idx = torch.nonzero(ok).squeeze(1)  # point indices in input order
        cell = cell[idx]
        lin = (cell[:, 2] * grid[1] + cell[:, 1]) * grid[0] + cell[:, 0]
        if idx.numel() == 0:
            return (points.new_zeros(0, self.max_points, c), torch.zeros(0, 3, dtype=torch.long, device=dev),
                    torch.zeros(0, dtype=torch.long, device=dev))
        uniq, inv = torch.unique(lin, return_inverse=True)
        pos = torch.arange(idx.numel(), device=dev)
        first = torch.full((uniq.numel(),), idx.numel(), dtype=torch.long, device=dev)
        first.scatter_reduce_(0, inv, pos, reduce="amin")
        voxel_order = torch.argsort(first)  # voxels by first occurrence
        rank = torch.empty_like(voxel_order)
        rank[voxel_order] = torch.arange(uniq.numel(), device=dev)
        vid = rank[inv]  # voxel id of every valid point (first-come numbering)
        keep_v = vid < self.max_voxels
        vid, pos = vid[keep_v], pos[keep_v]
        # slot of each point inside its voxel: stable sort by voxel id keeps input order within a voxel
        srt = torch.sort(vid, stable=True).indices
        vid_s, pos_s = vid[srt], pos[srt]
        counts = torch.bincount(vid_s, minlength=min(uniq.numel(), self.max_voxels))
        start = torch.cumsum(counts, 0) - counts
        slot = torch.arange(vid_s.numel(), device=dev) - start[vid_s]
        keep_p = slot < self.max_points
        vid_s, pos_s, slot = vid_s[keep_p], pos_s[keep_p], slot[keep_p]
        nv = counts.numel()
        voxels = points.new_zeros(nv, self.max_points, c)
        voxels[vid_s, slot] = points[idx[pos_s]]
        num_points = counts.clamp(max=self.max_points)
        first_cell = cell[first[voxel_order[:nv]]]
        coords = first_cell.flip(1)  # (z, y, x)
        return voxels, coords, num_points
