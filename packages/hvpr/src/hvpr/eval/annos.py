"""Detections -> KITTI result annotations (camera frame) and KITTI label files (spec §7, §10.5, E41)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cvcore.errors import DataError
from hvpr.data.kitti_io import (
    Calibration,
    KittiObject,
    boxes_lidar_to_camera,
    boxes_lidar_to_image,
    read_label,
    write_label,
)

ANNO_KEYS = ("name", "truncated", "occluded", "alpha", "bbox", "dimensions", "location", "rotation_y", "score")


def empty_anno() -> dict[str, np.ndarray]:
    return {"name": np.zeros(0, dtype="<U10"), "truncated": np.zeros(0), "occluded": np.zeros(0, np.int64),
            "alpha": np.zeros(0), "bbox": np.zeros((0, 4)), "dimensions": np.zeros((0, 3)),
            "location": np.zeros((0, 3)), "rotation_y": np.zeros(0), "score": np.zeros(0),
            "boxes_lidar": np.zeros((0, 7))}


def predictions_to_kitti_annos(detections: Any, calib: Calibration, frame_id: str,
                               image_shape: Sequence[int] | None) -> dict[str, Any]:
    """KITTI result dict of one frame from :class:`hvpr.model.detector.Detections` (LiDAR boxes, centre z).

    Camera boxes by E41 (r_y = −θ − π/2, bottom centre = Tr(centre − dz/2)); ``dimensions`` (l, h, w);
    ``alpha`` = −atan2(−y, x) + r_y; ``bbox`` = min/max of the 8 projected corners, clipped to
    [0, W−1] × [0, H−1] (``image_shape`` = (H, W); no clipping if None); ``name`` = ``class_names[label − 1]``;
    ``truncated``/``occluded`` −1 (as OpenPCDet's result files). Also ``frame_id`` and ``boxes_lidar`` (M, 7).
    """
    boxes = np.asarray(_np(detections.boxes), np.float64).reshape(-1, 7)
    scores = np.asarray(_np(detections.scores), np.float64).reshape(-1)
    labels = np.asarray(_np(detections.labels), np.int64).reshape(-1)
    out = empty_anno()
    out["frame_id"] = str(frame_id)
    if len(boxes) == 0:
        return out
    names = tuple(detections.class_names)
    if labels.min() < 1 or labels.max() > len(names):
        raise ValueError(f"detection labels must be 1-based indexes into {names}")
    cam = boxes_lidar_to_camera(boxes, calib)
    out.update({
        "name": np.array([names[k - 1] for k in labels]),
        "truncated": np.full(len(boxes), -1.0), "occluded": np.full(len(boxes), -1, np.int64),
        "alpha": -np.arctan2(-boxes[:, 1], boxes[:, 0]) + cam[:, 6],
        "bbox": boxes_lidar_to_image(boxes, calib, None if image_shape is None else tuple(image_shape)),
        "dimensions": cam[:, 3:6], "location": cam[:, :3], "rotation_y": cam[:, 6], "score": scores,
        "boxes_lidar": boxes,
    })
    return out


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def anno_to_objects(anno: dict[str, Any]) -> list[KittiObject]:
    """Rows of an anno dict as :class:`KittiObject` (label files store dimensions as h, w, l)."""
    out = []
    for i in range(len(anno["name"])):
        length, h, w = (float(v) for v in anno["dimensions"][i])
        score = float(anno["score"][i]) if "score" in anno else None
        out.append(KittiObject(str(anno["name"][i]), float(anno["truncated"][i]), int(anno["occluded"][i]),
                               float(anno["alpha"][i]), tuple(float(v) for v in anno["bbox"][i]), (h, w, length),
                               tuple(float(v) for v in anno["location"][i]), float(anno["rotation_y"][i]), score))
    return out


def write_kitti_annos(label_dir: str | Path, anno: dict[str, Any], frame_id: str | None = None) -> Path:
    """Write one frame's anno dict as ``<label_dir>/<frame_id>.txt`` (16 fields with score)."""
    fid = frame_id if frame_id is not None else anno.get("frame_id")
    if fid is None:
        raise ValueError("frame_id is needed (argument or anno['frame_id'])")
    path = Path(label_dir) / f"{fid}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_label(path, anno_to_objects(anno))
    return path


def objects_to_anno(objs: Sequence[KittiObject]) -> dict[str, np.ndarray]:
    n = len(objs)
    a = {"name": np.array([o.type for o in objs], dtype=str) if n else np.zeros(0, dtype="<U10"),
         "truncated": np.array([o.truncated for o in objs], np.float64),
         "occluded": np.array([o.occluded for o in objs], np.int64),
         "alpha": np.array([o.alpha for o in objs], np.float64),
         "bbox": np.array([o.bbox for o in objs], np.float64).reshape(n, 4),
         "dimensions": np.array([(o.dimensions[2], o.dimensions[0], o.dimensions[1]) for o in objs],
                                np.float64).reshape(n, 3),
         "location": np.array([o.location for o in objs], np.float64).reshape(n, 3),
         "rotation_y": np.array([o.rotation_y for o in objs], np.float64)}
    if n and all(o.score is not None for o in objs):
        a["score"] = np.array([o.score for o in objs], np.float64)
    elif n == 0:
        a["score"] = np.zeros(0)
    return a


def read_kitti_annos(label_dir: str | Path, ids: Sequence[str]) -> list[dict[str, np.ndarray]]:
    """Anno dicts (``dimensions`` as l, h, w) of ``<label_dir>/<id>.txt`` for each id (missing -> DataError)."""
    out = []
    for fid in ids:
        p = Path(label_dir) / f"{fid}.txt"
        if not p.is_file():
            raise DataError(f"{p} not found (KITTI label or result file <id>.txt expected)")
        out.append(objects_to_anno(read_label(p)))
    return out


__all__ = ["ANNO_KEYS", "anno_to_objects", "empty_anno", "objects_to_anno", "predictions_to_kitti_annos",
           "read_kitti_annos", "write_kitti_annos"]
