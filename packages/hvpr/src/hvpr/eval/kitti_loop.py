"""Plain per-frame KITTI AP (spec §7, E42): the reference for the vectorised :mod:`hvpr.eval.kitti`.

A direct loop port of the python evaluator's structure (per-frame greedy matching, one pass per score
threshold), including the DontCare rule of the 2D metric and AOS. Slow (minutes for 3,769 frames); used by
the equality tests and ``benchmarks/bench_eval.py``.


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

from hvpr.eval.kitti import (
    _METRIC_INDEX,
    _NO_DETECTION,
    DIFFICULTIES,
    LOOSE,
    MAX_OCCLUSION,
    MAX_TRUNCATION,
    MIN_HEIGHT,
    N_SAMPLE_PTS,
    STRICT,
    _thresholds,
    has_alpha,
)
from hvpr.ops.iou import rotated_intersection_bev


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
        height = abs(dt["bbox"][i][3] - dt["bbox"][i][1])
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


def _dc_overlap(dt_bbox: np.ndarray, dc_bbox: np.ndarray) -> np.ndarray:
    """Intersection / detection area (the port's ``image_box_overlap`` criterion 0), (num_dt, num_dc)."""
    out = np.zeros((len(dt_bbox), len(dc_bbox)))
    for k, q in enumerate(dc_bbox):
        for n, b in enumerate(dt_bbox):
            iw = min(b[2], q[2]) - max(b[0], q[0])
            if iw > 0:
                ih = min(b[3], q[3]) - max(b[1], q[1])
                if ih > 0:
                    out[n, k] = iw * ih / ((b[2] - b[0]) * (b[3] - b[1]))
    return out


def _statistics(ov, scores, ignored_gt, ignored_dt, min_overlap, thresh, compute_fp, dc_ov=None,
                gt_alpha=None, dt_alpha=None):
    """Greedy matching of one frame (the port's ``compute_statistic_jit``): tp, fp, fn, tp scores, AOS sum.

    ``dc_ov`` (num_dt, num_dontcare) enables the DontCare rule (2D metric); ``gt_alpha``/``dt_alpha`` AOS.
    """
    nd, ng = len(scores), len(ignored_gt)
    assigned = np.zeros(nd, bool)
    below = scores < thresh if compute_fp else np.zeros(nd, bool)
    tp = fp = fn = 0
    tp_scores = []
    deltas = []
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
            if gt_alpha is not None:
                deltas.append(gt_alpha[i] - dt_alpha[det])
            assigned[det] = True
    similarity = 0.0
    if compute_fp:
        fp = int(((~assigned) & (ignored_dt == 0) & (~below)).sum())
        if dc_ov is not None:
            nstuff = 0
            for k in range(dc_ov.shape[1]):
                for j in range(nd):
                    if assigned[j] or ignored_dt[j] != 0 or below[j]:
                        continue
                    if dc_ov[j, k] > min_overlap:
                        assigned[j] = True
                        nstuff += 1
            fp -= nstuff
        if gt_alpha is not None:
            similarity = float(sum((1.0 + np.cos(d)) / 2.0 for d in deltas))
    return tp, fp, fn, tp_scores, similarity


def curves(gt_annos: Sequence[dict], dt_annos: Sequence[dict], cls: str, metric: str, difficulty: int,
           min_overlap: float, compute_aos: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Monotone precision and AOS at the 41 sampled recall positions (zeros past the last threshold)."""
    frames = []
    all_scores: list[float] = []
    num_gt = 0
    for gt, dt in zip(gt_annos, dt_annos, strict=True):
        ig, idt, nv = _clean(gt, dt, cls, difficulty)
        ov = _overlaps(gt, dt, metric)
        scores = np.asarray(dt.get("score", np.zeros(len(dt["name"]))), np.float64).reshape(-1)
        dc = None
        if metric == "bbox":
            dc_boxes = np.asarray(gt["bbox"], np.float64).reshape(-1, 4)[
                np.array([n == "DontCare" for n in gt["name"]], bool)]
            dc = _dc_overlap(np.asarray(dt["bbox"], np.float64).reshape(-1, 4), dc_boxes)
        alphas = (np.asarray(gt["alpha"], np.float64), np.asarray(dt["alpha"], np.float64)) if compute_aos \
            else (None, None)
        num_gt += nv
        all_scores += _statistics(ov, scores, ig, idt, min_overlap, 0.0, False)[3]
        frames.append((ov, scores, ig, idt, dc, alphas))
    prec = np.zeros(N_SAMPLE_PTS)
    aos = np.zeros(N_SAMPLE_PTS)
    if num_gt == 0:
        return prec, aos
    ths = _thresholds(all_scores, num_gt)
    for k, t in enumerate(ths):
        tp = fp = 0
        sim = 0.0
        for ov, scores, ig, idt, dc, alphas in frames:
            a, b, _, _, s = _statistics(ov, scores, ig, idt, min_overlap, t, True, dc, *alphas)
            tp, fp, sim = tp + a, fp + b, sim + s
        prec[k] = tp / (tp + fp) if tp + fp else 0.0
        aos[k] = sim / (tp + fp) if tp + fp else 0.0
    for k in range(len(ths)):
        prec[k] = prec[k:len(ths)].max()
        aos[k] = aos[k:len(ths)].max()
    return prec, aos


def kitti_ap_reference(gt_annos: Sequence[dict], dt_annos: Sequence[dict], classes: Sequence[str] = ("Car",),
                       metrics: Sequence[str] = ("bbox", "bev", "3d"), recall_points: Sequence[int] = (11, 40),
                       overlaps: str = "strict") -> dict[str, float]:
    """Same keys and values as :func:`hvpr.eval.kitti.kitti_ap`, by plain per-frame loops."""
    sets = {"strict": [STRICT], "loose": [LOOSE], "both": [STRICT, LOOSE]}[overlaps]
    compute_aos = "bbox" in metrics and has_alpha(dt_annos)
    out: dict[str, float] = {}
    for cls in classes:
        for metric in metrics:
            for table in sets:
                thr = table[cls][_METRIC_INDEX[metric]]
                for d, dname in enumerate(DIFFICULTIES):
                    prec, aos = curves(gt_annos, dt_annos, cls, metric, d, thr, compute_aos and metric == "bbox")
                    for r in recall_points:
                        out[f"{cls}/{metric}/{dname}/R{r}@{thr:.2f}"] = _ap(prec, r)
                        if compute_aos and metric == "bbox":
                            out[f"{cls}/aos/{dname}/R{r}@{thr:.2f}"] = _ap(aos, r)
    return out


def _ap(curve: np.ndarray, r: int) -> float:
    return 100.0 * float(curve[::4].sum() / 11 if r == 11 else curve[1:].sum() / 40)


__all__ = ["curves", "kitti_ap_reference"]
