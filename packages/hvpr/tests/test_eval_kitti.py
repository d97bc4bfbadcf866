import numpy as np

from hvpr.eval import kitti_ap


def _annos(n, rng, name="Car", height=60.0):
    """n well-separated camera boxes (distinct x, 20 m apart) in one frame."""
    loc = np.column_stack([np.arange(n) * 20.0, np.full(n, 1.6), np.full(n, 15.0)])
    return {"name": np.array([name] * n), "truncated": np.zeros(n), "occluded": np.zeros(n, int),
            "alpha": np.zeros(n), "bbox": np.column_stack([np.zeros(n), np.zeros(n), np.full(n, 50.0),
                                                            np.full(n, height)]),
            "dimensions": np.tile([3.9, 1.5, 1.6], (n, 1)), "location": loc,
            "rotation_y": rng.uniform(-np.pi, np.pi, n)}


def _dets(gt, scores, shift=0.0):
    d = {k: v.copy() for k, v in gt.items()}
    d["location"][:, 0] += shift
    d["score"] = np.asarray(scores, float)
    return d


def _concat(a, b):
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def test_perfect_and_empty():
    rng = np.random.default_rng(0)
    gts = [_annos(10, rng) for _ in range(12)]  # 120 gts
    dts = [_dets(g, rng.uniform(0.1, 1, 10)) for g in gts]
    res = kitti_ap(gts, dts, metrics=("bev", "3d"))
    assert res["Car/3d/moderate/R40@0.70"] == 100.0 and res["Car/bev/easy/R11@0.70"] == 100.0
    empty = [{k: v[:0] for k, v in d.items()} for d in dts]
    res = kitti_ap(gts, empty, metrics=("bev",))
    assert all(v == 0.0 for v in res.values())


def test_single_gt_protocol_quirk():
    # one perfect detection: one threshold, precision [1, 0, ...] -> R11 = 100/11, R40 = 0 (official port)
    rng = np.random.default_rng(1)
    g = _annos(1, rng)
    res = kitti_ap([g], [_dets(g, [0.9])], metrics=("3d",))
    assert abs(res["Car/3d/moderate/R11@0.70"] - 100 / 11) < 1e-9
    assert res["Car/3d/moderate/R40@0.70"] == 0.0


def _textbook(tp_flags_by_score):
    """Brute force: precision after each TP when walking detections by descending score."""
    tp = fp = 0
    out = []
    for is_tp in tp_flags_by_score:
        tp, fp = tp + is_tp, fp + (not is_tp)
        if is_tp:
            out.append(tp / (tp + fp))
    return out


def test_pr_curve_against_brute_force():
    rng = np.random.default_rng(2)
    for _ in range(4):
        g = _annos(40, rng)  # 40 gts -> thresholds are exactly the 40 TP scores
        scores = rng.permutation(np.linspace(0.2, 0.99, 40))
        n_fp = 15
        fp_scores = rng.uniform(0.1, 1.0, n_fp)
        fp = _dets(_annos(n_fp, rng), fp_scores)
        fp["location"][:, 2] += 100.0  # far from every gt
        d = _concat(_dets(g, scores), fp)
        res = kitti_ap([g], [d], metrics=("bev", "3d"))
        flags = [True] * 40 + [False] * n_fp
        order = np.argsort(-np.concatenate([scores, fp_scores]), kind="stable")
        p = _textbook([flags[i] for i in order])
        prec = np.zeros(41)
        prec[:40] = p
        prec = np.array([prec[i:].max() for i in range(41)])
        assert abs(res["Car/bev/moderate/R40@0.70"] - 100 * prec[1:].sum() / 40) < 1e-9
        assert abs(res["Car/3d/hard/R11@0.70"] - 100 * prec[::4].sum() / 11) < 1e-9
        assert res["Car/bev/moderate/R40@0.70"] < 100


def test_van_and_height_ignore_and_3d_vs_bev():
    rng = np.random.default_rng(3)
    gts = [_annos(10, rng) for _ in range(12)]
    dts = [_dets(g, rng.uniform(0.1, 1, 10)) for g in gts]
    base = kitti_ap(gts, dts, metrics=("bev",))["Car/bev/moderate/R40@0.70"]
    # a Van gt with a matching Car detection of top score: neither TP nor FP
    van = _annos(1, rng, name="Van")
    van["location"][:, 2] += 200
    gts2 = [_concat(gts[0], van)] + gts[1:]
    dts2 = [_concat(dts[0], _dets(van, [1.0]) | {"name": np.array(["Car"])})] + dts[1:]
    assert kitti_ap(gts2, dts2, metrics=("bev",))["Car/bev/moderate/R40@0.70"] == base
    truck = dict(van, name=np.array(["Truck"]))
    gts3 = [_concat(gts[0], truck)] + gts[1:]
    assert kitti_ap(gts3, dts2, metrics=("bev",))["Car/bev/moderate/R40@0.70"] < base
    # 30 px tall gts are ignored for Easy (min 40) but count (as misses) for Moderate
    small = _annos(10, rng, height=30.0)
    small["location"][:, 2] += 300
    gts4 = [_concat(gts[0], small)] + gts[1:]
    r = kitti_ap(gts4, dts, metrics=("bev",))
    assert r["Car/bev/easy/R40@0.70"] == 100.0 and r["Car/bev/moderate/R40@0.70"] < 100.0
    # vertical offset of half the height: BEV unaffected, 3D IoU = 1/3 < 0.7 -> 3D AP 0
    shifted = [dict(d, location=d["location"] + [0, 0.75, 0]) for d in dts]
    r = kitti_ap(gts, shifted, metrics=("bev", "3d"))
    assert r["Car/bev/moderate/R40@0.70"] == 100.0 and r["Car/3d/moderate/R40@0.70"] == 0.0
    assert kitti_ap(gts, shifted, metrics=("3d",), overlaps="loose")["Car/3d/moderate/R40@0.50"] == 0.0
