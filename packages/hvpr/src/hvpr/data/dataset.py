"""KITTI 3D-object dataset for HVPR (spec §3.2 steps 1–5 and 7, §6.4) and its collate function.

Per item: load ``velodyne/<id>.bin`` → FOV crop (``config.data.fov_only``) → labels (DontCare dropped, LiDAR boxes
with centre z, E41) → training only: GT sampling → flip about x → global rotation → global scaling → yaw wrap →
keep boxes of ``config.data.class_names`` (a frame left without boxes is replaced by another random frame) →
points kept inside the x/y range (inclusive); training also drops boxes without a corner in the 3D range and
shuffles the points. Point sampling to N_p and voxelization (steps 6, 8) are done by ``HVPR.make_batch``.

The augmentation generator of item i in epoch e is ``np.random.default_rng([seed, e, i])`` (call
:meth:`KittiDataset.set_epoch`), so items do not depend on the number of workers or ranks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from cvcore.errors import DataError
from hvpr.config import HVPRConfig
from hvpr.data import augment as aug
from hvpr.data.infos import (
    LAYOUT,
    _sidecar_shape,
    build_info,
    dbinfo_path,
    fov_mask,
    load_dbinfos,
    load_infos,
    read_split,
    split_folder,
)
from hvpr.data.infos import info_path as default_info_path
from hvpr.data.kitti_io import Calibration, read_plane, read_velodyne

#: Attempts at replacing a training frame that has no box of the configured classes.
MAX_RESAMPLE = 100


class KittiDataset(Dataset):
    """KITTI object frames of one split (``train`` | ``val`` | ``trainval`` | ``test``).

    Reads ``<root>/kitti_infos_<split>.json`` (or ``info_path``); without it, infos are built in memory from
    ``ImageSets/<split>.txt``, ``label_2`` and ``calib`` (image shape from image_2 or ``hvpr_synthetic.json``).
    GT sampling (``config.data.augment.gt_sampling``, training only) reads ``<root>/kitti_dbinfos_train.json``.

    Item: ``points`` float32 (N, 4) LiDAR; ``gt_boxes`` float32 (M, 7) LiDAR (x, y, z centre, dx, dy, dz, yaw);
    ``gt_labels`` int64 (M,) 0-based into ``config.data.class_names``; ``frame_id`` str; ``calib``
    :class:`Calibration`; ``image_shape`` (H, W).
    """

    def __init__(self, root: str | Path, split: str, config: HVPRConfig, training: bool,
                 info_path: str | Path | None = None, seed: int = 0, db_info_path: str | Path | None = None) -> None:
        self.root = Path(root)
        self.split = split
        self.config = config
        self.training = bool(training)
        self.seed = int(seed)
        self.epoch = 0
        self.class_names = tuple(config.data.class_names)
        if not self.root.is_dir():
            raise DataError(f"data root {self.root} is not a folder; {LAYOUT}")
        p = Path(info_path) if info_path is not None else default_info_path(self.root, split)
        if p.is_file():
            self.infos = load_infos(p)
            self.info_source = str(p)
        else:
            if info_path is not None:
                raise DataError(f"info file {p} not found")
            split_file = self.root / "ImageSets" / f"{split}.txt"
            if not split_file.is_file():
                raise DataError(f"neither {p} nor {split_file} found; run `hvpr make-infos --data-root {self.root}` "
                                f"on a KITTI layout ({LAYOUT})")
            sidecar = _sidecar_shape(self.root)
            self.infos = [build_info(self.root, split, fid, count_points=False, sidecar=sidecar)
                          for fid in read_split(self.root, split)]
            for info in self.infos:  # same array types as load_infos
                if "annos" in info:
                    info["annos"]["name"] = np.asarray(info["annos"]["name"], dtype=str)
            self.info_source = str(split_file)
        if self.training and split == "test":
            raise DataError("the test split has no labels and cannot be used for training")
        self.sampler = None
        groups = {c: n for c, n in dict(config.data.augment.gt_sampling).items() if int(n) > 0}
        if self.training and groups:
            db = load_dbinfos(db_info_path if db_info_path is not None else dbinfo_path(self.root))
            self.sampler = aug.GTSampler(db, groups, seed=self.seed)
        self.folder = split_folder(split)

    def __len__(self) -> int:
        return len(self.infos)

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``epoch`` (call once per epoch, like a DistributedSampler)."""
        self.epoch = int(epoch)

    # ------------------------------------------------------------------ helpers
    def frame_id(self, index: int) -> str:
        return str(self.infos[index]["point_cloud"]["lidar_idx"])

    def calib(self, index: int) -> Calibration:
        return Calibration.from_dict(self.infos[index]["calib"])

    def image_shape(self, index: int) -> tuple[int, int]:
        h, w = self.infos[index]["image"]["image_shape"]
        return int(h), int(w)

    def load_points(self, index: int) -> np.ndarray:
        """Raw (N, 4) float32 cloud of frame ``index`` (FOV-cropped when ``config.data.fov_only``)."""
        pts = read_velodyne(self.root / self.folder / "velodyne" / f"{self.frame_id(index)}.bin")
        if self.config.data.fov_only:
            pts = pts[fov_mask(pts, self.calib(index), self.image_shape(index))]
        return pts

    def labels(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Non-DontCare LiDAR boxes (M, 7) float64 and their names (M,) of frame ``index``."""
        info = self.infos[index]
        if "annos" not in info:
            return np.zeros((0, 7)), np.zeros(0, dtype=object)
        a = info["annos"]
        names = np.asarray([n for n in a["name"] if n != "DontCare"], dtype=object)
        return np.asarray(a["gt_boxes_lidar"], np.float64).reshape(-1, 7), names

    def kitti_annos(self) -> list[dict[str, np.ndarray]]:
        """Camera-frame ground-truth anno dicts (all label lines incl. DontCare), in item order (for kitti_ap)."""
        keys = ("name", "truncated", "occluded", "alpha", "bbox", "dimensions", "location", "rotation_y")
        if any("annos" not in info for info in self.infos):
            raise DataError(f"split {self.split!r} has no labels ({self.info_source}); it cannot be evaluated")
        return [{k: np.asarray(info["annos"][k]).copy() for k in keys} for info in self.infos]

    def _plane(self, index: int) -> np.ndarray | None:
        p = self.root / self.folder / "planes" / f"{self.frame_id(index)}.txt"
        return read_plane(p) if p.is_file() else None

    # ------------------------------------------------------------------ items
    def __getitem__(self, index: int) -> dict[str, Any]:
        if not self.training:
            return self._eval_item(index)
        for attempt in range(MAX_RESAMPLE):
            item = self._train_item(index)
            if item is not None:
                return item
            index = int(np.random.default_rng([self.seed, self.epoch, index, attempt, 7]).integers(len(self)))
        raise DataError(f"no frame of {self.info_source} has a box of {list(self.class_names)} after "
                        f"{MAX_RESAMPLE} random replacements")

    def _finish(self, index: int, points: np.ndarray, boxes: np.ndarray, names: np.ndarray) -> dict[str, Any]:
        labels = np.array([self.class_names.index(n) for n in names], np.int64)
        return {"points": torch.from_numpy(np.ascontiguousarray(points, np.float32)),
                "gt_boxes": torch.from_numpy(np.ascontiguousarray(boxes, np.float32).reshape(-1, 7)),
                "gt_labels": torch.from_numpy(labels), "frame_id": self.frame_id(index), "calib": self.calib(index),
                "image_shape": self.image_shape(index)}

    def _eval_item(self, index: int) -> dict[str, Any]:
        pts = self.load_points(index)
        pts = pts[aug.mask_points_by_range(pts, self.config.data.point_range)]
        boxes, names = self.labels(index)
        keep = np.array([n in self.class_names for n in names], bool)
        boxes = boxes[keep].copy()
        boxes[:, 6] = aug.wrap_angle(boxes[:, 6])
        return self._finish(index, pts, boxes, names[keep])

    def _train_item(self, index: int) -> dict[str, Any] | None:
        d = self.config.data
        rng = np.random.default_rng([self.seed, self.epoch, index])
        pts = self.load_points(index)
        boxes, names = self.labels(index)
        if self.sampler is not None:
            pts, boxes, names = self.sampler(pts, boxes, names, index, self.epoch, self.calib(index),
                                             self._plane(index))
        a = d.augment
        pts, boxes = aug.random_world_augment(pts, boxes, rng, a.flip_x, a.rot_range, a.scale_range)
        keep = np.array([n in self.class_names for n in names], bool)
        boxes, names = boxes[keep], names[keep]
        if len(boxes) == 0:
            return None
        pts = pts[aug.mask_points_by_range(pts, d.point_range)]
        inside = aug.mask_boxes_by_range(boxes, d.point_range)
        boxes, names = boxes[inside], names[inside]
        pts = pts[rng.permutation(len(pts))]
        return self._finish(index, pts, boxes, names)


def collate_batch(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch of items: per-item lists for every field, ``batch_size``, and ``gt_boxes_padded`` (B, M_max, 8)
    float32 whose column 7 is the 1-based class label (zero rows are padding, §3.2 step 9)."""
    if len(items) == 0:
        raise ValueError("collate_batch needs at least one item")
    out: dict[str, Any] = {k: [it[k] for it in items] for k in items[0]}
    out["batch_size"] = len(items)
    m = max(int(it["gt_boxes"].shape[0]) for it in items)
    padded = torch.zeros(len(items), m, 8)
    for i, it in enumerate(items):
        k = it["gt_boxes"].shape[0]
        padded[i, :k, :7] = it["gt_boxes"]
        padded[i, :k, 7] = it["gt_labels"].float() + 1
    out["gt_boxes_padded"] = padded
    return out


__all__ = ["KittiDataset", "collate_batch"]
