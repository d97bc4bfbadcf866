"""KITTI layout replica -> make_infos / GT database / KittiDataset, against brute-force references."""

import json

import numpy as np
import pytest

from cvcore.data.replica import Replica
from cvcore.errors import DataError
from hvpr.config import preset
from hvpr.data.dataset import KittiDataset, collate_batch
from hvpr.data.infos import fov_mask, load_dbinfos, load_infos, make_infos
from hvpr.data.kitti_io import Calibration, KittiObject, boxes_camera_to_lidar, read_velodyne, write_label

CALIB = """P0: 7.07e+02 0 6.04e+02 0 0 7.07e+02 1.81e+02 0 0 0 1 0
P1: 7.07e+02 0 6.04e+02 -3.79e+02 0 7.07e+02 1.81e+02 0 0 0 1 0
P2: 7.070493e+02 0.000000e+00 6.040814e+02 4.575831e+01 0.000000e+00 7.070493e+02 1.805066e+02 -3.454157e-01 0 0 1 4.981016e-03
P3: 7.07e+02 0 6.04e+02 -3.34e+02 0 7.07e+02 1.81e+02 2.33e+00 0 0 1 3.20e-03
R0_rect: 0.9999239 0.00983776 -0.007445048 -0.009869795 0.9999421 -0.004278459 0.007402527 0.004351614 0.9999631
Tr_velo_to_cam: 7.533745e-03 -9.999714e-01 -6.166020e-04 -4.069766e-03 1.480249e-02 7.280733e-04 -9.998902e-01 -7.631618e-02 9.998621e-01 7.523790e-03 1.480755e-02 -2.717806e-01
Tr_imu_to_velo: 1 0 0 -0.8 0 1 0 0.3 0 0 1 -0.9
"""
H, W = 375, 1242

OBJS = [  # (type, trunc, occ, bbox, dims h w l, location, r_y) -> difficulty 0, 1, 2, -1, DontCare
    KittiObject("Car", 0.0, 0, -1.5, (500.0, 150.0, 700.0, 210.0), (1.5, 1.6, 3.9), (1.0, 1.7, 15.0), 0.3),
    KittiObject("Pedestrian", 0.2, 1, 0.1, (300.0, 160.0, 330.0, 190.0), (1.73, 0.6, 0.8), (-4.0, 1.6, 12.0), -1.2),
    KittiObject("Van", 0.4, 2, 0.2, (800.0, 140.0, 900.0, 200.0), (2.0, 1.9, 5.0), (6.0, 1.8, 25.0), 1.4),
    KittiObject("Car", 0.0, 0, 0.5, (100.0, 170.0, 140.0, 185.0), (1.5, 1.6, 4.2), (-12.0, 1.7, 40.0), -2.8),
    KittiObject("DontCare", -1.0, -1, -10.0, (0.0, 100.0, 50.0, 160.0), (-1.0, -1.0, -1.0),
                (-1000.0, -1000.0, -1000.0), -10.0),
]


def _camera_inside(points, calib, o, m=0.0):
    """Brute force in the camera frame: |length| ≤ l/2, |width| ≤ w/2, 0 ≤ height ≤ h (camera y down)."""
    h, w, ln = o.dimensions
    rel = calib.lidar_to_rect(points[:, :3].astype(np.float64)) - np.array(o.location)
    c, s = np.cos(o.rotation_y), np.sin(o.rotation_y)
    along = rel[:, 0] * c - rel[:, 2] * s
    across = rel[:, 0] * s + rel[:, 2] * c
    return ((np.abs(along) <= ln / 2 + m) & (np.abs(across) <= w / 2 + m) & (-rel[:, 1] >= -m)
            & (-rel[:, 1] <= h + m))


def _fov_brute(points, calib):
    keep = []
    for p in points:
        rect = calib.R0 @ (calib.V2C @ np.append(p[:3], 1.0))
        x = calib.P2 @ np.append(rect, 1.0)
        u, v, depth = x[0] / x[2], x[1] / x[2], x[2] - calib.P2[2, 3]
        keep.append(0 <= u < W and 0 <= v < H and depth >= 0)
    return np.array(keep)


