"""KITTI object files: ``label_2`` (15 fields, 16 with a score) and ``calib`` (spec §8.1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvcore.errors import DataError


@dataclass
class KittiObject:
    """One line of a KITTI label file. ``dimensions`` are (h, w, l) as on disk; ``location`` is the bottom
    centre in the rectified camera frame; ``score`` is None for ground truth."""

    type: str
    truncated: float
    occluded: int
    alpha: float
    bbox: tuple[float, float, float, float]
    dimensions: tuple[float, float, float]
    location: tuple[float, float, float]
    rotation_y: float
    score: float | None = None

    def to_line(self) -> str:
        vals = [self.truncated, self.occluded, self.alpha, *self.bbox, *self.dimensions, *self.location,
                self.rotation_y]
        text = [self.type, f"{self.truncated:.2f}", str(int(self.occluded))] + [f"{v:.2f}" for v in vals[2:]]
        if self.score is not None:
            text.append(f"{self.score:.4f}")
        return " ".join(text)


def read_label(path: str | Path) -> list[KittiObject]:
    """Parse a ``label_2/<id>.txt`` file (15 or 16 whitespace-separated fields per line)."""
    objs = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        f = line.split()
        if not f:
            continue
        if len(f) not in (15, 16):
            raise DataError(f"{path}:{n}: expected 15 or 16 fields in a KITTI label line, got {len(f)}")
        try:
            v = [float(x) for x in f[1:]]
        except ValueError as exc:
            raise DataError(f"{path}:{n}: non-numeric field in a KITTI label line") from exc
        objs.append(KittiObject(f[0], v[0], int(v[1]), v[2], tuple(v[3:7]), tuple(v[7:10]), tuple(v[10:13]),
                                v[13], v[14] if len(v) == 15 else None))
    return objs


def write_label(path: str | Path, objects: list[KittiObject]) -> None:
    """Write objects as a KITTI label file (one line each)."""
    Path(path).write_text("".join(o.to_line() + "\n" for o in objects))


class Calibration:
    """KITTI calibration: P2 (3, 4), R0_rect (3, 3), Tr_velo_to_cam (3, 4); parsed by key."""

    def __init__(self, P2: np.ndarray, R0: np.ndarray, V2C: np.ndarray) -> None:
        self.P2 = np.asarray(P2, np.float64).reshape(3, 4)
        self.R0 = np.asarray(R0, np.float64).reshape(3, 3)
        self.V2C = np.asarray(V2C, np.float64).reshape(3, 4)

    @classmethod
    def from_file(cls, path: str | Path) -> Calibration:
        vals: dict[str, np.ndarray] = {}
        for line in Path(path).read_text().splitlines():
            if ":" not in line:
                continue
            key, rest = line.split(":", 1)
            try:
                vals[key.strip()] = np.array([float(x) for x in rest.split()])
            except ValueError as exc:
                raise DataError(f"{path}: non-numeric calibration values for {key!r}") from exc
        missing = [k for k in ("P2", "R0_rect", "Tr_velo_to_cam") if k not in vals]
        if missing:
            raise DataError(f"{path}: calibration file lacks {', '.join(missing)} (expected KITTI calib/<id>.txt)")
        return cls(vals["P2"], vals["R0_rect"], vals["Tr_velo_to_cam"])

    def lidar_to_rect(self, pts: np.ndarray) -> np.ndarray:
        """(N, 3) LiDAR -> (N, 3) rectified camera: R0 · Tr_velo_to_cam · [x; 1]."""
        hom = np.concatenate([pts, np.ones((len(pts), 1))], 1)
        return hom @ self.V2C.T @ self.R0.T

    def rect_to_lidar(self, pts: np.ndarray) -> np.ndarray:
        """Exact inverse of :meth:`lidar_to_rect`."""
        cam = pts @ np.linalg.inv(self.R0).T - self.V2C[:, 3]
        return cam @ np.linalg.inv(self.V2C[:, :3]).T

    def rect_to_img(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) rectified -> pixel (N, 2) and depth (N,): [u·d, v·d, d] = P2 · [X; 1]."""
        hom = np.concatenate([pts, np.ones((len(pts), 1))], 1) @ self.P2.T
        return hom[:, :2] / hom[:, 2:3], hom[:, 2] - self.P2[2, 3]


def boxes_camera_to_lidar(boxes_cam: np.ndarray, calib: Calibration) -> np.ndarray:
    """Camera boxes (N, 7) = (x, y, z bottom centre, l, h, w, r_y) -> LiDAR boxes (N, 7) (E41)."""
    xyz = calib.rect_to_lidar(boxes_cam[:, :3])
    l, h, w, ry = boxes_cam[:, 3], boxes_cam[:, 4], boxes_cam[:, 5], boxes_cam[:, 6]
    xyz = xyz + np.stack([0 * h, 0 * h, h / 2], 1)
    return np.concatenate([xyz, np.stack([l, w, h, -(ry + np.pi / 2)], 1)], 1)


def boxes_lidar_to_camera(boxes: np.ndarray, calib: Calibration) -> np.ndarray:
    """Inverse of :func:`boxes_camera_to_lidar` (E41): r_y = −θ − π/2, bottom centre = Tr(centre − dz/2)."""
    bottom = boxes[:, :3] - np.stack([0 * boxes[:, 5], 0 * boxes[:, 5], boxes[:, 5] / 2], 1)
    xyz = calib.lidar_to_rect(bottom)
    return np.concatenate([xyz, np.stack([boxes[:, 3], boxes[:, 5], boxes[:, 4], -boxes[:, 6] - np.pi / 2], 1)], 1)
