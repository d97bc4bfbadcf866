"""KITTI info files and the ground-truth database (spec §8.1 "derived files", §6.4), stored as JSON.

``make_infos(root)`` writes, per split, ``kitti_infos_<split>.json``::

    {"format": "hvpr-kitti-infos", "version": 1, "split": "train", "infos": [info, ...]}

with one ``info`` per frame in the OpenPCDet field names: ``point_cloud {num_features, lidar_idx}``,
``image {image_idx, image_shape [H, W]}``, ``calib {P2, R0_rect, Tr_velo_to_cam}`` (4 × 4 lists) and, for
labelled splits, ``annos {name, truncated, occluded, alpha, bbox, dimensions (l, h, w), location, rotation_y,
score (−1), difficulty, index, gt_boxes_lidar, num_points_in_gt}``. As in OpenPCDet, ``annos`` lists every label
line including DontCare, while ``gt_boxes_lidar`` (LiDAR boxes, centre z, E41) and ``num_points_in_gt`` (FOV
points inside the box) cover the non-DontCare objects in label order; DontCare lines have ``index`` −1.

The GT database (train split): ``gt_database/<id>_<class>_<k>.bin`` (float32 (n, 4), xyz relative to the box
centre; all points of the frame inside the box) and ``kitti_dbinfos_train.json``::

    {"format": "hvpr-kitti-dbinfos", "version": 1, "classes": {name: [{name, path, image_idx, gt_idx,
     box3d_lidar, num_points_in_gt, difficulty, bbox, score}, ...]}}

``path`` is relative to the folder of the db-info file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cvcore.errors import DataError
from cvcore.io import atomic_write_text
from hvpr.data.kitti_io import Calibration, boxes_camera_to_lidar, read_label, read_velodyne, write_velodyne

INFO_FORMAT = "hvpr-kitti-infos"
DBINFO_FORMAT = "hvpr-kitti-dbinfos"
LAYOUT = ("expected the KITTI object layout: <root>/ImageSets/<split>.txt, <root>/training/{velodyne,label_2,calib,"
          "image_2}/<id>.*, <root>/testing/{velodyne,calib,image_2}/<id>.*")


def info_path(root: str | Path, split: str) -> Path:
    return Path(root) / f"kitti_infos_{split}.json"


def dbinfo_path(root: str | Path) -> Path:
    return Path(root) / "kitti_dbinfos_train.json"


def read_split(root: str | Path, split: str) -> list[str]:
    """Frame ids of ``ImageSets/<split>.txt``."""
    p = Path(root) / "ImageSets" / f"{split}.txt"
    if not p.is_file():
        raise DataError(f"{p} not found; {LAYOUT}")
    return [line.strip() for line in p.read_text().splitlines() if line.strip()]


def split_folder(split: str) -> str:
    return "testing" if split == "test" else "training"


def label_difficulty(bbox: np.ndarray, truncated: np.ndarray, occluded: np.ndarray) -> np.ndarray:
    """Label-level difficulty (§8.1): 0 easy (height ≥ 40, trunc ≤ 0.15, occ ≤ 0), 1 moderate (25, 0.3, 1),
    2 hard (25, 0.5, 2), −1 otherwise; height = bottom − top + 1."""
    height = bbox[:, 3] - bbox[:, 1] + 1
    diff = np.full(len(height), -1, np.int64)
    for level, (h, t, o) in reversed(list(enumerate(((40, 0.15, 0), (25, 0.3, 1), (25, 0.5, 2))))):
        ok = (height >= h) & (truncated <= t) & (occluded <= o)
        diff[ok] = level
    return diff


def _image_shape(root: Path, folder: str, fid: str, image_shape: tuple[int, int] | None,
                 sidecar: tuple[int, int] | None) -> list[int]:
    img = root / folder / "image_2" / f"{fid}.png"
    if img.is_file():
        from PIL import Image

        with Image.open(img) as im:
            return [im.height, im.width]
    if image_shape is not None:
        return [int(image_shape[0]), int(image_shape[1])]
    if sidecar is not None:
        return [int(sidecar[0]), int(sidecar[1])]
    raise DataError(f"{img} not found: the image shape is needed for the FOV crop; pass image_shape=(H, W) "
                    "(hvpr make-infos --image-shape H W) or add image_2")


def _sidecar_shape(root: Path) -> tuple[int, int] | None:
    from hvpr.data.synthetic import SIDECAR

    p = root / SIDECAR
    if not p.is_file():
        return None
    shape = json.loads(p.read_text()).get("image_shape")
    return (int(shape[0]), int(shape[1])) if shape else None


def fov_mask(points: np.ndarray, calib: Calibration, image_shape: Sequence[int]) -> np.ndarray:
    """§3.2 step 2: 0 ≤ u < W, 0 ≤ v < H and rectified depth ≥ 0 -> bool (N,)."""
    rect = calib.lidar_to_rect(np.asarray(points, np.float64)[:, :3])
    uv, depth = calib.rect_to_img(rect)
    h, w = image_shape
    return (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h) & (depth >= 0)


def points_in_boxes(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, M) bool: point inside LiDAR box (x, y, z centre, dx, dy, dz, yaw), boundary included."""
    pts = np.asarray(points, np.float64)[:, :3]
    b = np.asarray(boxes, np.float64).reshape(-1, 7)
    out = np.zeros((len(pts), len(b)), bool)
    for k, (x, y, z, dx, dy, dz, yaw) in enumerate(b):  # one box at a time: O(N) memory
        rel = pts - (x, y, z)
        c, s = np.cos(yaw), np.sin(yaw)
        out[:, k] = ((np.abs(rel[:, 0] * c + rel[:, 1] * s) <= dx / 2) & (np.abs(-rel[:, 0] * s + rel[:, 1] * c) <= dy / 2)
                     & (np.abs(rel[:, 2]) <= dz / 2))
    return out


