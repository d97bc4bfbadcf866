"""Augmentations against closed forms and properties; GT sampling never overlaps; training items."""

import math

import numpy as np
import pytest
from hvpr_polygon_reference import clip, corners

from hvpr.config import preset
from hvpr.data import augment as aug
from hvpr.data.dataset import KittiDataset
from hvpr.data.infos import make_infos, points_in_boxes
from hvpr.data.kitti_io import write_velodyne
from hvpr.data.synthetic import synthetic_calibration, write_synthetic_kitti


def _scene(rng, n=500, m=4):
    boxes = np.column_stack([rng.uniform(0, 30, m), rng.uniform(-10, 10, m), rng.uniform(-1.5, 0, m),
                             rng.uniform(3, 5, m), rng.uniform(1.4, 2, m), rng.uniform(1.3, 1.8, m),
                             rng.uniform(-np.pi, np.pi, m)])
    pts = np.column_stack([rng.uniform(-5, 35, (n, 2)) * [1, 0.6], rng.uniform(-2, 1, n), rng.uniform(0, 1, n)])
    inside = [np.column_stack([b[:3] + rng.uniform(-0.4, 0.4, (50, 3)) * b[3:6], rng.uniform(0, 1, 50)]) for b in boxes]
    # rotate the in-box offsets into the box frame
    for k, b in enumerate(boxes):
        rel = inside[k][:, :2] - b[:2]
        c, s = math.cos(b[6]), math.sin(b[6])
        inside[k][:, :2] = b[:2] + np.column_stack([c * rel[:, 0] - s * rel[:, 1], s * rel[:, 0] + c * rel[:, 1]])
    return np.concatenate([pts] + inside).astype(np.float32), boxes


def test_flip_twice_is_identity_and_flip_closed_form():
    rng = np.random.default_rng(0)
    pts, boxes = _scene(rng)
    p1, b1 = aug.flip_x(pts, boxes)
    assert np.array_equal(p1[:, 1], -pts[:, 1]) and np.array_equal(b1[:, 6], -boxes[:, 6])
    p2, b2 = aug.flip_x(p1, b1)
    assert np.array_equal(p2, pts) and np.array_equal(b2, boxes)
    assert np.array_equal(points_in_boxes(pts, boxes), points_in_boxes(p1, b1))


def test_rotation_preserves_distances_and_membership():
    rng = np.random.default_rng(1)
    pts, boxes = _scene(rng)
    before = points_in_boxes(pts, boxes)
    assert before.sum() >= 190
    for angle in (0.3, -0.78, 2.5):
        p, b = aug.rotate_z(pts.astype(np.float64), boxes, angle)
        d0 = np.linalg.norm(pts[:60, None, :3] - pts[None, :60, :3], axis=-1)
        d1 = np.linalg.norm(p[:60, None, :3] - p[None, :60, :3], axis=-1)
        assert np.allclose(d0, d1, atol=1e-4)
        assert np.array_equal(points_in_boxes(p, b), before)
        # a box corner moves exactly like a point
        c0 = corners(boxes[0])
        c1 = corners(b[0])
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        assert np.allclose(c0 @ rot.T, c1, atol=1e-9)
    p, b = aug.rotate_z(pts.astype(np.float64), boxes, 2 * math.pi)
    assert np.allclose(p, pts, atol=1e-4)


def test_scaling_and_world_augment_composition():
    rng = np.random.default_rng(2)
    pts, boxes = _scene(rng)
    p, b = aug.scale(pts.astype(np.float64), boxes, 1.04)
    assert np.allclose(p[:, :3], 1.04 * pts[:, :3]) and np.allclose(p[:, 3], pts[:, 3])
    assert np.allclose(b[:, :6], 1.04 * boxes[:, :6]) and np.array_equal(b[:, 6], boxes[:, 6])
    assert np.array_equal(points_in_boxes(p, b), points_in_boxes(pts, boxes))
    # random_world_augment == flip -> rotate -> scale -> wrap with the same draws
    for seed in range(6):
        g = np.random.default_rng(seed)
        flip = g.random() < 0.5
        ang, fac = g.uniform(-math.pi / 4, math.pi / 4), g.uniform(0.95, 1.05)
        q, bb = (aug.flip_x(pts, boxes) if flip else (pts, boxes))
        q, bb = aug.scale(*aug.rotate_z(q, bb, ang), fac)
        got_p, got_b = aug.random_world_augment(pts, boxes, np.random.default_rng(seed))
        assert np.allclose(got_p, q) and np.allclose(got_b[:, :6], bb[:, :6])
        assert np.allclose(np.cos(got_b[:, 6]), np.cos(bb[:, 6])) and np.allclose(np.sin(got_b[:, 6]), np.sin(bb[:, 6]))
        assert (got_b[:, 6] >= -math.pi).all() and (got_b[:, 6] < math.pi).all()


