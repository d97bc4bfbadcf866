"""Synthetic KITTI writer (§11.1): files parse with the real readers and describe the generated scene."""

import math

import numpy as np

from hvpr.data.infos import fov_mask, make_infos
from hvpr.data.kitti_io import Calibration, boxes_camera_to_lidar, read_label, read_velodyne
from hvpr.data.synthetic import (
    SYNTHETIC_IMAGE_SHAPE,
    SyntheticLidar,
    synthetic_calibration,
    write_synthetic_kitti,
)


def _cam_boxes(objs):
    return np.array([[*o.location, o.dimensions[2], o.dimensions[0], o.dimensions[1], o.rotation_y] for o in objs])


def test_writer_layout_and_read_back(tmp_path):
    root = write_synthetic_kitti(tmp_path / "kitti", 3, 2, seed=5, num_test=1)
    ids = {s: (root / "ImageSets" / f"{s}.txt").read_text().split() for s in ("train", "val", "trainval", "test")}
    assert ids["train"] == ["000000", "000001", "000002"] and ids["val"] == ["000003", "000004"]
    assert ids["trainval"] == ids["train"] + ids["val"] and ids["test"] == ["000000"]
    assert (root / "testing" / "velodyne" / "000000.bin").is_file()
    src = SyntheticLidar(5)
    for i, fid in enumerate(ids["trainval"]):
        scene = src.scene(i)
        pts = read_velodyne(root / "training" / "velodyne" / f"{fid}.bin")
        assert pts.dtype == np.float32 and np.array_equal(pts, scene.points)
        calib = Calibration.from_file(root / "training" / "calib" / f"{fid}.txt")
        assert np.allclose(calib.P2, synthetic_calibration().P2) and np.allclose(calib.V2C, synthetic_calibration().V2C)
        objs = read_label(root / "training" / "label_2" / f"{fid}.txt")
        assert [o.type for o in objs] == scene.names and 2 <= len(objs) <= 6
        lidar = boxes_camera_to_lidar(_cam_boxes(objs), calib)
        d = lidar - scene.boxes
        d[:, 6] = (d[:, 6] + np.pi) % (2 * np.pi) - np.pi
        assert np.abs(d).max() < 0.011  # labels carry 2 decimals
        for o in objs:  # valid for every difficulty: fully in the image, > 40 px, no truncation/occlusion
            left, top, right, bottom = o.bbox
            assert 0 <= left < right <= SYNTHETIC_IMAGE_SHAPE[1] - 1 and 0 <= top < bottom <= SYNTHETIC_IMAGE_SHAPE[0] - 1
            assert bottom - top > 40 and o.truncated == 0 and o.occluded == 0
            # alpha = −atan2(−y, x) + r_y (E41), wrapped
            c = boxes_camera_to_lidar(_cam_boxes([o]), calib)[0]
            alpha = -math.atan2(-c[1], c[0]) + o.rotation_y
            assert abs((alpha - o.alpha + math.pi) % (2 * math.pi) - math.pi) < 0.02
        # cars are ≥ 5 m apart, bottoms on the ground plane
        ctr = scene.boxes[:, :2]
        dist = np.linalg.norm(ctr[:, None] - ctr[None], axis=-1) + np.eye(len(ctr)) * 99
        assert dist.min() >= 5.0
        assert np.allclose(scene.boxes[:, 2] - scene.boxes[:, 5] / 2, -1.73)


def test_object_points_on_visible_faces_and_in_fov():
    scene = SyntheticLidar(1).scene(0)
    calib = synthetic_calibration()
    assert fov_mask(scene.points, calib, SYNTHETIC_IMAGE_SHAPE)[np.linalg.norm(scene.points[:, :2], axis=1) < 19].mean() > 0.6
    for b in scene.boxes:
        c, s = math.cos(b[6]), math.sin(b[6])
        rel = scene.points[:, :3].astype(np.float64) - b[:3]
        local = np.column_stack([rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c, rel[:, 2]])
        half = b[3:6] / 2
        near = (np.abs(local) <= half + 0.08).all(1) & (local[:, 2] > -half[2] + 0.1)  # not the ground
        obj = local[near]
        assert len(obj) > 20
        assert fov_mask(scene.points[near], calib, SYNTHETIC_IMAGE_SHAPE).all()
        # each point lies on a face (one coordinate at ±half) whose outward normal faces the sensor
        on_face = np.abs(np.abs(obj) - half) < 0.08
        sensor_local = -np.array([b[0] * c + b[1] * s, -b[0] * s + b[1] * c, b[2]])
        for p, f in zip(obj, on_face):
            axes = np.nonzero(f)[0]
            assert len(axes) >= 1
            assert any(np.sign(p[a]) * (sensor_local[a] - np.sign(p[a]) * half[a]) > -0.1 for a in axes)


def test_deterministic_and_make_infos_reads_it(tmp_path):
    a = SyntheticLidar(3).scene(2)
    b = SyntheticLidar(3).scene(2)
    c = SyntheticLidar(4).scene(2)
    assert np.array_equal(a.points, b.points) and not np.array_equal(a.boxes, c.boxes)
    root = write_synthetic_kitti(tmp_path / "k", 2, 1, seed=0)
    paths = make_infos(root)  # no image_2: the image shape comes from hvpr_synthetic.json
    assert set(paths) == {"train", "val", "gt_database"}
    import json
    info = json.loads(paths["train"].read_text())["infos"][0]
    assert info["image"]["image_shape"] == list(SYNTHETIC_IMAGE_SHAPE)
    assert all(n > 20 for n in info["annos"]["num_points_in_gt"])
    assert all(d == 0 for d in info["annos"]["difficulty"])


def test_three_class_scenes():
    names, boxes = [], []
    for i in range(8):
        s = SyntheticLidar(9, classes=("Car", "Pedestrian", "Cyclist"), num_others=(1, 2)).scene(i)
        names += s.names
        boxes.append(s.boxes)
    boxes = np.concatenate(boxes)
    names = np.array(names)
    assert {"Car", "Pedestrian", "Cyclist"} <= set(names)
    assert np.allclose(boxes[names == "Pedestrian", 3:6], [0.8, 0.6, 1.73])
    assert np.allclose(boxes[names == "Cyclist", 3:6], [1.76, 0.6, 1.73])
    car = boxes[names == "Car"]
    assert (car[:, 3] >= 3.6).all() and (car[:, 3] <= 4.4).all() and (car[:, 4] >= 1.5).all() and (car[:, 5] <= 1.6).all()