def _annos(objs: list, calib: Calibration) -> dict[str, Any]:
    from hvpr.eval.annos import objects_to_anno  # label h, w, l -> l, h, w (camera "dimensions")

    a: dict[str, Any] = objects_to_anno(objs)
    a["name"] = [o.type for o in objs]  # the official infos keep a list (JSON here)
    a["score"] = np.full(len(objs), -1.0)
    a["difficulty"] = label_difficulty(a["bbox"], a["truncated"], a["occluded"])
    care = np.array([nm != "DontCare" for nm in a["name"]], bool)
    a["index"] = np.where(care, np.cumsum(care) - 1, -1)
    cam = np.concatenate([a["location"], a["dimensions"], a["rotation_y"][:, None]], 1)[care]
    a["gt_boxes_lidar"] = boxes_camera_to_lidar(cam, calib) if len(cam) else np.zeros((0, 7))
    return a


def build_info(root: str | Path, split: str, fid: str, image_shape: tuple[int, int] | None = None,
               count_points: bool = True, sidecar: tuple[int, int] | None = None) -> dict[str, Any]:
    """The info dict of one frame (NumPy arrays inside ``annos``); see the module docstring."""
    root = Path(root)
    folder = split_folder(split)
    calib_p = root / folder / "calib" / f"{fid}.txt"
    if not calib_p.is_file():
        raise DataError(f"{calib_p} not found; {LAYOUT}")
    calib = Calibration.from_file(calib_p)
    shape = _image_shape(root, folder, fid, image_shape, sidecar)
    info: dict[str, Any] = {"point_cloud": {"num_features": 4, "lidar_idx": fid},
                            "image": {"image_idx": fid, "image_shape": shape}, "calib": calib.to_dict()}
    if split != "test":
        label_p = root / folder / "label_2" / f"{fid}.txt"
        if not label_p.is_file():
            raise DataError(f"{label_p} not found; {LAYOUT}")
        annos = _annos(read_label(label_p), calib)
        if count_points:
            pts = read_velodyne(root / folder / "velodyne" / f"{fid}.bin")
            pts = pts[fov_mask(pts, calib, shape)]
            annos["num_points_in_gt"] = points_in_boxes(pts, annos["gt_boxes_lidar"]).sum(0).astype(np.int64)
        else:
            annos["num_points_in_gt"] = np.full(len(annos["gt_boxes_lidar"]), -1, np.int64)
        info["annos"] = annos
    return info


