"""KITTI object files (spec §8.1): ``velodyne`` (float32 (N, 4)), ``label_2`` (15 fields, 16 with a score),
``calib`` (parsed by key), ``planes`` (road plane), and the box conversions of E41."""

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
        """Ground truth with 2 decimals (as KITTI's labels); detections (with a score) with 4 decimals (as the
        OpenPCDet result writer)."""
        vals = [self.alpha, *self.bbox, *self.dimensions, *self.location, self.rotation_y]
        nd = 2 if self.score is None else 4
        text = [self.type, f"{self.truncated:.2f}", str(int(self.occluded))] + [f"{v:.{nd}f}" for v in vals]
        if self.score is not None:
            text.append(f"{self.score:.4f}")
        return " ".join(text)


def read_velodyne(path: str | Path, num_features: int = 4) -> np.ndarray:
    """``velodyne/<id>.bin``: little-endian float32, ``num_features`` values per point -> (N, num_features)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: point cloud not found (expected KITTI velodyne/<id>.bin, float32 x y z r)")
    raw = np.fromfile(path, dtype="<f4")
    if raw.size % num_features:
        raise DataError(f"{path}: {raw.size} float32 values is not a multiple of {num_features} (x y z r per point)")
    return raw.reshape(-1, num_features).astype(np.float32, copy=False)


def write_velodyne(path: str | Path, points: np.ndarray) -> None:
    """Write (N, C) points as little-endian float32 (the ``velodyne/<id>.bin`` format)."""
    Path(path).write_bytes(np.ascontiguousarray(points, dtype="<f4").tobytes())


def read_plane(path: str | Path) -> np.ndarray:
    """``planes/<id>.txt``: road plane (a, b, c, d) in rectified camera coordinates from the 4th line; the sign
    is flipped if b > 0 (normal points up, camera y is down) and the plane normalised by ‖(a, b, c)‖."""
    lines = Path(path).read_text().splitlines()
    if len(lines) < 4:
        raise DataError(f"{path}: a KITTI plane file has the plane on its 4th line")
    plane = np.array([float(x) for x in lines[3].split()], np.float64)
    if plane.size != 4:
        raise DataError(f"{path}: expected 4 plane coefficients on line 4, got {plane.size}")
    if plane[1] > 0:
        plane = -plane
    return plane / np.linalg.norm(plane[:3])


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

    def to_text(self) -> str:
        """A KITTI calib file (P0..P3 all = P2, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo = identity)."""
        fmt = lambda a: " ".join(f"{v:.12e}" for v in np.asarray(a).ravel())  # noqa: E731
        imu = np.eye(4)[:3]
        return "".join([f"P{i}: {fmt(self.P2)}\n" for i in range(4)] + [
            f"R0_rect: {fmt(self.R0)}\n", f"Tr_velo_to_cam: {fmt(self.V2C)}\n", f"Tr_imu_to_velo: {fmt(imu)}\n"])

    def to_dict(self) -> dict[str, list[list[float]]]:
        """4x4 homogeneous matrices as nested lists (the info-file ``calib`` field)."""
        def pad(m):
            out = np.eye(4)
            out[: m.shape[0], : m.shape[1]] = m
            return out.tolist()
        return {"P2": pad(self.P2), "R0_rect": pad(self.R0), "Tr_velo_to_cam": pad(self.V2C)}

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        """Inverse of :meth:`to_dict` (accepts 3x4/4x4 P2 and Tr, 3x3/4x4 R0_rect)."""
        p2, r0, v2c = (np.asarray(d[k], np.float64) for k in ("P2", "R0_rect", "Tr_velo_to_cam"))
        return cls(p2[:3, :4], r0[:3, :3], v2c[:3, :4])

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


def boxes_lidar_to_image(boxes: np.ndarray, calib: Calibration, image_shape: tuple[int, int] | None = None
                         ) -> np.ndarray:
    """2D boxes (N, 4: left, top, right, bottom) of LiDAR boxes (N, 7): the 8 projected corners' min/max,
    clipped to [0, W−1] × [0, H−1] when ``image_shape`` = (H, W) is given (as the official result writer)."""
    import torch

    from hvpr.ops.boxes import boxes_to_corners_3d

    boxes = np.asarray(boxes, np.float64).reshape(-1, 7)
    if len(boxes) == 0:
        return np.zeros((0, 4))
    corners = boxes_to_corners_3d(torch.from_numpy(boxes)).numpy().reshape(-1, 3)
    uv, _ = calib.rect_to_img(calib.lidar_to_rect(corners))
    uv = uv.reshape(-1, 8, 2)
    out = np.concatenate([uv.min(1), uv.max(1)], 1)
    if image_shape is not None:
        h, w = image_shape
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w - 1)
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h - 1)
    return out


def boxes_camera_to_image(boxes_cam: np.ndarray, calib: Calibration, image_shape: tuple[int, int] | None = None
                          ) -> np.ndarray:
    """2D boxes (N, 4) of camera boxes (N, 7: x, y, z bottom centre, l, h, w, r_y) (spec §10.4)."""
    return boxes_lidar_to_image(boxes_camera_to_lidar(np.asarray(boxes_cam, np.float64).reshape(-1, 7), calib), calib,
                                image_shape)


def boxes_camera_to_lidar(boxes_cam: np.ndarray, calib: Calibration) -> np.ndarray:
    """Camera boxes (N, 7) = (x, y, z bottom centre, l, h, w, r_y) -> LiDAR boxes (N, 7) (E41)."""
    xyz = calib.rect_to_lidar(boxes_cam[:, :3])
    ln, h, w, ry = boxes_cam[:, 3], boxes_cam[:, 4], boxes_cam[:, 5], boxes_cam[:, 6]
    xyz = xyz + np.stack([0 * h, 0 * h, h / 2], 1)
    return np.concatenate([xyz, np.stack([ln, w, h, -(ry + np.pi / 2)], 1)], 1)


def boxes_lidar_to_camera(boxes: np.ndarray, calib: Calibration) -> np.ndarray:
    """Inverse of :func:`boxes_camera_to_lidar` (E41): r_y = −θ − π/2, bottom centre = Tr(centre − dz/2)."""
    bottom = boxes[:, :3] - np.stack([0 * boxes[:, 5], 0 * boxes[:, 5], boxes[:, 5] / 2], 1)
    xyz = calib.lidar_to_rect(bottom)
    return np.concatenate([xyz, np.stack([boxes[:, 3], boxes[:, 5], boxes[:, 4], -boxes[:, 6] - np.pi / 2], 1)], 1)
