import math

import numpy as np
import pytest

from cvcore.errors import DataError
from hvpr.data.kitti_io import (
    Calibration,
    KittiObject,
    boxes_camera_to_lidar,
    boxes_lidar_to_camera,
    read_label,
    write_label,
)

# a real-looking KITTI calibration (values of the order of training/000000)
CALIB = """P0: 7.07e+02 0 6.04e+02 0 0 7.07e+02 1.81e+02 0 0 0 1 0
P1: 7.07e+02 0 6.04e+02 -3.79e+02 0 7.07e+02 1.81e+02 0 0 0 1 0
P2: 7.070493e+02 0.000000e+00 6.040814e+02 4.575831e+01 0.000000e+00 7.070493e+02 1.805066e+02 -3.454157e-01 0 0 1 4.981016e-03
P3: 7.07e+02 0 6.04e+02 -3.34e+02 0 7.07e+02 1.81e+02 2.33e+00 0 0 1 3.20e-03
R0_rect: 0.9999239 0.00983776 -0.007445048 -0.009869795 0.9999421 -0.004278459 0.007402527 0.004351614 0.9999631
Tr_velo_to_cam: 7.533745e-03 -9.999714e-01 -6.166020e-04 -4.069766e-03 1.480249e-02 7.280733e-04 -9.998902e-01 -7.631618e-02 9.998621e-01 7.523790e-03 1.480755e-02 -2.717806e-01
Tr_imu_to_velo: 1 0 0 -0.8 0 1 0 0.3 0 0 1 -0.9
"""


def test_label_round_trip(tmp_path):
    objs = [KittiObject("Car", 0.0, 1, -1.57, (100.0, 120.5, 300.25, 200.0), (1.5, 1.6, 3.9), (1.0, 1.7, 20.0), 0.5),
            KittiObject("Pedestrian", 0.3, 2, 0.25, (10.0, 20.0, 30.0, 90.0), (1.73, 0.6, 0.8), (-3.0, 1.6, 9.5),
                        -0.75, 0.875)]
    write_label(tmp_path / "a.txt", objs)
    back = read_label(tmp_path / "a.txt")
    assert back == objs
    assert len((tmp_path / "a.txt").read_text().splitlines()[0].split()) == 15
    assert len((tmp_path / "a.txt").read_text().splitlines()[1].split()) == 16
    (tmp_path / "bad.txt").write_text("Car 0 0\n")
    with pytest.raises(DataError):
        read_label(tmp_path / "bad.txt")


def test_calib_by_key_equals_by_position(tmp_path):
    (tmp_path / "c.txt").write_text(CALIB)
    c = Calibration.from_file(tmp_path / "c.txt")
    lines = CALIB.splitlines()
    pos = [np.array([float(x) for x in lines[k].split()[1:]]) for k in (2, 4, 5)]
    assert np.array_equal(c.P2.ravel(), pos[0]) and np.array_equal(c.R0.ravel(), pos[1])
    assert np.array_equal(c.V2C.ravel(), pos[2])
    (tmp_path / "d.txt").write_text("P2: 1 2 3\n")
    with pytest.raises(DataError):
        Calibration.from_file(tmp_path / "d.txt")


def test_box_camera_lidar_round_trip(tmp_path):
    (tmp_path / "c.txt").write_text(CALIB)
    c = Calibration.from_file(tmp_path / "c.txt")
    rng = np.random.default_rng(0)
    cam = np.column_stack([rng.uniform(-10, 10, 50), rng.uniform(0, 2, 50), rng.uniform(5, 40, 50),
                           rng.uniform(3, 5, 50), rng.uniform(1.4, 1.8, 50), rng.uniform(1.5, 2, 50),
                           rng.uniform(-np.pi, np.pi, 50)])
    assert np.allclose(boxes_lidar_to_camera(boxes_camera_to_lidar(cam, c), c), cam, atol=1e-5)


def test_box_conversion_hand_case():
    # synthetic calibration of spec §11.1: x_cam = −y, y_cam = −z, z_cam = x
    v2c = np.array([[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]], float)
    c = Calibration(np.eye(3, 4), np.eye(3), v2c)
    # a car 10 m ahead, heading along +x (LiDAR θ = 0) -> r_y = −π/2; bottom at z = −1.73
    lidar = np.array([[10.0, 2.0, -1.73 + 0.75, 4.0, 1.6, 1.5, 0.0]])
    cam = boxes_lidar_to_camera(lidar, c)[0]
    assert np.allclose(cam[:3], [-2.0, 1.73, 10.0]) and np.allclose(cam[3:6], [4.0, 1.5, 1.6])
    assert math.isclose(cam[6], -math.pi / 2)
    uv, depth = c.rect_to_img(cam[None, :3])
    assert np.allclose(uv, [[-0.2, 0.173]]) and np.allclose(depth, [10.0])
