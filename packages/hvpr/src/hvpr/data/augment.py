"""Training augmentations and range masks (spec §3.2 steps 4–5, §6.1, §6.4), on NumPy arrays.

Points are (N, C ≥ 3: x, y, z, ...) in the LiDAR frame; boxes are (M, 7) (x, y, z centre, dx, dy, dz, yaw).
Order used by :class:`hvpr.data.dataset.KittiDataset`: GT sampling → flip about x → global rotation → global
scaling → yaw wrapped to [−π, π).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hvpr.data.infos import points_in_boxes
from hvpr.data.kitti_io import Calibration, read_velodyne

#: GT-database filter of §6.2/§6.3: at least 5 points, difficulty ≠ unknown (−1).
GT_MIN_POINTS = 5
GT_REMOVED_DIFFICULTY = (-1,)


def wrap_angle(yaw: np.ndarray) -> np.ndarray:
    """Wrap to [−π, π) (``limit_period(θ, 0.5, 2π)``)."""
    return yaw - np.floor(yaw / (2 * np.pi) + 0.5) * 2 * np.pi


def flip_x(points: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror about the x axis: y → −y, yaw → −yaw (§6.1)."""
    points, boxes = points.copy(), boxes.copy()
    points[:, 1] = -points[:, 1]
    boxes[:, 1] = -boxes[:, 1]
    boxes[:, 6] = -boxes[:, 6]
    return points, boxes


