"""Detections -> KITTI annos (E41, projected 2D boxes), label-file round trip and the report layout."""

import math
import re

import numpy as np
import torch

from hvpr.data.dataset import KittiDataset
from hvpr.data.synthetic import SYNTHETIC_IMAGE_SHAPE, synthetic_calibration, write_synthetic_kitti
from hvpr.eval import kitti_ap, kitti_report, predictions_to_kitti_annos, read_kitti_annos, write_kitti_annos
from hvpr.model.detector import Detections


def _corners_by_hand(b):
    x, y, z, dx, dy, dz, t = b
    out = []
    for sx in (-0.5, 0.5):
        for sy in (-0.5, 0.5):
            for sz in (-0.5, 0.5):
                lx, ly = sx * dx, sy * dy
                out.append((x + math.cos(t) * lx - math.sin(t) * ly, y + math.sin(t) * lx + math.cos(t) * ly,
                            z + sz * dz))
    return out


def test_predictions_to_kitti_annos_closed_form():
    calib = synthetic_calibration()
    boxes = torch.tensor([[10.0, 2.0, -0.98, 4.0, 1.6, 1.5, 0.3], [6.0, -3.5, -1.0, 3.8, 1.7, 1.4, -2.0],
                          [4.0, 8.0, -1.0, 3.8, 1.7, 1.4, 1.0]])
    det = Detections(boxes, torch.tensor([0.9, 0.5, 0.4]), torch.tensor([1, 2, 1]), ("Car", "Pedestrian"))
    shape = (375, 1242)
    a = predictions_to_kitti_annos(det, calib, "000007", shape)
    assert a["frame_id"] == "000007" and list(a["name"]) == ["Car", "Pedestrian", "Car"]
    b = boxes.double().numpy()
    # synthetic calib: x_cam = −y, y_cam = −z, z_cam = x; bottom centre; r_y = −θ − π/2
    assert np.allclose(a["location"], np.column_stack([-b[:, 1], -(b[:, 2] - b[:, 5] / 2), b[:, 0]]))
    assert np.allclose(a["dimensions"], b[:, [3, 5, 4]]) and np.allclose(a["rotation_y"], -b[:, 6] - np.pi / 2)
    assert np.allclose(a["alpha"], -np.arctan2(-b[:, 1], b[:, 0]) + a["rotation_y"])
    for i, box in enumerate(b):
        uv = [(700 * (-cy) / cx + 1242, 700 * (-cz) / cx + 375) for cx, cy, cz in _corners_by_hand(box)]
        u, v = [p[0] for p in uv], [p[1] for p in uv]
        ref = [min(max(min(u), 0), 1241), min(max(min(v), 0), 374), min(max(max(u), 0), 1241),
               min(max(max(v), 0), 374)]
        assert np.allclose(a["bbox"][i], ref)
    assert a["bbox"][2, 0] == 0.0 or a["bbox"][2, 2] == 1241  # the third box is clipped
    empty = predictions_to_kitti_annos(Detections(torch.zeros(0, 7), torch.zeros(0), torch.zeros(0, dtype=torch.long),
                                                  ("Car",)), calib, "1", shape)
    assert empty["bbox"].shape == (0, 4)


def test_round_trip_through_label_files_gives_the_same_ap(tmp_path):
    root = write_synthetic_kitti(tmp_path / "k", 0, 14, seed=2)
    from hvpr.config import preset

    ds = KittiDataset(root, "val", preset("tiny_synthetic"), False)
    gts = ds.kitti_annos()
    rng = np.random.default_rng(0)
    dts = []
    for i in range(len(ds)):
        it = ds[i]
        boxes = it["gt_boxes"].clone()
        boxes[:, :2] += torch.from_numpy(rng.normal(0, 0.25, (len(boxes), 2))).float()  # imperfect
        det = Detections(boxes, torch.from_numpy(rng.uniform(0.2, 1, len(boxes))).float(),
                         torch.ones(len(boxes), dtype=torch.long), ("Car",))
        dts.append(predictions_to_kitti_annos(det, it["calib"], it["frame_id"], it["image_shape"]))
    res = kitti_ap(gts, dts, metrics=("bev", "3d"), overlaps="both")
    assert 0 < res["Car/bev/moderate/R40@0.50"] <= 100
    for d in dts:
        write_kitti_annos(tmp_path / "pred", d)
    back = read_kitti_annos(tmp_path / "pred", [it["frame_id"] for it in ds])
    res2 = kitti_ap(gts, back, metrics=("bev", "3d"), overlaps="both")
    for k in res:
        assert abs(res[k] - res2[k]) < 1e-6, k  # result files carry 4 decimals
    line = (tmp_path / "pred" / f"{ds[0]['frame_id']}.txt").read_text().splitlines()[0].split()
    assert len(line) == 16 and line[1:3] == ["-1.00", "-1"] and len(line[5].split(".")[1]) == 4
    assert sum(len(g["name"]) for g in gts) >= 41
    # perfect predictions from the labels give 100 (>= 41 gts), through the real loader and FOV geometry
    perfect = [predictions_to_kitti_annos(Detections(ds[i]["gt_boxes"], torch.ones(len(ds[i]["gt_boxes"])),
                                                     torch.ones(len(ds[i]["gt_boxes"]), dtype=torch.long), ("Car",)),
                                          ds[i]["calib"], ds[i]["frame_id"], SYNTHETIC_IMAGE_SHAPE)
               for i in range(len(ds))]
    r = kitti_ap(gts, perfect, metrics=("bbox", "bev", "3d"))
    assert r["Car/bev/moderate/R11@0.70"] == 100.0 and r["Car/3d/hard/R11@0.70"] == 100.0
    assert r["Car/bbox/easy/R11@0.70"] == 100.0 and r["Car/aos/moderate/R11@0.70"] > 99.9


def test_report_layout():
    rng = np.random.default_rng(0)
    res = {f"Car/{m}/{d}/R{r}@{t}": float(rng.uniform(0, 100)) for m in ("bbox", "bev", "3d", "aos")
           for d in ("easy", "moderate", "hard") for r in (11, 40) for t in ("0.70", "0.50")}
    text = kitti_report(res)
    lines = text.splitlines()
    assert lines[0] == "Car AP@0.70, 0.70, 0.70:" and lines[5] == "Car AP_R40@0.70, 0.70, 0.70:"
    assert lines[10] == "Car AP@0.70, 0.50, 0.50:" and lines[15] == "Car AP_R40@0.70, 0.50, 0.50:"
    assert len(lines) == 20
    v = [res[f"Car/bev/{d}/R40@0.50"] for d in ("easy", "moderate", "hard")]
    assert lines[17] == f"bev  AP:{v[0]:.4f}, {v[1]:.4f}, {v[2]:.4f}"
    a = [res[f"Car/aos/{d}/R11@0.70"] for d in ("easy", "moderate", "hard")]
    assert lines[4] == f"aos  AP:{a[0]:.2f}, {a[1]:.2f}, {a[2]:.2f}"
    assert all(re.fullmatch(r"(bbox|bev |3d  |aos ) AP:[\d.]+, [\d.]+, [\d.]+|Car AP(_R40)?@[\d., ]+:", s) for s in lines)
    strict_only = kitti_report({k: v for k, v in res.items() if not k.endswith("0.50")})
    assert len(strict_only.splitlines()) == 10
