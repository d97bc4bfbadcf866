"""Synthetic LiDAR scenes in the real KITTI on-disk layout (spec §11.1).

A scene (seeded NumPy generator): sensor at the origin, ground plane z = −1.73 (≈ 6,000 points with N(0, 0.03)
height noise, none under the objects), 2–6 cars (l ~ U[3.6, 4.4], w ~ U[1.5, 1.8], h ~ U[1.4, 1.6],
yaw ~ U[−π, π), bottom on the ground, centres ≥ 5 m apart), optional pedestrians (0.8 × 0.6 × 1.73) and cyclists
(1.76 × 0.6 × 1.73), 2–5 distractor poles (60 points, σ 0.1 m, height 0–2.5 m). Object points: every face whose
outward normal faces the sensor gets Poisson(density · area / max(range, 3)²) uniform points (density 1500) plus
N(0, 0.02) jitter; reflectance U[0, 1]. The fixed calibration has R0_rect = I, Tr_velo_to_cam the axis
permutation (x_cam = −y, y_cam = −z, z_cam = x) and P2 = [[700, 0, 1242, 0], [0, 700, 375, 0], [0, 0, 1, 0]] for
a 750 × 2484 image, so the FOV crop keeps the scene and every object (inside a ±55° wedge, truncation 0,
occlusion 0, 2D box > 40 px) is valid for all three difficulty levels.

Deviation from §11.1 (documented default): object centres are also limited to range ≤ 19 m and |y| ≤ 8.5 m so
every object lies inside the ``tiny_synthetic`` point-cloud range (x ≤ 20.48, |y| ≤ 10.24); pass
``max_range=22.0, y_limit=None`` for the spec's wider scene.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hvpr.data.kitti_io import (
    Calibration,
    KittiObject,
    boxes_lidar_to_camera,
    boxes_lidar_to_image,
    write_label,
    write_velodyne,
)

#: (H, W) of the synthetic camera image.
SYNTHETIC_IMAGE_SHAPE = (750, 2484)
#: Name of the side-car file that records the image shape (``make_infos`` reads it when image_2 is absent).
SIDECAR = "hvpr_synthetic.json"
GROUND_Z = -1.73
#: (length, width, height) of the fixed-size classes.
FIXED_SIZES = {"Pedestrian": (0.8, 0.6, 1.73), "Cyclist": (1.76, 0.6, 1.73)}


def synthetic_calibration() -> Calibration:
    """The fixed §11.1 calibration (R0_rect = I, axis-permutation Tr_velo_to_cam, f = 700 px)."""
    p2 = np.array([[700.0, 0, 1242, 0], [0, 700, 375, 0], [0, 0, 1, 0]])
    v2c = np.array([[0.0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]])
    return Calibration(p2, np.eye(3), v2c)


@dataclass
class SyntheticScene:
    """points (N, 4) float32 LiDAR frame; boxes (M, 7) float64 LiDAR (centre z); names (M,)."""

    points: np.ndarray
    boxes: np.ndarray
    names: list[str]


def _box_face_points(box: np.ndarray, rng: np.random.Generator, density: float, jitter: float) -> np.ndarray:
    """Points on the sensor-facing faces of one box (x, y, z, dx, dy, dz, yaw) -> (n, 3)."""
    x, y, z, dx, dy, dz, yaw = box
    c, s = math.cos(yaw), math.sin(yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    centre = np.array([x, y, z])
    half = np.array([dx, dy, dz]) / 2
    out = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            normal_local = np.zeros(3)
            normal_local[axis] = sign
            face_c_local = normal_local * half
            normal, face_c = rot @ normal_local, centre + rot @ face_c_local
            if np.dot(normal, -face_c) <= 0:  # faces away from the sensor at the origin
                continue
            u_ax, v_ax = [a for a in range(3) if a != axis]
            area = 4 * half[u_ax] * half[v_ax]
            rng_m = max(float(np.linalg.norm(face_c)), 3.0)
            n = rng.poisson(density * area / rng_m**2)
            local = np.zeros((n, 3))
            local[:, axis] = sign * half[axis]
            local[:, u_ax] = rng.uniform(-half[u_ax], half[u_ax], n)
            local[:, v_ax] = rng.uniform(-half[v_ax], half[v_ax], n)
            out.append(local @ rot.T + centre)
    pts = np.concatenate(out) if out else np.zeros((0, 3))
    return pts + rng.normal(0.0, jitter, pts.shape)


def _in_bev_box(xy: np.ndarray, box: np.ndarray, margin: float = 0.0) -> np.ndarray:
    c, s = math.cos(box[6]), math.sin(box[6])
    rel = xy - box[:2]
    lx, ly = rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c
    return (np.abs(lx) <= box[3] / 2 + margin) & (np.abs(ly) <= box[4] / 2 + margin)


def make_scene(rng: np.random.Generator, classes: Sequence[str] = ("Car",), *, num_cars: tuple[int, int] = (2, 6),
               num_others: tuple[int, int] = (0, 2), num_poles: tuple[int, int] = (2, 5),
               num_ground: int = 6000, density: float = 1500.0, min_range: float = 5.0, max_range: float = 19.0,
               wedge_deg: float = 55.0, y_limit: float | None = 8.5, min_separation: float = 5.0) -> SyntheticScene:
    """One §11.1 scene. Counts are inclusive ranges; ``num_others`` applies to Pedestrian/Cyclist if listed."""
    specs: list[str] = ["Car"] * int(rng.integers(num_cars[0], num_cars[1] + 1)) if "Car" in classes else []
    for cls in ("Pedestrian", "Cyclist"):
        if cls in classes:
            specs += [cls] * int(rng.integers(num_others[0], num_others[1] + 1))
    boxes, names = [], []
    wedge = math.radians(wedge_deg)
    calib = synthetic_calibration()
    for cls in specs:
        for _ in range(200):  # rejection sampling: separation, and the whole box inside the image (truncation 0)
            r = rng.uniform(min_range, max_range)
            a = rng.uniform(-wedge, wedge)
            x, y = r * math.cos(a), r * math.sin(a)
            if y_limit is not None and abs(y) > y_limit:
                continue
            sep = min_separation if cls == "Car" else min_separation / 2
            if not all(math.hypot(x - b[0], y - b[1]) >= sep for b in boxes):
                continue
            if cls == "Car":
                dims = (rng.uniform(3.6, 4.4), rng.uniform(1.5, 1.8), rng.uniform(1.4, 1.6))
            else:
                dims = FIXED_SIZES[cls]
            box = np.array([x, y, GROUND_Z + dims[2] / 2, *dims, rng.uniform(-math.pi, math.pi)])
            uv = boxes_lidar_to_image(box[None], calib)[0]
            if uv[0] >= 0 and uv[2] <= SYNTHETIC_IMAGE_SHAPE[1] - 1 and uv[1] >= 0 and uv[3] <= SYNTHETIC_IMAGE_SHAPE[0] - 1:
                boxes.append(box)
                names.append(cls)
                break
    boxes_arr = np.stack(boxes) if boxes else np.zeros((0, 7))
    # ground: uniform over the area in front of the sensor, none under the objects (occluded)
    y_max = (y_limit if y_limit is not None else max_range * math.sin(wedge)) + 4.0
    gxy = np.column_stack([rng.uniform(0.0, max_range + 4.0, num_ground), rng.uniform(-y_max, y_max, num_ground)])
    keep = np.ones(num_ground, bool)
    for b in boxes_arr:
        keep &= ~_in_bev_box(gxy, b)
    ground = np.column_stack([gxy[keep], GROUND_Z + rng.normal(0.0, 0.03, int(keep.sum()))])
    parts = [ground] + [_box_face_points(b, rng, density, 0.02) for b in boxes_arr]
    for _ in range(int(rng.integers(num_poles[0], num_poles[1] + 1))):
        for _ in range(100):
            r, a = rng.uniform(min_range, max_range), rng.uniform(-wedge, wedge)
            p = np.array([r * math.cos(a), r * math.sin(a)])
            if all(not _in_bev_box(p[None], b, margin=1.0)[0] for b in boxes_arr):
                break
        else:
            continue
        n = 60
        parts.append(np.column_stack([rng.normal(p[0], 0.1, n), rng.normal(p[1], 0.1, n),
                                      GROUND_Z + rng.uniform(0.0, 2.5, n)]))
    xyz = np.concatenate(parts)
    pts = np.column_stack([xyz, rng.uniform(0.0, 1.0, len(xyz))]).astype(np.float32)
    pts = pts[rng.permutation(len(pts))]
    return SyntheticScene(pts, boxes_arr, names)


class SyntheticLidar:
    """Deterministic scene source: ``SyntheticLidar(seed).scene(i)`` uses the generator seeded by (seed, i)."""

    def __init__(self, seed: int = 0, classes: Sequence[str] = ("Car",), **scene_opts) -> None:
        self.seed, self.classes, self.scene_opts = int(seed), tuple(classes), scene_opts

    def scene(self, index: int) -> SyntheticScene:
        rng = np.random.default_rng([self.seed, int(index)])
        return make_scene(rng, self.classes, **self.scene_opts)


def _wrap(a: np.ndarray) -> np.ndarray:
    return a - np.floor(a / (2 * np.pi) + 0.5) * 2 * np.pi


def scene_objects(scene: SyntheticScene, calib: Calibration,
                  image_shape: tuple[int, int] = SYNTHETIC_IMAGE_SHAPE) -> list[KittiObject]:
    """KITTI label objects of a scene: camera box (E41), alpha = −atan2(−y, x) + r_y, 2D box from the corners."""
    if len(scene.boxes) == 0:
        return []
    cam = boxes_lidar_to_camera(scene.boxes, calib)
    ry = _wrap(cam[:, 6])
    alpha = _wrap(-np.arctan2(-scene.boxes[:, 1], scene.boxes[:, 0]) + ry)
    bbox = boxes_lidar_to_image(scene.boxes, calib, image_shape)
    return [KittiObject(n, 0.0, 0, float(alpha[i]), tuple(map(float, bbox[i])),
                        (float(cam[i, 4]), float(cam[i, 5]), float(cam[i, 3])), tuple(map(float, cam[i, :3])),
                        float(ry[i]))
            for i, n in enumerate(scene.names)]


def write_synthetic_kitti(root: str | Path, num_train: int, num_val: int, seed: int = 0, *, num_test: int = 0,
                          classes: Sequence[str] = ("Car",), write_images: bool = False, **scene_opts) -> Path:
    """Write ``num_train + num_val`` (+ ``num_test``) synthetic scenes in the KITTI layout under ``root``.

    ``training/{velodyne,label_2,calib}`` (+ ``image_2`` black PNGs if ``write_images``), ``ImageSets/{train,val,
    trainval}.txt`` (+ ``test.txt`` and ``testing/{velodyne,calib}``) and ``hvpr_synthetic.json`` (image shape and
    generator settings). Ids are 6-digit, train first. Returns ``root``.
    """
    root = Path(root)
    if num_train < 0 or num_val < 0 or num_test < 0:
        raise ValueError("scene counts must be non-negative")
    calib = synthetic_calibration()
    calib_text = calib.to_text()
    src = SyntheticLidar(seed, classes, **scene_opts)
    splits = {"train": range(num_train), "val": range(num_train, num_train + num_val)}
    for sub in ("velodyne", "label_2", "calib") + (("image_2",) if write_images else ()):
        (root / "training" / sub).mkdir(parents=True, exist_ok=True)
    (root / "ImageSets").mkdir(parents=True, exist_ok=True)
    blank = None
    if write_images:
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", SYNTHETIC_IMAGE_SHAPE[::-1]).save(buf, format="PNG")
        blank = buf.getvalue()
    for idx in range(num_train + num_val):
        fid = f"{idx:06d}"
        scene = src.scene(idx)
        write_velodyne(root / "training" / "velodyne" / f"{fid}.bin", scene.points)
        write_label(root / "training" / "label_2" / f"{fid}.txt", scene_objects(scene, calib))
        (root / "training" / "calib" / f"{fid}.txt").write_text(calib_text)
        if blank is not None:
            (root / "training" / "image_2" / f"{fid}.png").write_bytes(blank)
    for name, ids in splits.items():
        (root / "ImageSets" / f"{name}.txt").write_text("".join(f"{i:06d}\n" for i in ids))
    (root / "ImageSets" / "trainval.txt").write_text("".join(f"{i:06d}\n" for i in range(num_train + num_val)))
    if num_test:
        for sub in ("velodyne", "calib"):
            (root / "testing" / sub).mkdir(parents=True, exist_ok=True)
        start = num_train + num_val
        for k in range(num_test):
            fid = f"{k:06d}"
            write_velodyne(root / "testing" / "velodyne" / f"{fid}.bin", src.scene(start + k).points)
            (root / "testing" / "calib" / f"{fid}.txt").write_text(calib_text)
        (root / "ImageSets" / "test.txt").write_text("".join(f"{k:06d}\n" for k in range(num_test)))
    meta = {"generator": "hvpr.data.synthetic", "image_shape": list(SYNTHETIC_IMAGE_SHAPE), "seed": int(seed),
            "classes": list(classes), "num_train": num_train, "num_val": num_val, "num_test": num_test,
            "scene_opts": {k: v for k, v in scene_opts.items()}}
    (root / SIDECAR).write_text(json.dumps(meta, indent=2))
    return root


__all__ = ["SIDECAR", "SYNTHETIC_IMAGE_SHAPE", "SyntheticLidar", "SyntheticScene", "make_scene", "scene_objects",
           "synthetic_calibration", "write_synthetic_kitti"]
