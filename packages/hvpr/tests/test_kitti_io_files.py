"""kitti_io additions: velodyne/plane files, calib text/dict round trips, camera boxes -> 2D boxes."""

import math

import numpy as np
import pytest

from cvcore.errors import DataError
from hvpr.data.kitti_io import (
    Calibration,
    boxes_camera_to_image,
    read_plane,
    read_velodyne,
    write_velodyne,
)


def test_velodyne_round_trip_and_errors(tmp_path):
    pts = np.random.default_rng(0).normal(size=(37, 4)).astype(np.float32)
    write_velodyne(tmp_path / "a.bin", pts)
    assert (tmp_path / "a.bin").stat().st_size == 37 * 16
    assert np.array_equal(read_velodyne(tmp_path / "a.bin"), pts)
    (tmp_path / "b.bin").write_bytes(b"\0" * 20)
    with pytest.raises(DataError, match="multiple of 4"):
        read_velodyne(tmp_path / "b.bin")
    with pytest.raises(DataError, match="velodyne"):
        read_velodyne(tmp_path / "missing.bin")


def test_plane_sign_and_normalisation(tmp_path):
    (tmp_path / "p.txt").write_text("# Plane\nWidth 4\nHeight 1\n0.02 0.99 -0.01 -1.7\n")
    p = read_plane(tmp_path / "p.txt")
    ref = -np.array([0.02, 0.99, -0.01, -1.7]) / np.linalg.norm([0.02, 0.99, -0.01])
    assert np.allclose(p, ref) and p[1] < 0
    (tmp_path / "q.txt").write_text("x\n")
    with pytest.raises(DataError):
        read_plane(tmp_path / "q.txt")


def test_calibration_text_and_dict_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    c = Calibration(rng.normal(size=(3, 4)), np.eye(3) + 0.01 * rng.normal(size=(3, 3)), rng.normal(size=(3, 4)))
    (tmp_path / "c.txt").write_text(c.to_text())
    back = Calibration.from_file(tmp_path / "c.txt")
    assert np.allclose(back.P2, c.P2, rtol=1e-11) and np.allclose(back.V2C, c.V2C, rtol=1e-11)
    d = Calibration.from_dict(c.to_dict())
    assert np.array_equal(d.R0, c.R0) and np.array_equal(np.asarray(c.to_dict()["P2"])[3], [0, 0, 0, 1])


def test_camera_boxes_to_image_closed_form():
    # identity extrinsics: camera box corners project with the pinhole formula
    p2 = np.array([[700.0, 0, 600, 0], [0, 700, 180, 0], [0, 0, 1, 0]])
    v2c = np.array([[0.0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]])
    calib = Calibration(p2, np.eye(3), v2c)
    box = np.array([[1.0, 1.5, 20.0, 4.0, 1.5, 2.0, 0.0]])  # r_y = 0: length along camera x
    uv = boxes_camera_to_image(box, calib)[0]
    xs, zs, ys = [1.0 - 2.0, 1.0 + 2.0], [20.0 - 1.0, 20.0 + 1.0], [1.5, 0.0]
    us = [700 * x / z + 600 for x in xs for z in zs]
    vs = [700 * y / z + 180 for y in ys for z in zs]
    assert np.allclose(uv, [min(us), min(vs), max(us), max(vs)])
    clipped = boxes_camera_to_image(np.array([[-30.0, 1.5, 10.0, 4.0, 1.5, 2.0, math.pi / 3]]), calib, (375, 1242))[0]
    assert clipped[0] == 0.0 and 0 <= clipped[1] <= clipped[3] <= 374