def _replica(root, ids=("000000", "000001", "000002"), rng=None):
    rng = rng or np.random.default_rng(0)
    r = Replica(root)
    calib_file = r.text("training/calib/000000.txt", CALIB)
    calib = Calibration.from_file(calib_file)
    cam = np.array([[*o.location, o.dimensions[2], o.dimensions[0], o.dimensions[1], o.rotation_y] for o in OBJS[:4]])
    lidar = boxes_camera_to_lidar(cam, calib)
    for fid in ids:
        r.text(f"training/calib/{fid}.txt", CALIB)
        r.image(f"training/image_2/{fid}.png", np.zeros((H, W, 3), np.uint8))
        bg = np.column_stack([rng.uniform(-10, 60, 3000), rng.uniform(-30, 30, 3000), rng.uniform(-2, 1, 3000),
                              rng.uniform(0, 1, 3000)])
        objs = [np.column_stack([b[:3] + rng.uniform(-0.45, 0.45, (200, 3)) * b[3:6], rng.uniform(0, 1, 200)])
                for b in lidar]
        r.bytes(f"training/velodyne/{fid}.bin", np.concatenate([bg] + objs).astype("<f4").tobytes())
        write_label(r.path(f"training/label_2/{fid}.txt"), OBJS)
    r.lines("ImageSets/train.txt", list(ids[:2]))
    r.lines("ImageSets/val.txt", list(ids[2:]))
    return calib, lidar


def test_make_infos_fields_against_brute_force(tmp_path):
    calib, lidar = _replica(tmp_path)
    paths = make_infos(tmp_path)
    doc = json.loads(paths["train"].read_text())
    assert doc["format"] == "hvpr-kitti-infos" and len(doc["infos"]) == 2
    infos = load_infos(paths["train"])
    info = infos[0]
    assert info["image"]["image_shape"] == [H, W] and info["point_cloud"]["lidar_idx"] == "000000"
    assert np.allclose(Calibration.from_dict(info["calib"]).P2, calib.P2)
    a = info["annos"]
    assert list(a["name"]) == [o.type for o in OBJS]
    assert np.allclose(a["dimensions"][0], [3.9, 1.5, 1.6])  # (l, h, w)
    assert list(a["difficulty"]) == [0, 1, 2, -1, 0]  # DontCare (trunc/occ -1, 61 px) is 'easy' as in OpenPCDet
    assert list(a["index"]) == [0, 1, 2, 3, -1]
    assert a["gt_boxes_lidar"].shape == (4, 7) and np.allclose(a["gt_boxes_lidar"], lidar)
    pts = read_velodyne(tmp_path / "training/velodyne/000000.bin")
    fov = pts[_fov_brute(pts, calib)]
    # R0_rect / Tr are not exactly orthonormal: the LiDAR box differs from the camera box by up to a few cm (0.85 deg tilt)
    lo = [int(_camera_inside(fov, calib, o, -0.05).sum()) for o in OBJS[:4]]
    hi = [int(_camera_inside(fov, calib, o, 0.05).sum()) for o in OBJS[:4]]
    assert all(x <= n <= y for x, n, y in zip(lo, a["num_points_in_gt"], hi)) and min(lo) > 50
    db = load_dbinfos(paths["gt_database"])
    assert set(db) == {"Car", "Pedestrian", "Van"} and len(db["Car"]) == 4  # 2 train frames x 2 cars
    e = db["Pedestrian"][0]
    obj = read_velodyne(e["path"])
    full = pts[_camera_inside(pts, calib, OBJS[1], 0.05)]
    inner = _camera_inside(pts, calib, OBJS[1], -0.05).sum()
    assert len(obj) == e["num_points_in_gt"] and inner <= len(obj) <= len(full)
    sub = full[np.isin(full[:, 3], obj[:, 3])]
    assert len(sub) == len(obj) and np.array_equal(sub[:, 3], obj[:, 3])  # same points, same order
    assert np.abs(obj[:, :3] + lidar[1, :3].astype(np.float32) - sub[:, :3]).max() < 1e-5


def test_fov_crop_against_brute_force_projection(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "c.txt").write_text(CALIB)
    calib = Calibration.from_file(tmp_path / "c.txt")
    pts = np.column_stack([rng.uniform(-20, 80, 4000), rng.uniform(-60, 60, 4000), rng.uniform(-3, 3, 4000)])
    got = fov_mask(pts, calib, (H, W))
    assert 0.1 < got.mean() < 0.9
    assert np.array_equal(got, _fov_brute(pts, calib))