def test_box_range_mask_against_corner_loop():
    rng = np.random.default_rng(3)
    boxes = np.column_stack([rng.uniform(-3, 24, 300), rng.uniform(-13, 13, 300), rng.uniform(-3.5, 1.5, 300),
                             rng.uniform(1, 5, 300), rng.uniform(1, 2, 300), rng.uniform(1, 2, 300),
                             rng.uniform(-np.pi, np.pi, 300)])
    r = (0.0, -10.24, -3.0, 20.48, 10.24, 1.0)
    got = aug.mask_boxes_by_range(boxes, r)
    ref = []
    for b in boxes:
        n = 0
        for cx, cy in corners(b):
            for z in (b[2] - b[5] / 2, b[2] + b[5] / 2):
                n += r[0] <= cx <= r[3] and r[1] <= cy <= r[4] and r[2] <= z <= r[5]
        ref.append(n >= 1)
    assert np.array_equal(got, ref) and 0 < got.sum() < len(boxes)


def _poly_overlap(a, b):
    return len(clip(corners(a), corners(b))) >= 3


def test_gt_sampling_never_overlaps_and_replaces_points(tmp_path):
    rng = np.random.default_rng(4)
    db = {"Car": [], "Pedestrian": []}
    for k in range(60):
        cls = "Car" if k % 3 else "Pedestrian"
        dims = (4.0, 1.7, 1.5) if cls == "Car" else (0.8, 0.6, 1.73)
        box = np.array([rng.uniform(2, 30), rng.uniform(-12, 12), -1.0, *dims, rng.uniform(-np.pi, np.pi)])
        obj = np.column_stack([rng.uniform(-0.4, 0.4, (20, 3)) * box[3:6] * [1, 1, 1], np.full(20, k / 100)])
        obj[:, :2] = obj[:, :2] @ np.array([[math.cos(box[6]), math.sin(box[6])], [-math.sin(box[6]), math.cos(box[6])]])
        write_velodyne(tmp_path / f"{k}.bin", obj)
        db[cls].append({"name": cls, "path": str(tmp_path / f"{k}.bin"), "box3d_lidar": box, "num_points_in_gt": 20 if k != 9 else 4,
                        "difficulty": 0 if k != 6 else -1})  # k = 6, 9: Pedestrians filtered out (§6.2)
    sampler = aug.GTSampler(db, {"Car": 15, "Pedestrian": 6}, seed=0)
    assert all(e["difficulty"] != -1 for e in sampler.db["Pedestrian"]) and len(sampler.db["Pedestrian"]) == 18
    accepted_total = 0
    for index in range(12):
        pts, boxes = _scene(np.random.default_rng(index), m=3)
        names = np.array(["Car", "Van", "Car"], object)
        p, b, n = sampler(pts, boxes, names, index)
        assert np.array_equal(b[:3], boxes) and list(n[:3]) == list(names)
        new = b[3:]
        accepted_total += len(new)
        for i in range(len(b)):  # never overlapping in BEV (independent polygon clipping)
            for j in range(i + 1, len(b)):
                if j >= 3:
                    assert not _poly_overlap(b[i], b[j])
        if len(new):
            # no original scene point left inside a sampled box; sampled points inside their boxes
            k = len(p) - (len(pts) - points_in_boxes(pts, new).any(1).sum())
            assert not points_in_boxes(p[k:], new).any()
            assert points_in_boxes(p[:k], new).any(1).all()
        # deterministic in (index, epoch)
        p2, b2, _ = sampler(pts, boxes, names, index)
        assert np.array_equal(p2, p) and np.array_equal(b2, b)
    assert accepted_total > 12


