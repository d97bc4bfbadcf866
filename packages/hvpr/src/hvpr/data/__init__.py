"""Data pipeline: KITTI I/O, info files and GT database, dataset + augmentations, synthetic scenes, voxelizer.

Names are imported lazily (importing :mod:`hvpr.data` does not scan anything or import the submodules).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PillarVoxelizer": "hvpr.data.voxelize",
    "KittiDataset": "hvpr.data.dataset",
    "collate_batch": "hvpr.data.dataset",
    "make_infos": "hvpr.data.infos",
    "build_gt_database": "hvpr.data.infos",
    "load_infos": "hvpr.data.infos",
    "write_synthetic_kitti": "hvpr.data.synthetic",
    "SyntheticLidar": "hvpr.data.synthetic",
    "synthetic_calibration": "hvpr.data.synthetic",
    "GTSampler": "hvpr.data.augment",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hvpr.data' has no attribute {name!r}")