def test_missing_layout_errors(tmp_path):
    cfg = preset("tiny_synthetic")
    with pytest.raises(DataError, match="not a folder"):
        KittiDataset(tmp_path / "nope", "train", cfg, True)
    with pytest.raises(DataError, match=r"kitti_infos_train\.json.*ImageSets"):
        KittiDataset(tmp_path, "train", cfg, True)
    with pytest.raises(DataError, match=r"ImageSets/val\.txt"):
        make_infos(tmp_path, splits=("val",))
    _replica(tmp_path)
    (tmp_path / "training/calib/000001.txt").unlink()
    with pytest.raises(DataError, match=r"calib/000001\.txt"):
        make_infos(tmp_path)
    cfg.data.augment.gt_sampling = {"Car": 3}
    with pytest.raises(DataError, match=r"kitti_dbinfos_train\.json"):
        KittiDataset(tmp_path, "val", cfg, True)
    (tmp_path / "kitti_infos_val.json").write_text("{not json")
    with pytest.raises(DataError, match="not a valid JSON"):
        KittiDataset(tmp_path, "val", cfg, False)


def test_dataset_eval_items_with_and_without_infos(tmp_path):
    calib, lidar = _replica(tmp_path)
    cfg = preset("kitti_car")
    plain = KittiDataset(tmp_path, "train", cfg, False)  # no info files yet: built from ImageSets
    make_infos(tmp_path)
    ds = KittiDataset(tmp_path, "train", cfg, False)
    assert ds.info_source.endswith("kitti_infos_train.json") and plain.info_source.endswith("train.txt")
    for a, b in zip(plain, ds):
        assert torch_equal(a["points"], b["points"]) and torch_equal(a["gt_boxes"], b["gt_boxes"])
        assert a["frame_id"] == b["frame_id"]
    item = ds[0]
    pts = read_velodyne(tmp_path / "training/velodyne/000000.bin")
    r = cfg.data.point_range
    ref = pts[_fov_brute(pts, calib)]
    ref = ref[(ref[:, 0] >= r[0]) & (ref[:, 0] <= r[3]) & (ref[:, 1] >= r[1]) & (ref[:, 1] <= r[4])]
    assert np.array_equal(item["points"].numpy(), ref)
    # Car only (the two Car lines), LiDAR boxes in float32, labels 0
    assert np.allclose(item["gt_boxes"].numpy(), lidar[[0, 3]], atol=1e-5)
    assert item["gt_labels"].tolist() == [0, 0] and item["image_shape"] == (H, W)
    annos = ds.kitti_annos()
    assert list(annos[0]["name"]) == [o.type for o in OBJS] and annos[0]["bbox"].shape == (5, 4)
    b = collate_batch([ds[0], ds[1]])
    assert b["batch_size"] == 2 and b["gt_boxes_padded"].shape == (2, 2, 8)
    assert (b["gt_boxes_padded"][:, :, 7] == 1).all()


def torch_equal(a, b):
    return a.shape == b.shape and bool((a == b).all())


def test_build_gt_database_from_the_info_file(tmp_path):
    _replica(tmp_path)
    paths = make_infos(tmp_path, gt_database=False)
    assert "gt_database" not in paths and not (tmp_path / "kitti_dbinfos_train.json").exists()
    from hvpr.data.infos import build_gt_database

    db = load_dbinfos(build_gt_database(tmp_path))
    assert sum(len(v) for v in db.values()) == 8  # 2 train frames x 4 non-DontCare objects
    assert all(read_velodyne(e["path"]).shape == (e["num_points_in_gt"], 4) for v in db.values() for e in v)


def test_make_infos_workers_give_identical_files(tmp_path):
    _replica(tmp_path / "a", ids=("000000", "000001", "000002", "000003", "000004"))
    one = make_infos(tmp_path / "a", out_dir=tmp_path / "one")
    two = make_infos(tmp_path / "a", out_dir=tmp_path / "two", workers=3)
    for k in ("train", "val", "gt_database"):
        assert one[k].read_text() == two[k].read_text()
