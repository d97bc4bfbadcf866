"""KITTI 3D-object AP (spec §7, E42): the protocol of the python port of the official evaluator.

Per class, metric (``bbox`` image IoU, ``bev``, ``3d``), difficulty and IoU threshold: ground truths are
cleaned (ignored classes Van/Person_sitting, occlusion/truncation/height limits), score thresholds are chosen
from matched true-positive scores so that recall is sampled in 40 steps, precision/recall are counted at every
threshold, precision is made monotone, and AP|R11 averages indices 0, 4, …, 40 while AP|R40 averages 1…40
(×100). Annotations are dicts with the official field names (``name, truncated, occluded, alpha, bbox,
dimensions (l, h, w), location, rotation_y, score``) as NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hvpr.ops.iou import rotated_intersection_bev

DIFFICULTIES = ("easy", "moderate", "hard")
MIN_HEIGHT = (40, 25, 25)
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.3, 0.5)
#: Strict IoU thresholds (bbox, bev, 3d) per class, and the loose set (§7).
STRICT = {"Car": (0.7, 0.7, 0.7), "Pedestrian": (0.5, 0.5, 0.5), "Cyclist": (0.5, 0.5, 0.5)}
LOOSE = {"Car": (0.7, 0.5, 0.5), "Pedestrian": (0.5, 0.25, 0.25), "Cyclist": (0.5, 0.25, 0.25)}
_METRIC_INDEX = {"bbox": 0, "bev": 1, "3d": 2}
N_SAMPLE_PTS = 41
_NO_DETECTION = -1e7


def _clean(gt: dict, dt: dict, cls: str, diff: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Ignore flags for gts/dts (0 valid, 1 ignored, −1 not this class) and the number of valid gts."""
    ignored_gt = np.full(len(gt["name"]), -1, np.int64)
    num_valid = 0
    for i, name in enumerate(gt["name"]):
        height = gt["bbox"][i][3] - gt["bbox"][i][1]
        if name.lower() == cls.lower():
            valid = 1
        elif (cls == "Pedestrian" and name == "Person_sitting") or (cls == "Car" and name == "Van"):
            valid = 0
        else:
            valid = -1
        ignore = (gt["occluded"][i] > MAX_OCCLUSION[diff] or gt["truncated"][i] > MAX_TRUNCATION[diff]
                  or height <= MIN_HEIGHT[diff])
        if valid == 1 and not ignore:
            ignored_gt[i] = 0
            num_valid += 1
        elif valid == 0 or (ignore and valid == 1):
            ignored_gt[i] = 1
    ignored_dt = np.full(len(dt["name"]), -1, np.int64)
    for i, name in enumerate(dt["name"]):
        height = dt["bbox"][i][3] - dt["bbox"][i][1]
        if height < MIN_HEIGHT[diff]:
            ignored_dt[i] = 1
        elif name.lower() == cls.lower():
            ignored_dt[i] = 0
    return ignored_gt, ignored_dt, num_valid


def _overlaps(gt: dict, dt: dict, metric: str) -> np.ndarray:
    """IoU matrix (num_dt, num_gt) in the camera frame."""
    nd, ng = len(dt["name"]), len(gt["name"])
    if nd == 0 or ng == 0:
        return np.zeros((nd, ng))
    if metric == "bbox":
        a, b = np.asarray(dt["bbox"], np.float64), np.asarray(gt["bbox"], np.float64)
        w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
        h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
        inter = w * h
        area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
        return inter / (area(a)[:, None] + area(b)[None] - inter)

    def ground(anno):  # camera ground plane (x, z) with extents (l, w) and angle r_y
        loc, dim = np.asarray(anno["location"], np.float64), np.asarray(anno["dimensions"], np.float64)
        boxes = np.zeros((len(loc), 7))
        boxes[:, 0], boxes[:, 1], boxes[:, 3], boxes[:, 4] = loc[:, 0], loc[:, 2], dim[:, 0], dim[:, 2]
        boxes[:, 6] = np.asarray(anno["rotation_y"], np.float64)
        return boxes, loc[:, 1], dim[:, 1]

    bd, yd, hd = ground(dt)
    bg, yg, hg = ground(gt)
    inter = rotated_intersection_bev(torch.from_numpy(bd), torch.from_numpy(bg)).numpy()
    area_d, area_g = bd[:, 3] * bd[:, 4], bg[:, 3] * bg[:, 4]
    if metric == "bev":
        return inter / (area_d[:, None] + area_g[None] - inter)
    # camera y points down: a box spans [y − h, y]
    ov = np.clip(np.minimum(yd[:, None], yg[None]) - np.maximum((yd - hd)[:, None], (yg - hg)[None]), 0, None)
    vi = inter * ov
    return vi / np.maximum(area_d[:, None] * hd[:, None] + area_g[None] * hg[None] - vi, 1e-12)