def rotate_z(points: np.ndarray, boxes: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate the scene by ``angle`` about z (counter-clockwise seen from above); yaw += angle."""
    c, s = np.cos(angle), np.sin(angle)
    points, boxes = points.copy(), boxes.copy()
    x, y = points[:, 0].copy(), points[:, 1].copy()
    points[:, 0], points[:, 1] = c * x - s * y, s * x + c * y
    bx, by = boxes[:, 0].copy(), boxes[:, 1].copy()
    boxes[:, 0], boxes[:, 1] = c * bx - s * by, s * bx + c * by
    boxes[:, 6] = boxes[:, 6] + angle
    return points, boxes


def scale(points: np.ndarray, boxes: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale point xyz and box centres and extents by ``factor``."""
    points, boxes = points.copy(), boxes.copy()
    points[:, :3] *= factor
    boxes[:, :6] *= factor
    return points, boxes


def random_world_augment(points: np.ndarray, boxes: np.ndarray, rng: np.random.Generator, flip: bool = True,
                         rot_range: Sequence[float] = (-np.pi / 4, np.pi / 4),
                         scale_range: Sequence[float] = (0.95, 1.05)) -> tuple[np.ndarray, np.ndarray]:
    """Flip (p = 0.5), rotation ~ U[rot_range], scaling ~ U[scale_range] (skipped for a width < 1e-3), then
    yaw wrap. The generator draws flip, angle, factor in that order."""
    if flip and rng.random() < 0.5:
        points, boxes = flip_x(points, boxes)
    if rot_range[1] > rot_range[0]:
        points, boxes = rotate_z(points, boxes, float(rng.uniform(rot_range[0], rot_range[1])))
    if scale_range[1] - scale_range[0] >= 1e-3:
        points, boxes = scale(points, boxes, float(rng.uniform(scale_range[0], scale_range[1])))
    boxes = boxes.copy()
    boxes[:, 6] = wrap_angle(boxes[:, 6])
    return points, boxes


def mask_points_by_range(points: np.ndarray, point_range: Sequence[float]) -> np.ndarray:
    """§3.2 step 5: x_min ≤ x ≤ x_max and y_min ≤ y ≤ y_max (z not checked, inclusive) -> bool (N,)."""
    r = point_range
    return (points[:, 0] >= r[0]) & (points[:, 0] <= r[3]) & (points[:, 1] >= r[1]) & (points[:, 1] <= r[4])


def mask_boxes_by_range(boxes: np.ndarray, point_range: Sequence[float], min_corners: int = 1) -> np.ndarray:
    """Training-only box filter: at least ``min_corners`` of the 8 corners inside the 3D range (inclusive)."""
    from hvpr.ops.boxes import boxes_to_corners_3d

    if len(boxes) == 0:
        return np.zeros(0, bool)
    corners = boxes_to_corners_3d(torch.from_numpy(np.asarray(boxes, np.float64))).numpy()
    lo, hi = np.asarray(point_range[:3]), np.asarray(point_range[3:])
    inside = ((corners >= lo) & (corners <= hi)).all(-1)
    return inside.sum(-1) >= min_corners


def bev_overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotated BEV IoU (E38) of (N, 7) and (M, 7) NumPy boxes -> (N, M)."""
    from hvpr.ops.iou import rotated_iou_bev

    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return rotated_iou_bev(torch.from_numpy(np.asarray(a, np.float64)),
                           torch.from_numpy(np.asarray(b, np.float64))).numpy()


class GTSampler:
    """Ground-truth database sampling (§6.4).

    ``db`` maps class name -> list of db-info entries (:func:`hvpr.data.infos.load_dbinfos`); only classes in
    ``groups`` ({class: number}) are used, filtered to ≥ ``min_points`` points and difficulty not in
    ``removed_difficulty``. Each scene draws ``groups[c]`` entries per class by cycling through a shuffled list
    (the shuffle of cycle k of epoch e is seeded by (seed, e, class, k), and scene i of the epoch takes the
    entries at positions i·n … i·n + n − 1 of the concatenated cycles, so the draws do not depend on worker
    order). A drawn box is discarded if its rotated BEV IoU with an existing box, an earlier accepted sample or
    another box of the same draw is > 0; classes are processed in ``groups`` order. Accepted objects: moved onto
    the road plane if one is given, scene points inside them deleted, their points prepended.
    """

    def __init__(self, db: Mapping[str, list[dict[str, Any]]], groups: Mapping[str, int], seed: int = 0,
                 min_points: int = GT_MIN_POINTS, removed_difficulty: Sequence[int] = GT_REMOVED_DIFFICULTY) -> None:
        self.groups = {c: int(n) for c, n in groups.items() if int(n) > 0}
        self.seed = int(seed)
        self.db = {c: [e for e in db.get(c, []) if int(e["num_points_in_gt"]) >= min_points
                       and int(e["difficulty"]) not in removed_difficulty] for c in self.groups}

    def draw(self, cls: str, index: int, epoch: int = 0) -> list[dict[str, Any]]:
        entries = self.db[cls]
        n, total = self.groups[cls], len(entries)
        if total == 0:
            return []
        ci = sorted(self.groups).index(cls)
        out = []
        for pos in range(index * n, index * n + min(n, total)):
            cycle, k = divmod(pos, total)
            perm = np.random.default_rng([self.seed, epoch, ci, cycle]).permutation(total)
            out.append(entries[perm[k]])
        return out

    def __call__(self, points: np.ndarray, boxes: np.ndarray, names: np.ndarray, index: int, epoch: int = 0,
                 calib: Calibration | None = None, plane: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (points, boxes, names) with the accepted objects appended (boxes/names) / prepended (points)."""
        existing = np.asarray(boxes, np.float64).reshape(-1, 7)
        accepted: list[dict[str, Any]] = []
        acc_boxes = []
        for cls in self.groups:
            drawn = self.draw(cls, index, epoch)
            if not drawn:
                continue
            cand = np.stack([e["box3d_lidar"] for e in drawn]).astype(np.float64)
            iou_other = bev_overlaps(cand, cand)
            np.fill_diagonal(iou_other, 0.0)
            ref = np.concatenate([existing] + acc_boxes) if acc_boxes else existing
            iou_ex = bev_overlaps(cand, ref)
            bad = (iou_other.max(1) > 0) | (iou_ex.max(1) > 0 if iou_ex.shape[1] else False)
            for j in np.nonzero(~bad)[0]:
                accepted.append(drawn[j])
                acc_boxes.append(cand[j : j + 1])
        if not accepted:
            return points, boxes, names
        new_boxes = np.concatenate(acc_boxes)
        mv = np.zeros(len(new_boxes))
        if plane is not None and calib is not None:
            a, b, c, d = plane
            centre = calib.lidar_to_rect(new_boxes[:, :3])
            centre[:, 1] = (-d - a * centre[:, 0] - c * centre[:, 2]) / b
            ground = calib.rect_to_lidar(centre)[:, 2]
            mv = new_boxes[:, 2] - new_boxes[:, 5] / 2 - ground
            new_boxes[:, 2] -= mv
        obj = []
        for k, e in enumerate(accepted):
            p = read_velodyne(e["path"], points.shape[1]).copy()
            p[:, :3] += np.asarray(e["box3d_lidar"][:3], np.float32)
            p[:, 2] -= np.float32(mv[k])
            obj.append(p)
        keep = ~points_in_boxes(points, new_boxes).any(1)
        points = np.concatenate(obj + [points[keep]]).astype(np.float32)
        boxes = np.concatenate([np.asarray(boxes, np.float64).reshape(-1, 7), new_boxes])
        names = np.concatenate([np.asarray(names, dtype=object), np.array([e["name"] for e in accepted], object)])
        return points, boxes, names


__all__ = ["GTSampler", "bev_overlaps", "flip_x", "mask_boxes_by_range", "mask_points_by_range",
           "random_world_augment", "rotate_z", "scale", "wrap_angle"]