def test_road_plane_placement_puts_bottoms_on_the_plane(tmp_path):
    calib = synthetic_calibration()
    box = np.array([10.0, 1.0, 0.5, 4.0, 1.7, 1.5, 0.2])
    write_velodyne(tmp_path / "o.bin", np.zeros((6, 4), np.float32))
    db = {"Car": [{"name": "Car", "path": str(tmp_path / "o.bin"), "box3d_lidar": box, "num_points_in_gt": 6,
                   "difficulty": 0}]}
    plane = np.array([0.02, -1.0, 0.01, 1.6])  # camera y down: plane y = (−d − a x − c z)/b
    plane = plane / np.linalg.norm(plane[:3])
    _, b, _ = aug.GTSampler(db, {"Car": 1})(np.zeros((0, 4), np.float32), np.zeros((0, 7)), np.zeros(0, object), 0,
                                            calib=calib, plane=plane)
    cam = calib.lidar_to_rect(b[:, :3])[0]
    plane_y = (-plane[3] - plane[0] * cam[0] - plane[2] * cam[2]) / plane[1]
    assert math.isclose(b[0, 2] - b[0, 5] / 2, calib.rect_to_lidar(np.array([[cam[0], plane_y, cam[2]]]))[0, 2],
                        abs_tol=1e-9)


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = write_synthetic_kitti(tmp_path_factory.mktemp("syn") / "kitti", 6, 2, seed=1)
    make_infos(root)
    return root


def test_training_items_properties(synth_root):
    cfg = preset("tiny_synthetic")
    cfg.data.augment.gt_sampling = {"Car": 4}
    ds = KittiDataset(synth_root, "train", cfg, True, seed=3)
    r = cfg.data.point_range
    for i in range(len(ds)):
        it = ds[i]
        b, p = it["gt_boxes"].numpy(), it["points"].numpy()
        assert it["points"].dtype.is_floating_point and p.shape[1] == 4 and len(b) == len(it["gt_labels"])
        assert (p[:, 0] >= r[0]).all() and (p[:, 0] <= r[3]).all() and (np.abs(p[:, 1]) <= r[4]).all()
        assert aug.mask_boxes_by_range(b.astype(np.float64), r).all()
        assert (b[:, 6] >= -math.pi).all() and (b[:, 6] < math.pi).all()
        assert (it["gt_labels"] == 0).all()
        for x in range(len(b)):
            for y in range(x + 1, len(b)):
                assert not _poly_overlap(b[x], b[y])
    a, b2 = ds[0], ds[0]
    assert np.array_equal(a["points"].numpy(), b2["points"].numpy())
    ds.set_epoch(1)
    assert not np.array_equal(ds[0]["points"].numpy(), a["points"].numpy())
    # no augmentation -> the eval item's points and boxes, up to the point shuffle
    cfg2 = preset("tiny_synthetic")
    cfg2.data.augment.flip_x = False
    cfg2.data.augment.rot_range = (0.0, 0.0)
    cfg2.data.augment.scale_range = (1.0, 1.0)
    tr, ev = KittiDataset(synth_root, "train", cfg2, True)[2], KittiDataset(synth_root, "train", cfg2, False)[2]
    srt = lambda x: x[np.lexsort(x.T[::-1])]  # noqa: E731
    assert np.array_equal(srt(tr["points"].numpy()), srt(ev["points"].numpy()))
    keep = aug.mask_boxes_by_range(ev["gt_boxes"].numpy().astype(np.float64), r)
    assert np.allclose(tr["gt_boxes"].numpy(), ev["gt_boxes"].numpy()[keep])


def test_frame_without_class_boxes_is_replaced(tmp_path):
    root = write_synthetic_kitti(tmp_path / "k", 3, 0, seed=4)
    lab = root / "training" / "label_2" / "000001.txt"
    lab.write_text("".join(line.replace("Car", "Van", 1) + "\n" for line in lab.read_text().splitlines()))
    make_infos(root, splits=("train",), gt_database=False)
    ds = KittiDataset(root, "train", preset("tiny_synthetic"), True)
    assert ds[1]["frame_id"] != "000001" and len(ds[1]["gt_boxes"]) > 0
    assert ds[0]["frame_id"] == "000000"
    ev = KittiDataset(root, "train", preset("tiny_synthetic"), False)
    assert ev[1]["frame_id"] == "000001" and len(ev[1]["gt_boxes"]) == 0  # eval keeps the frame
