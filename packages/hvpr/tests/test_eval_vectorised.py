"""The vectorised evaluator equals the per-frame loop reference on random small cases (ties, Van, DontCare,
small boxes, other classes, empty frames), and the hand-made DontCare / AOS rules."""

import numpy as np

from hvpr.eval import kitti_ap
from hvpr.eval.kitti_loop import kitti_ap_reference


def _frame(rng, n_gt, n_dt):
    names = rng.choice(["Car", "Car", "Car", "Van", "Pedestrian", "DontCare", "Cyclist"], n_gt)
    loc = np.column_stack([rng.uniform(-6, 6, n_gt), rng.uniform(1, 2, n_gt), rng.uniform(5, 25, n_gt)])
    dims = np.column_stack([rng.uniform(3, 4.5, n_gt), rng.uniform(1.4, 1.7, n_gt), rng.uniform(1.5, 1.9, n_gt)])
    top, h = rng.uniform(100, 200, n_gt), rng.choice([20, 30, 50, 80], n_gt) + rng.uniform(0, 5, n_gt)
    left, w = rng.uniform(0, 600, n_gt), rng.uniform(30, 200, n_gt)
    gt = {"name": names, "truncated": rng.choice([0.0, 0.2, 0.4, 0.6], n_gt), "occluded": rng.integers(0, 4, n_gt),
          "alpha": rng.uniform(-np.pi, np.pi, n_gt), "bbox": np.column_stack([left, top, left + w, top + h]),
          "dimensions": dims, "location": loc, "rotation_y": rng.uniform(-np.pi, np.pi, n_gt)}
    if n_gt:
        src = rng.integers(0, n_gt, n_dt)
        dloc, ddim = loc[src] + rng.normal(0, 0.3, (n_dt, 3)), dims[src] * rng.uniform(0.9, 1.1, (n_dt, 3))
        dbox, drot = gt["bbox"][src] + rng.normal(0, 5, (n_dt, 4)), gt["rotation_y"][src] + rng.normal(0, 0.2, n_dt)
    else:
        dloc = np.column_stack([rng.uniform(-6, 6, n_dt), rng.uniform(1, 2, n_dt), rng.uniform(5, 25, n_dt)])
        ddim, dbox = np.tile([3.9, 1.5, 1.6], (n_dt, 1)), np.tile([10, 10, 100, 80.0], (n_dt, 1))
        drot = np.zeros(n_dt)
    dt = {"name": rng.choice(["Car", "Car", "Pedestrian", "Cyclist"], n_dt),
          "alpha": rng.uniform(-np.pi, np.pi, n_dt), "bbox": dbox, "dimensions": ddim, "location": dloc,
          "rotation_y": drot, "score": np.round(rng.uniform(0, 1, n_dt), 1)}  # rounded: many score ties
    return gt, dt


def test_vectorised_equals_loop_reference():
    nonzero = 0
    for trial in range(6):
        rng = np.random.default_rng(100 + trial)
        frames = [_frame(rng, int(rng.integers(0, 7)), int(rng.integers(0, 10))) for _ in range(int(rng.integers(2, 9)))]
        gts, dts = [f[0] for f in frames], [f[1] for f in frames]
        classes = ("Car", "Pedestrian") if trial % 2 else ("Car",)
        fast = kitti_ap(gts, dts, classes=classes, overlaps="both")
        ref = kitti_ap_reference(gts, dts, classes=classes, overlaps="both")
        assert fast.keys() == ref.keys() and any("/aos/" in k for k in fast)
        for k in ref:
            assert abs(fast[k] - ref[k]) < 1e-9, (trial, k, fast[k], ref[k])
        nonzero += sum(v > 0 for v in ref.values())
    assert nonzero > 20  # the cases are not trivially all-zero


def _one_car(score=0.9, **over):
    gt = {"name": np.array(["Car"]), "truncated": np.zeros(1), "occluded": np.zeros(1, int), "alpha": np.array([0.3]),
          "bbox": np.array([[100.0, 100.0, 200.0, 180.0]]), "dimensions": np.array([[3.9, 1.5, 1.6]]),
          "location": np.array([[0.0, 1.6, 15.0]]), "rotation_y": np.array([0.2])}
    dt = {k: v.copy() for k, v in gt.items() if k not in ("truncated", "occluded")}
    dt["score"] = np.array([score])
    dt.update(over)
    return gt, dt


def _cat(a, b):
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def test_dontcare_rule_only_for_the_2d_metric():
    gts, dts = [], []
    for i in range(60):
        g, d = _one_car(score=0.3 + i / 100)
        gts.append(g)
        dts.append(d)
    # frame 0: a DontCare region and a high-score false positive inside it (far away in 3D)
    dc = {"name": np.array(["DontCare"]), "truncated": np.array([-1.0]), "occluded": np.array([-1]),
          "alpha": np.array([-10.0]), "bbox": np.array([[500.0, 100.0, 700.0, 200.0]]),
          "dimensions": np.array([[-1.0, -1.0, -1.0]]), "location": np.array([[-1000.0, -1000.0, -1000.0]]),
          "rotation_y": np.array([-10.0])}
    fp = {"name": np.array(["Car"]), "alpha": np.array([0.0]), "bbox": np.array([[520.0, 110.0, 680.0, 190.0]]),
          "dimensions": np.array([[3.9, 1.5, 1.6]]), "location": np.array([[8.0, 1.6, 40.0]]),
          "rotation_y": np.array([0.0]), "score": np.array([0.99])}
    gts[0] = _cat(gts[0], dc)
    dts[0] = _cat(dts[0], fp)
    for impl in (kitti_ap, kitti_ap_reference):
        r = impl(gts, dts, metrics=("bbox", "bev"))
        assert r["Car/bbox/moderate/R40@0.70"] == 100.0  # FP covered by DontCare: not counted
        assert r["Car/bev/moderate/R40@0.70"] < 100.0  # counted in BEV
        # without the DontCare box the 2D metric counts it as well
        gts_nodc = [dict(gts[0], **{k: v[:1] for k, v in gts[0].items()})] + gts[1:]
        assert impl(gts_nodc, dts, metrics=("bbox",))["Car/bbox/moderate/R40@0.70"] < 100.0


def test_aos_closed_forms():
    for shift, expected in ((0.0, 1.0), (np.pi, 0.0), (np.pi / 2, 0.5)):
        gts, dts = [], []
        for i in range(60):
            g, d = _one_car(score=0.2 + i / 100)
            d["alpha"] = g["alpha"] + shift
            gts.append(g)
            dts.append(d)
        r = kitti_ap(gts, dts, metrics=("bbox",))
        assert r["Car/bbox/moderate/R40@0.70"] == 100.0
        assert abs(r["Car/aos/moderate/R40@0.70"] - 100.0 * expected) < 1e-9
    # alpha = −10 (no orientation): no AOS keys
    dts = [dict(d, alpha=np.array([-10.0])) for d in dts]
    assert not any("/aos/" in k for k in kitti_ap(gts, dts, metrics=("bbox",)))