def _to_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _to_json(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


_ANNO_DTYPES = {"truncated": np.float64, "occluded": np.int64, "alpha": np.float64, "bbox": (np.float64, 4),
                "dimensions": (np.float64, 3), "location": (np.float64, 3), "rotation_y": np.float64,
                "score": np.float64, "difficulty": np.int64, "index": np.int64, "gt_boxes_lidar": (np.float64, 7),
                "num_points_in_gt": np.int64}


def annos_from_info(info: dict[str, Any]) -> dict[str, np.ndarray]:
    """``info["annos"]`` as NumPy arrays (the camera-frame anno dict of :func:`hvpr.eval.kitti_ap`)."""
    a = info["annos"]
    out: dict[str, np.ndarray] = {"name": np.array(a["name"], dtype=object).astype(str) if len(a["name"])
                                  else np.zeros(0, dtype="<U1")}
    for k, spec in _ANNO_DTYPES.items():
        if k not in a:
            continue
        dtype, width = spec if isinstance(spec, tuple) else (spec, None)
        arr = np.asarray(a[k], dtype)
        out[k] = arr.reshape(-1, width) if width else arr.reshape(-1)
    return out


def load_infos(path: str | Path) -> list[dict[str, Any]]:
    """Read a ``kitti_infos_<split>.json``; ``annos`` come back as NumPy arrays."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found; run `hvpr make-infos --data-root <root>` first")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not a valid JSON info file ({exc.msg})") from exc
    if not isinstance(doc, dict) or doc.get("format") != INFO_FORMAT:
        raise DataError(f"{path}: not an hvpr info file (format {INFO_FORMAT!r} expected)")
    infos = doc["infos"]
    for info in infos:
        if "annos" in info:
            info["annos"] = annos_from_info(info)
    return infos


def load_dbinfos(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read ``kitti_dbinfos_train.json``; each entry's ``path`` is made absolute."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found: GT sampling needs the database (run `hvpr make-infos`)")
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or doc.get("format") != DBINFO_FORMAT:
        raise DataError(f"{path}: not an hvpr db-info file (format {DBINFO_FORMAT!r} expected)")
    for entries in doc["classes"].values():
        for e in entries:
            e["path"] = str(path.parent / e["path"])
            e["box3d_lidar"] = np.asarray(e["box3d_lidar"], np.float64)
    return doc["classes"]


def build_gt_database(root: str | Path, split: str = "train", infos: list[dict[str, Any]] | None = None,
                      out_dir: str | Path | None = None) -> Path:
    """Per-object point crops of the ``split`` frames (§6.4) -> path of ``kitti_dbinfos_train.json``.

    ``infos`` default to ``<out_dir>/kitti_infos_<split>.json`` (``out_dir`` defaults to ``root``)."""
    root = Path(root)
    out_dir = Path(out_dir) if out_dir is not None else root
    if infos is None:
        infos = load_infos(info_path(out_dir, split))
    db_dir = out_dir / "gt_database"
    db_dir.mkdir(parents=True, exist_ok=True)
    classes: dict[str, list[dict[str, Any]]] = {}
    folder = split_folder(split)
    for info in infos:
        fid = info["point_cloud"]["lidar_idx"]
        a = info["annos"]
        boxes = np.asarray(a["gt_boxes_lidar"], np.float64).reshape(-1, 7)
        if len(boxes) == 0:
            continue
        pts = read_velodyne(root / folder / "velodyne" / f"{fid}.bin")
        inside = points_in_boxes(pts, boxes)
        care = [i for i, n in enumerate(a["name"]) if n != "DontCare"]
        for k, li in enumerate(care):
            name = a["name"][li]
            obj = pts[inside[:, k]].copy()
            obj[:, :3] -= boxes[k, :3].astype(np.float32)
            rel = f"gt_database/{fid}_{name}_{k}.bin"
            write_velodyne(out_dir / rel, obj)
            classes.setdefault(name, []).append({
                "name": name, "path": rel, "image_idx": fid, "gt_idx": k, "box3d_lidar": boxes[k].tolist(),
                "num_points_in_gt": int(len(obj)), "difficulty": int(np.asarray(a["difficulty"])[li]),
                "bbox": np.asarray(a["bbox"])[li].tolist(), "score": -1.0})
    p = dbinfo_path(out_dir)
    atomic_write_text(p, json.dumps({"format": DBINFO_FORMAT, "version": 1, "classes": classes}))
    return p


def make_infos(root: str | Path, out_dir: str | Path | None = None, splits: Sequence[str] = ("train", "val"),
               image_shape: tuple[int, int] | None = None, gt_database: bool = True, workers: int = 1
               ) -> dict[str, Path]:
    """Write ``kitti_infos_<split>.json`` per split and (from the train split) the GT database.

    Returns ``{split: info path, ..., "gt_database": db-info path}``. The image shape of a frame comes from
    ``image_2/<id>.png`` if present, else ``image_shape`` (H, W), else ``<root>/hvpr_synthetic.json``.
    ``workers`` > 1 builds the frames' infos in a thread pool (file reads and NumPy release the GIL); the
    output does not depend on it.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data root {root} is not a folder; {LAYOUT}")
    out_dir = Path(out_dir) if out_dir is not None else root
    out_dir.mkdir(parents=True, exist_ok=True)
    sidecar = _sidecar_shape(root)
    out: dict[str, Path] = {}
    train_infos = None
    for split in splits:
        ids = read_split(root, split)
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                infos = list(pool.map(lambda fid: build_info(root, split, fid, image_shape, True, sidecar), ids))
        else:
            infos = [build_info(root, split, fid, image_shape, True, sidecar) for fid in ids]
        p = info_path(out_dir, split)
        atomic_write_text(p, json.dumps({"format": INFO_FORMAT, "version": 1, "split": split,
                                         "infos": _to_json(infos)}))
        out[split] = p
        if split == "train":
            train_infos = infos
    if gt_database and train_infos is not None:
        out["gt_database"] = build_gt_database(root, "train", train_infos, out_dir)
    return out


__all__ = ["annos_from_info", "build_gt_database", "build_info", "dbinfo_path", "fov_mask", "info_path",
           "label_difficulty", "load_dbinfos", "load_infos", "make_infos", "points_in_boxes", "read_split"]
