import numpy as np
import pytest

from bap.coco_mask_ap import (
    IOU_THRESHOLDS,
    RECALL_THRESHOLDS,
    COCOMaskEvaluator,
    instances_from_label_map,
    mask_iou,
    rle_area,
    rle_decode,
    rle_encode,
)


def _rect(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def _random_masks(rng, n, h=24, w=30):
    out = []
    for _ in range(n):
        y0, x0 = rng.integers(0, h - 4), rng.integers(0, w - 4)
        m = _rect(h, w, y0, y0 + rng.integers(2, 12), x0, x0 + rng.integers(2, 14))
        m &= rng.uniform(size=(h, w)) > 0.1  # ragged
        out.append(m)
    return out


def test_rle_round_trip_and_area():
    rng = np.random.default_rng(0)
    cases = [np.zeros((5, 7), bool), np.ones((5, 7), bool), rng.uniform(size=(13, 9)) > 0.5,
             _rect(40, 50, 0, 40, 0, 1), rng.uniform(size=(64, 80)) > 0.97]
    for m in cases:
        r = rle_encode(m)
        assert r["size"] == list(m.shape)
        np.testing.assert_array_equal(rle_decode(r), m)
        assert rle_area(r) == m.sum()
    # uncompressed counts (column-major runs starting with zeros)
    m = np.array([[0, 1], [1, 1], [0, 0]], bool)
    np.testing.assert_array_equal(rle_decode({"size": [3, 2], "counts": [1, 1, 1, 2, 1]}), m)
    with pytest.raises(ValueError):
        rle_decode({"size": [3, 2], "counts": [1, 1]})


def test_crowd_iou_uses_detection_area():
    d = _rect(10, 10, 0, 4, 0, 4)  # 16 px
    g = _rect(10, 10, 0, 10, 0, 2)  # 20 px, overlap 8
    iou = mask_iou([d], [g, g], [False, True])
    assert iou[0, 0] == pytest.approx(8 / 28) and iou[0, 1] == pytest.approx(8 / 16)


def test_closed_form_cases():
    h, w = 20, 20
    g1, g2 = _rect(h, w, 0, 10, 0, 10), _rect(h, w, 10, 20, 10, 20)
    # perfect detections -> AP = 1 at every threshold
    ev = COCOMaskEvaluator()
    for i, g in enumerate((g1, g2)):
        ev.add_ground_truth(0, 1, g)
        ev.add_detection(0, 1, g, 0.9 - 0.1 * i)
    r = ev.compute()
    assert r["AP"] == pytest.approx(1.0) and r["AR100"] == pytest.approx(1.0) and r["AP_L"] == -1.0
    assert r["AP_S"] == pytest.approx(1.0)  # 100 px objects are small; no medium/large ground truth
    # one detection with IoU 0.72: matched for t in {0.50, ..., 0.70} -> AP = 5 / 10; AP75 = 0
    d = _rect(h, w, 0, 9, 0, 8)  # 72 px inside the 100 px ground truth -> IoU 0.72
    ev = COCOMaskEvaluator()
    ev.add_ground_truth("a", 3, g1)
    ev.add_detection("a", 3, d, 0.5)
    r = ev.compute()
    assert r["AP"] == pytest.approx(0.5) and r["AP50"] == pytest.approx(1.0) and r["AP75"] == 0.0
    # a higher-scored false positive before the true positive: precision 1/2 at recall 1 -> AP50 = 0.5
    ev = COCOMaskEvaluator()
    ev.add_ground_truth(0, 1, g1)
    ev.add_detection(0, 1, g2, 0.9)
    ev.add_detection(0, 1, g1, 0.8)
    assert ev.compute()["AP50"] == pytest.approx(0.5, abs=1e-12)
    # a detection on a crowd region is ignored (neither TP nor FP), a crowd-only image has no ground truth
    ev = COCOMaskEvaluator()
    ev.add_ground_truth(0, 1, g1)
    ev.add_ground_truth(0, 1, g2, iscrowd=True)
    ev.add_detection(0, 1, g2, 0.95)
    ev.add_detection(0, 1, _rect(h, w, 12, 16, 12, 16), 0.9)  # inside the crowd region: IoU_crowd = 1
    ev.add_detection(0, 1, g1, 0.5)
    assert ev.compute()["AP"] == pytest.approx(1.0)
    # once a non-ignored ground truth is matched, a better-overlapping crowd region is not taken instead
    ev = COCOMaskEvaluator()
    ev.add_ground_truth(0, 1, g1)
    ev.add_ground_truth(0, 1, _rect(h, w, 0, 20, 0, 10), iscrowd=True)
    ev.add_detection(0, 1, _rect(h, w, 0, 9, 0, 9), 0.9)  # IoU 0.81 with g1, crowd IoU 1
    assert ev.compute()["AP50"] == pytest.approx(1.0)
    # maxDets: 2 ground truths, the true positives ranked 1 and 3 -> AR1 = 0.5
    ev = COCOMaskEvaluator()
    ev.add_ground_truth(0, 1, g1)
    ev.add_ground_truth(0, 1, g2)
    ev.add_detection(0, 1, g1, 0.9)
    ev.add_detection(0, 1, _rect(h, w, 0, 3, 17, 20), 0.8)
    ev.add_detection(0, 1, g2, 0.7)
    r = ev.compute()
    assert r["AR1"] == pytest.approx(0.5) and r["AR10"] == pytest.approx(1.0)
    # categories without ground truth do not count; empty evaluator gives -1
    assert COCOMaskEvaluator().compute()["AP"] == -1.0


def _brute_force_ap(gts, dts, thr):
    """Independent AP for non-crowd ground truth, area 'all', maxDets 100: greedy matching per image in
    score order, pooled ranking, interpolated precision p(r) = max{precision_k : recall_k >= r} at 101 r."""
    cats = sorted({c for _, c, _ in gts})
    aps = []
    for c in cats:
        g_by_img, d_all = {}, []
        for img, cc, m in gts:
            if cc == c:
                g_by_img.setdefault(img, []).append(m)
        n_gt = sum(len(v) for v in g_by_img.values())
        for img in sorted({i for i, cc, _, _ in dts if cc == c} | set(g_by_img)):
            ds = sorted([(s, k, m) for k, (i, cc, m, s) in enumerate(dts) if i == img and cc == c],
                        key=lambda x: (-x[0], x[1]))[:100]
            gl = g_by_img.get(img, [])
            used = [False] * len(gl)
            for s, k, m in ds:
                best, bj = -1.0, -1
                for j, g in enumerate(gl):
                    inter, union = (m & g).sum(), (m | g).sum()
                    iou = inter / union if union else 0.0
                    if not used[j] and iou >= min(thr, 1 - 1e-10) and iou > best:
                        best, bj = iou, j
                if bj >= 0:
                    used[bj] = True
                d_all.append((s, k, bj >= 0))
        d_all.sort(key=lambda x: (-x[0], x[1]))
        tp = np.cumsum([x[2] for x in d_all])
        prec = tp / np.arange(1, len(d_all) + 1)
        rec = tp / n_gt
        aps.append(np.mean([max([p for p, rr in zip(prec, rec) if rr >= r], default=0.0) for r in RECALL_THRESHOLDS]))
    return float(np.mean(aps))


def _random_case(seed, n_img=4, n_cat=2):
    rng = np.random.default_rng(seed)
    gts, dts = [], []
    for img in range(n_img):
        for c in range(1, n_cat + 1):
            gm = _random_masks(rng, int(rng.integers(0, 4)))
            gts += [(img, c, m) for m in gm]
            for m in gm:  # perturbed copies as detections
                if rng.uniform() < 0.8:
                    d = m.copy()
                    d[rng.uniform(size=d.shape) < 0.3] = False
                    d = np.roll(d, int(rng.integers(-2, 3)), axis=1)
                    dts.append((img, c, d, float(rng.uniform())))
            dts += [(img, c, m, float(rng.uniform())) for m in _random_masks(rng, int(rng.integers(0, 3)))]
    return gts, dts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_brute_force(seed):
    gts, dts = _random_case(seed)
    ev = COCOMaskEvaluator()
    for img, c, m in gts:
        ev.add_ground_truth(img, c, m)
    for img, c, m, s in dts:
        ev.add_detection(img, c, m, s)
    r = ev.compute()
    bf = {t: _brute_force_ap(gts, dts, t) for t in IOU_THRESHOLDS}
    assert r["AP50"] == pytest.approx(bf[0.5], abs=1e-9)
    assert r["AP75"] == pytest.approx(bf[IOU_THRESHOLDS[5]], abs=1e-9)
    assert r["AP"] == pytest.approx(np.mean(list(bf.values())), abs=1e-9)


def test_against_pycocotools_if_installed():
    pytest.importorskip("pycocotools")
    from pycocotools import mask as mask_util
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(7)
    h, w = 24, 30
    images, anns, res = [], [], []
    ours = COCOMaskEvaluator()
    aid = 1
    for seed in range(3):
        gts, dts = _random_case(10 + seed, n_img=3, n_cat=3)
        for img, c, m in gts:
            iid = seed * 10 + img
            crowd = bool(rng.uniform() < 0.15)
            rle = mask_util.encode(np.asfortranarray(m.astype(np.uint8)))
            area = float(m.sum()) * float(rng.choice([1.0, 12.0, 100.0]))  # spread over the area ranges
            anns.append({"id": aid, "image_id": iid, "category_id": c, "segmentation":
                         {"size": rle["size"], "counts": rle["counts"].decode()}, "area": area,
                         "iscrowd": int(crowd), "bbox": [0, 0, 1, 1]})
            aid += 1
            ours.add_ground_truth(iid, c, rle_encode(m), crowd, area)
        for img, c, m, s in dts:
            iid = seed * 10 + img
            r = rle_encode(m)
            assert r["counts"] == mask_util.encode(np.asfortranarray(m.astype(np.uint8)))["counts"].decode()
            res.append({"image_id": iid, "category_id": c, "segmentation": r, "score": s})
            ours.add_detection(iid, c, r, s)
        images += [{"id": seed * 10 + i, "width": w, "height": h} for i in range(3)]
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in (1, 2, 3)]}
    gt.createIndex()
    dt = gt.loadRes(res)
    E = COCOeval(gt, dt, "segm")
    E.evaluate()
    E.accumulate()
    E.summarize()
    mine = ours.compute()
    ref = dict(zip(["AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L", "AR1", "AR10", "AR100", "AR_S", "AR_M", "AR_L"],
                   E.stats))
    for k, v in ref.items():
        assert mine[k] == pytest.approx(v, abs=1e-9), k
    np.testing.assert_allclose(mine["precision"], E.eval["precision"], atol=1e-9)


