"""KITTI evaluation time for a val-sized set (3,769 frames) of synthetic detections: the vectorised
``hvpr.eval.kitti_ap`` against the plain per-frame reference ``hvpr.eval.kitti_loop.kitti_ap_reference``
(same run, same inputs), with an equality check of every AP value and the peak traced memory of the fast path.

    python packages/hvpr/benchmarks/bench_eval.py [--frames 3769] [--classes Car,Pedestrian,Cyclist]
           [--skip-reference] [--seed 0]

Ground truth: per frame 0–14 objects (Car, Van, Pedestrian, Cyclist, Truck, DontCare) in front of a KITTI-like
camera, 2D boxes from the projected corners, random truncation/occlusion. Detections: ~85 % of the objects
with position/size/heading noise, plus 0–6 false positives per frame, random scores, class confusions.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np


def make_frames(n: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    from hvpr.data.kitti_io import Calibration, boxes_lidar_to_camera, boxes_lidar_to_image

    calib = Calibration(np.array([[721.5, 0, 609.6, 44.9], [0, 721.5, 172.9, 0.2], [0, 0, 1, 0.003]]), np.eye(3),
                        np.array([[0.0, -1, 0, 0], [0, 0, -1, -0.08], [1, 0, 0, -0.27]]))
    shape = (375, 1242)
    sizes = {"Car": (3.9, 1.6, 1.56), "Van": (5.0, 1.9, 2.2), "Truck": (10.0, 2.6, 3.4),
             "Pedestrian": (0.8, 0.6, 1.73), "Cyclist": (1.76, 0.6, 1.73)}
    rng = np.random.default_rng(seed)
    gts, dts = [], []

    def annos(boxes, names, extra):
        cam = boxes_lidar_to_camera(boxes, calib)
        a = {"name": np.array(names, dtype="<U10"), "alpha": -np.arctan2(-boxes[:, 1], boxes[:, 0]) + cam[:, 6],
             "bbox": boxes_lidar_to_image(boxes, calib, shape), "dimensions": cam[:, 3:6], "location": cam[:, :3],
             "rotation_y": cam[:, 6]}
        a.update(extra)
        return a

    for _ in range(n):
        m = int(rng.integers(0, 15))
        names = list(rng.choice(["Car"] * 6 + ["Van", "Truck", "Pedestrian", "Pedestrian", "Cyclist", "DontCare"], m))
        x = rng.uniform(5, 60, m)
        y = x * rng.uniform(-0.6, 0.6, m)
        dims = np.array([sizes.get(k, (3.0, 2.0, 1.5)) for k in names]).reshape(m, 3) * rng.uniform(0.9, 1.1, (m, 3))
        boxes = np.column_stack([x, y, -1.73 + dims[:, 2] / 2, dims, rng.uniform(-np.pi, np.pi, m)])
        g = annos(boxes, names, {"truncated": rng.choice([0.0, 0.0, 0.2, 0.4, 0.7], m),
                                 "occluded": rng.choice([0, 0, 1, 2, 3], m)})
        keep = rng.random(m) < 0.85
        db = boxes[keep].copy()
        k = len(db)
        db[:, :2] += rng.normal(0, 0.2, (k, 2))
        db[:, 3:6] *= rng.uniform(0.93, 1.07, (k, 3))
        db[:, 6] += rng.normal(0, 0.1, k)
        dn = [("Car" if nm in ("Van", "DontCare") and rng.random() < 0.5 else nm) for nm in np.array(names)[keep]]
        nf = int(rng.integers(0, 7))
        fx = rng.uniform(5, 60, nf)
        fb = np.column_stack([fx, fx * rng.uniform(-0.6, 0.6, nf), np.full(nf, -0.95), np.tile(sizes["Car"], (nf, 1)),
                              rng.uniform(-np.pi, np.pi, nf)])
        d = annos(np.concatenate([db, fb]), dn + ["Car"] * nf, {})
        d["score"] = rng.uniform(0.05, 1.0, k + nf)
        gts.append(g)
        dts.append(d)
    return gts, dts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=3769)
    p.add_argument("--classes", default="Car,Pedestrian,Cyclist")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-reference", action="store_true")
    args = p.parse_args(argv)
    import torch

    from hvpr.eval import kitti_ap, kitti_report
    from hvpr.eval.kitti_loop import kitti_ap_reference

    torch.set_num_threads(1)
    classes = tuple(args.classes.split(","))
    gts, dts = make_frames(args.frames, args.seed)
    print(f"{args.frames} frames, {sum(len(g['name']) for g in gts)} gt objects, "
          f"{sum(len(d['name']) for d in dts)} detections, classes {classes}, bbox/bev/3d/aos, strict + loose")
    tracemalloc.start()
    t = time.perf_counter()
    fast = kitti_ap(gts, dts, classes=classes, overlaps="both")
    t_fast = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"vectorised kitti_ap: {t_fast:.2f} s, peak traced memory {peak / 2**20:.1f} MiB")
    print(kitti_report(fast, classes))
    if args.skip_reference:
        return 0
    t = time.perf_counter()
    ref = kitti_ap_reference(gts, dts, classes=classes, overlaps="both")
    t_ref = time.perf_counter() - t
    diff = max(abs(fast[k] - ref[k]) for k in ref)
    same = fast.keys() == ref.keys() and diff < 1e-9
    print(f"per-frame reference: {t_ref:.2f} s -> speed-up {t_ref / t_fast:.1f}x; "
          f"{len(ref)} AP values, max |difference| {diff:.2e} ({'equal' if same else 'MISMATCH'})")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
