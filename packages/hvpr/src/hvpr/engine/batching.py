"""From dataset items to the batch dict of :meth:`hvpr.HVPR.forward` (§3.2 steps 5–9).

A dataset item is a dict (see ``hvpr.data.dataset.KittiDataset``) with at least ``points`` (N, ≥4) float32
(x, y, z, reflectance, LiDAR frame) and, for training, ``gt_boxes`` (M, 7) LiDAR boxes (centre z) with
``gt_labels`` (M,) 0-based class indices.
Per sample the points are range-cropped, sampled to exactly N_p (seeded) and voxelized into pillars
(:class:`hvpr.data.voxelize.PillarVoxelizer`); gt boxes are zero-padded to the batch maximum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cvcore.errors import DataError


def _as_tensor(x: Any, what: str) -> Tensor:
    t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    return t.float()


def item_points(item: Mapping[str, Any]) -> Tensor:
    """The (N, 4) float32 cloud of an item (extra columns dropped)."""
    pts = _as_tensor(item["points"], "points")
    if pts.ndim != 2 or pts.shape[1] < 4:
        raise DataError(f"item points must be (N, >=4), got {tuple(pts.shape)}")
    return pts[:, :4].contiguous()


def item_gt_boxes(item: Mapping[str, Any]) -> Tensor:
    """(M, 8) LiDAR gt boxes with a 1-based class index in column 7; (0, 8) when the item has none.

    Accepts ``gt_boxes`` (M, 7) with ``gt_labels`` (M,) 0-based into ``class_names`` (the dataset's items) or
    ``gt_boxes`` (M, 8) that already carry the 1-based class.
    """
    gt = item.get("gt_boxes")
    if gt is None:
        return torch.zeros(0, 8)
    gt = _as_tensor(gt, "gt_boxes")
    if gt.numel() == 0:
        return torch.zeros(0, 8)
    if gt.ndim == 2 and gt.shape[1] == 7:
        labels = item.get("gt_labels")
        if labels is None:
            raise DataError("item has (M, 7) gt_boxes but no gt_labels")
        labels = _as_tensor(labels, "gt_labels").reshape(-1)
        if labels.numel() != gt.shape[0]:
            raise DataError(f"item has {gt.shape[0]} gt_boxes but {labels.numel()} gt_labels")
        return torch.cat([gt, labels[:, None] + 1], 1)
    if gt.ndim != 2 or gt.shape[1] != 8:
        raise DataError(f"item gt_boxes must be (M, 7) with gt_labels or (M, 8), got {tuple(gt.shape)}")
    return gt


def pad_gt_boxes(gts: Sequence[Tensor]) -> Tensor:
    """Stack (M_i, 8) boxes into (B, max M_i, 8) with zero rows as padding (at least one row)."""
    m = max([1, *[g.shape[0] for g in gts]])
    out = torch.zeros(len(gts), m, 8)
    for i, g in enumerate(gts):
        out[i, :g.shape[0]] = g
    return out


def model_batch(model: Any, items: Sequence[Mapping[str, Any]], training: bool, seed: int) -> dict[str, Any]:
    """Batch dict for ``model.forward``: points, voxels, voxel_coords, voxel_num_points, batch_size (+ gt_boxes).

    ``model`` is an (unwrapped) :class:`hvpr.HVPR`; ``seed`` seeds the point sampling (§3.2 step 6) so that a
    step (or an evaluated frame) is reproducible.
    """
    batch = model.make_batch([item_points(it) for it in items], training=training, seed=seed)
    if training:
        batch["gt_boxes"] = pad_gt_boxes([item_gt_boxes(it) for it in items]).to(batch["voxels"].device)
    return batch


def step_seed(seed: int, step: int) -> int:
    """Seed of the point sampling of training step ``step`` (a pure function, so resuming is exact)."""
    return (int(seed) * 1_000_003 + int(step)) % (2**63 - 1)