def test_instances_from_label_map():
    lab = np.zeros((10, 12), np.uint8)
    lab[2:6, 2:6] = 3
    lab[5:9, 7:11] = 5
    boxes = np.array([[1, 1, 7, 7, 3], [6, 4, 12, 10, 5], [0, 0, 12, 10, 3]], np.float32)
    inst = instances_from_label_map(lab, boxes, scores=[0.9, 0.8, 0.1])
    assert [(c, s) for c, _, s in inst] == [(3, 0.9), (5, 0.8), (3, 0.1)]
    np.testing.assert_array_equal(inst[0][1], lab == 3)
    np.testing.assert_array_equal(inst[1][1], lab == 5)
    np.testing.assert_array_equal(inst[2][1], lab == 3)


def test_eval_coco_cli_on_a_replica(tmp_path, capsys):
    import json

    from bap.cli import main
    from bap.engine.generate import write_label_png
    from cvcore.data.replica import Replica

    r = Replica(tmp_path / "coco")
    h, w = 30, 40
    dog = _rect(h, w, 2, 12, 3, 15)  # category 18 -> label 2
    person = _rect(h, w, 15, 28, 20, 36)  # category 1 -> label 1
    crowd = _rect(h, w, 0, 10, 30, 40)
    r.json("annotations/instances_train2017.json", {
        "images": [{"id": 9, "file_name": "000000000009.jpg", "width": w, "height": h}],
        "categories": [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 9, "bbox": [3, 2, 12, 10], "category_id": 18, "iscrowd": 0, "area": 120.0,
             "segmentation": [[3, 2, 14.99, 2, 14.99, 11.99, 3, 11.99]]},
            {"id": 2, "image_id": 9, "bbox": [20, 15, 16, 13], "category_id": 1, "iscrowd": 0, "area": 208.0,
             "segmentation": rle_encode(person)},
            {"id": 3, "image_id": 9, "bbox": [30, 0, 10, 10], "category_id": 1, "iscrowd": 1, "area": 100.0,
             "segmentation": rle_encode(crowd)}]})
    lab = np.zeros((h, w), np.uint8)
    lab[dog], lab[person], lab[crowd] = 2, 1, 1
    write_label_png(tmp_path / "pred" / "000000000009.png", lab)
    args = ["eval-coco", "--data-root", str(r.root), "--pred-dir", str(tmp_path / "pred"), "-q"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["AP"] == pytest.approx(1.0) and res["n_images"] == 1
    lab[person & (np.arange(w)[None, :] >= 28)] = 0  # half of the person lost: IoU 8/16 -> AP50 only for dog
    write_label_png(tmp_path / "pred" / "000000000009.png", lab)
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["AP50"] == pytest.approx(1.0) and res["AP75"] == pytest.approx(0.5)
    (tmp_path / "pred" / "000000000009.png").unlink()
    assert main(args) == 1
    assert "label file not found" in capsys.readouterr().err