def _statistics(ov, scores, ignored_gt, ignored_dt, min_overlap, thresh, compute_fp):
    """Greedy matching of one frame (the port's ``compute_statistic_jit``): tp, fp, fn, tp scores."""
    nd, ng = len(scores), len(ignored_gt)
    assigned = np.zeros(nd, bool)
    below = scores < thresh if compute_fp else np.zeros(nd, bool)
    tp = fp = fn = 0
    tp_scores = []
    for i in range(ng):
        if ignored_gt[i] == -1:
            continue
        det, best, max_ov, assigned_ignored = -1, _NO_DETECTION, 0.0, False
        for j in range(nd):
            if ignored_dt[j] == -1 or assigned[j] or below[j]:
                continue
            o = ov[j, i]
            if not compute_fp and o > min_overlap and scores[j] > best:
                det, best = j, scores[j]
            elif compute_fp and o > min_overlap and (o > max_ov or assigned_ignored) and ignored_dt[j] == 0:
                max_ov, det, best, assigned_ignored = o, j, 1, False
            elif compute_fp and o > min_overlap and best == _NO_DETECTION and ignored_dt[j] == 1:
                det, best, assigned_ignored = j, 1, True
        if best == _NO_DETECTION and ignored_gt[i] == 0:
            fn += 1
        elif best != _NO_DETECTION and (ignored_gt[i] == 1 or ignored_dt[det] == 1):
            assigned[det] = True
        elif best != _NO_DETECTION:
            tp += 1
            tp_scores.append(scores[det])
            assigned[det] = True
    if compute_fp:
        fp = int(((~assigned) & (ignored_dt == 0) & (~below)).sum())
    return tp, fp, fn, tp_scores


def _thresholds(scores: list[float], num_gt: int) -> list[float]:
    """Score thresholds sampling recall in steps of 1/40 (the port's ``get_thresholds``)."""
    scores = sorted(scores, reverse=True)
    current, out = 0.0, []
    for i, s in enumerate(scores):
        l_recall = (i + 1) / num_gt
        r_recall = (i + 2) / num_gt if i < len(scores) - 1 else l_recall
        if (r_recall - current) < (current - l_recall) and i < len(scores) - 1:
            continue
        out.append(s)
        current += 1.0 / (N_SAMPLE_PTS - 1.0)
    return out


def precision_curve(gt_annos: Sequence[dict], dt_annos: Sequence[dict], cls: str, metric: str, difficulty: int,
                    min_overlap: float) -> np.ndarray:
    """Monotone precision at the 41 sampled recall positions (zeros past the last threshold)."""
    frames = []
    all_scores: list[float] = []
    num_gt = 0
    for gt, dt in zip(gt_annos, dt_annos, strict=True):
        ig, idt, nv = _clean(gt, dt, cls, difficulty)
        ov = _overlaps(gt, dt, metric)
        scores = np.asarray(dt.get("score", np.zeros(len(dt["name"]))), np.float64).reshape(-1)
        num_gt += nv
        all_scores += _statistics(ov, scores, ig, idt, min_overlap, 0.0, False)[3]
        frames.append((ov, scores, ig, idt))
    prec = np.zeros(N_SAMPLE_PTS)
    if num_gt == 0:
        return prec
    ths = _thresholds(all_scores, num_gt)
    for k, t in enumerate(ths):
        tp = fp = 0
        for ov, scores, ig, idt in frames:
            a, b, _, _ = _statistics(ov, scores, ig, idt, min_overlap, t, True)
            tp, fp = tp + a, fp + b
        prec[k] = tp / (tp + fp)
    for k in range(len(ths)):
        prec[k] = prec[k:len(ths)].max()
    return prec


def kitti_ap(gt_annos: Sequence[dict], dt_annos: Sequence[dict], classes: Sequence[str] = ("Car",),
             metrics: Sequence[str] = ("bbox", "bev", "3d"), recall_points: Sequence[int] = (11, 40),
             overlaps: str = "strict") -> dict[str, float]:
    """AP ×100 keyed ``"<class>/<metric>/<difficulty>/R<11|40>@<iou>"`` (e.g. ``"Car/3d/moderate/R40@0.70"``)."""
    sets = {"strict": [STRICT], "loose": [LOOSE], "both": [STRICT, LOOSE]}[overlaps]
    out: dict[str, float] = {}
    for cls in classes:
        for metric in metrics:
            for table in sets:
                thr = table[cls][_METRIC_INDEX[metric]]
                for d, dname in enumerate(DIFFICULTIES):
                    prec = precision_curve(gt_annos, dt_annos, cls, metric, d, thr)
                    for r in recall_points:
                        ap = prec[::4].sum() / 11 if r == 11 else prec[1:].sum() / 40
                        out[f"{cls}/{metric}/{dname}/R{r}@{thr:.2f}"] = 100.0 * float(ap)
    return out
