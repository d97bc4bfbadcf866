"""KITTI 3D-object AP (spec §7, E42): the protocol of the python port of the official evaluator, vectorised.

Per class, metric (``bbox`` image IoU, ``bev``, ``3d``), difficulty and IoU threshold: ground truths are
cleaned (ignored classes Van/Person_sitting, occlusion/truncation/height limits), score thresholds are chosen
from matched true-positive scores so that recall is sampled in 40 steps, precision/recall are counted at every
threshold, precision is made monotone, and AP|R11 averages indices 0, 4, …, 40 while AP|R40 averages 1…40
(×100). For the 2D metric, unmatched detections covering a DontCare box (intersection / detection area > the
IoU threshold) are not false positives. AOS (``"<class>/aos/..."``, with the 2D matching) is computed when the
detections carry alpha (the first non-empty frame's alpha ≠ −10). Annotations are dicts with the official field
names (``name, truncated, occluded, alpha, bbox, dimensions (l, h, w), location, rotation_y, score``).

Vectorisation (same numbers as the per-frame loops of :mod:`hvpr.eval.kitti_loop`): all frames are flattened;
IoUs are computed only for same-frame (detection, gt) pairs; the greedy per-frame matching (gt order, then the
best unassigned detection) runs as one step per gt *rank within its frame*, over all frames and all 41 score
thresholds at once. The port's per-detection loop has a closed form: at a threshold, a gt takes the first
highest-IoU valid detection, else the first ignored (too small) one; when collecting thresholds, the first
highest-score candidate. Precision/AOS with tp + fp = 0 are 0 (the port would give NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hvpr.ops.boxes import boxes_to_corners_bev
from hvpr.ops.iou import _intersection_area_grid

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
_PAIR_CHUNK = 65536


def has_alpha(dt_annos: Sequence[dict]) -> bool:
    """The port's AOS switch: the first frame with detections has alpha[0] ≠ −10."""
    for a in dt_annos:
        alpha = np.asarray(a.get("alpha", []), np.float64).reshape(-1)
        if alpha.shape[0]:
            return bool(alpha[0] != -10)
    return False


def _thresholds(scores: Sequence[float], num_gt: int) -> list[float]:
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


class _Flat:
    """All frames' annotations concatenated, with frame offsets."""

    def __init__(self, annos: Sequence[dict], with_score: bool) -> None:
        counts = np.array([len(a["name"]) for a in annos], np.int64)
        self.count = counts
        self.offset = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.frame = np.repeat(np.arange(len(annos)), counts)
        n = int(counts.sum())

        def cat(key, width=None, dtype=np.float64, default=0.0):
            parts = [np.asarray(a[key] if key in a else np.full(len(a["name"]), default), dtype) for a in annos]
            parts = [p.reshape(-1, width) if width else p.reshape(-1) for p in parts]
            if not parts:
                return np.zeros((0, width) if width else 0, dtype)
            return np.concatenate(parts) if n else np.zeros((0, width) if width else 0, dtype)

        self.name = np.array([str(x) for a in annos for x in a["name"]], dtype=object)
        self.lower = np.array([x.lower() for x in self.name], dtype=object)
        self.bbox = cat("bbox", 4)
        self.loc = cat("location", 3)
        self.dims = cat("dimensions", 3)
        self.rot = cat("rotation_y")
        self.alpha = cat("alpha", default=-10.0)
        if with_score:
            self.score = cat("score")
        else:
            self.truncated = cat("truncated")
            self.occluded = cat("occluded")


def _pairs(dt: _Flat, gt: _Flat) -> tuple[np.ndarray, np.ndarray]:
    """All same-frame (det, gt) index pairs, ordered by frame, det, gt."""
    nd, ng = dt.count, gt.count
    per = nd * ng
    total = int(per.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    frame = np.repeat(np.arange(len(nd)), per)
    start = np.concatenate([[0], np.cumsum(per)[:-1]])
    k = np.arange(total) - start[frame]
    return dt.offset[frame] + k // ng[frame], gt.offset[frame] + k % ng[frame]


def _bev_boxes(f: _Flat, idx: np.ndarray) -> np.ndarray:
    """Camera ground-plane boxes (x, z, l, w, r_y) as 7-column boxes for the rotated intersection."""
    b = np.zeros((len(idx), 7))
    b[:, 0], b[:, 1] = f.loc[idx, 0], f.loc[idx, 2]
    b[:, 3], b[:, 4] = f.dims[idx, 0], f.dims[idx, 2]
    b[:, 6] = f.rot[idx]
    return b


def _pair_overlaps(dt: _Flat, gt: _Flat, pd: np.ndarray, pg: np.ndarray, metric: str,
                   cache: dict | None = None) -> np.ndarray:
    """IoU of each (det, gt) pair, same formulas as the per-frame reference (``cache`` shares the ground-plane
    intersection between ``bev`` and ``3d``)."""
    if len(pd) == 0:
        return np.zeros(0)
    if metric == "bbox":
        a, b = dt.bbox[pd], gt.bbox[pg]
        w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
        h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
        inter = w * h
        area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
        with np.errstate(divide="ignore", invalid="ignore"):
            return inter / (area(a) + area(b) - inter)
    bd, bg = _bev_boxes(dt, pd), _bev_boxes(gt, pg)
    if cache is not None and "inter" in cache:
        inter = cache["inter"]
    else:
        inter = _ground_intersection(bd, bg)
        if cache is not None:
            cache["inter"] = inter
    area_d, area_g = bd[:, 3] * bd[:, 4], bg[:, 3] * bg[:, 4]
    if metric == "bev":
        return inter / (area_d + area_g - inter)
    yd, hd = dt.loc[pd, 1], dt.dims[pd, 1]
    yg, hg = gt.loc[pg, 1], gt.dims[pg, 1]
    ov = np.clip(np.minimum(yd, yg) - np.maximum(yd - hd, yg - hg), 0, None)
    vi = inter * ov
    return vi / np.maximum(area_d * hd + area_g * hg - vi, 1e-12)


def _ground_intersection(bd: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Rotated ground-plane intersection area of paired boxes (P, 7), (P, 7) -> (P,)."""
    inter = np.zeros(len(bd))
    # only pairs whose circumscribed circles overlap can intersect (as rotated_intersection_bev)
    ra = 0.5 * np.hypot(bd[:, 3], bd[:, 4])
    rb = 0.5 * np.hypot(bg[:, 3], bg[:, 4])
    dist = np.hypot(bd[:, 0] - bg[:, 0], bd[:, 1] - bg[:, 1])
    cand = np.nonzero(dist <= (ra + rb) * (1 + 1e-9) + 1e-9)[0]
    for s in range(0, len(cand), _PAIR_CHUNK):
        c = cand[s : s + _PAIR_CHUNK]
        ca = boxes_to_corners_bev(torch.from_numpy(bd[c]))
        cb = boxes_to_corners_bev(torch.from_numpy(bg[c]))
        inter[c] = _intersection_area_grid(ca[:, None], cb[:, None])[:, 0].numpy()
    return inter


def _clean(gt: _Flat, dt: _Flat, cls: str, diff: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Ignore flags (0 valid, 1 ignored, −1 other class) of all gts and dets, number of valid gts."""
    c = cls.lower()
    height = gt.bbox[:, 3] - gt.bbox[:, 1]
    same = gt.lower == c
    neighbour = ((c == "pedestrian") & (gt.lower == "person_sitting")) | ((c == "car") & (gt.lower == "van"))
    ignore = (gt.occluded > MAX_OCCLUSION[diff]) | (gt.truncated > MAX_TRUNCATION[diff]) | (height <= MIN_HEIGHT[diff])
    ig = np.full(len(gt.name), -1, np.int64)
    ig[neighbour | (same & ignore)] = 1
    ig[same & ~ignore] = 0
    idt = np.full(len(dt.name), -1, np.int64)
    idt[dt.lower == c] = 0
    idt[np.abs(dt.bbox[:, 3] - dt.bbox[:, 1]) < MIN_HEIGHT[diff]] = 1
    return ig, idt, int((ig == 0).sum())


def _rank_order(pg: np.ndarray, gt_frame: np.ndarray, keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Order candidate pairs by (rank of their gt within its frame, gt, *keys) -> (order, rank per pair)."""
    gts = np.unique(pg)
    frame = gt_frame[gts]
    first = np.r_[True, frame[1:] != frame[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(gts)), 0))
    rank_of_gt = np.arange(len(gts)) - start
    rank = rank_of_gt[np.searchsorted(gts, pg)]
    order = np.lexsort(tuple(reversed(keys)) + (pg, rank))
    return order, rank[order]


def _match_thresholds(pd, pg, ig, idt, score, gt_frame, num_dt) -> np.ndarray:
    """Scores of the true positives of the threshold-collection pass (compute_fp = False)."""
    if len(pd) == 0:
        return np.zeros(0)
    order, rank = _rank_order(pg, gt_frame, [-score[pd], pd])
    pd, pg = pd[order], pg[order]
    assigned = np.zeros(num_dt, bool)
    bounds = np.searchsorted(rank, np.arange(rank.max() + 2))
    out = []
    for r in range(rank.max() + 1):
        d, g = pd[bounds[r] : bounds[r + 1]], pg[bounds[r] : bounds[r + 1]]
        ok = ~assigned[d]
        d, g = d[ok], g[ok]
        if len(d) == 0:
            continue
        first = np.r_[True, g[1:] != g[:-1]]
        d, g = d[first], g[first]
        assigned[d] = True
        tp = (ig[g] == 0) & (idt[d] == 0)
        out.append(score[d[tp]])
    return np.concatenate(out) if out else np.zeros(0)


def _match_at(pd, pg, iou, ig, idt, score, gt_frame, num_dt, ths, gt_alpha=None, dt_alpha=None):
    """Counting pass at every threshold: assigned (T, D), tp (T,), AOS similarity sums (T,)."""
    t = len(ths)
    assigned = np.zeros((t, num_dt), bool)
    tp = np.zeros(t, np.int64)
    sim = np.zeros(t)
    if len(pd) == 0:
        return assigned, tp, sim
    prio = idt[pd]  # 0 valid first, then 1 ignored (−1 were removed)
    order, rank = _rank_order(pg, gt_frame, [prio, np.where(prio == 0, -iou, 0.0), pd])
    pd, pg = pd[order], pg[order]
    bounds = np.searchsorted(rank, np.arange(rank.max() + 2))
    for r in range(rank.max() + 1):
        d, g = pd[bounds[r] : bounds[r + 1]], pg[bounds[r] : bounds[r + 1]]
        n = len(d)
        seg = np.nonzero(np.r_[True, g[1:] != g[:-1]])[0]
        ok = ~assigned[:, d] & (score[d][None] >= ths[:, None])  # (T, n)
        idx = np.where(ok, np.arange(n)[None], n)
        choice = np.minimum.reduceat(idx, seg, axis=1)  # (T, n_gt): first admissible pair of each gt
        seg_end = np.r_[seg[1:], n]
        valid = choice < seg_end[None]
        tt, kk = np.nonzero(valid)
        cd = d[choice[tt, kk]]
        cg = g[seg[kk]]
        assigned[tt, cd] = True
        is_tp = (ig[cg] == 0) & (idt[cd] == 0)
        np.add.at(tp, tt[is_tp], 1)
        if gt_alpha is not None:
            np.add.at(sim, tt[is_tp], (1.0 + np.cos(gt_alpha[cg[is_tp]] - dt_alpha[cd[is_tp]])) / 2.0)
    return assigned, tp, sim


def _dc_hits(dt: _Flat, gt: _Flat, min_overlap: float) -> np.ndarray:
    """Per detection: covers a DontCare box of its frame by intersection / own area > min_overlap."""
    hit = np.zeros(len(dt.name), bool)
    dc = np.nonzero(gt.name == "DontCare")[0]
    if len(dc) == 0 or len(dt.name) == 0:
        return hit
    # same-frame (det, dontcare) pairs
    per_frame = np.bincount(gt.frame[dc], minlength=len(dt.count))
    dc_offset = np.concatenate([[0], np.cumsum(per_frame)[:-1]])
    per = dt.count * per_frame
    total = int(per.sum())
    if total == 0:
        return hit
    frame = np.repeat(np.arange(len(per)), per)
    start = np.concatenate([[0], np.cumsum(per)[:-1]])
    k = np.arange(total) - start[frame]
    pd = dt.offset[frame] + k // per_frame[frame]
    pq = dc[dc_offset[frame] + k % per_frame[frame]]
    a, q = dt.bbox[pd], gt.bbox[pq]
    iw = np.minimum(a[:, 2], q[:, 2]) - np.maximum(a[:, 0], q[:, 0])
    ih = np.minimum(a[:, 3], q[:, 3]) - np.maximum(a[:, 1], q[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((iw > 0) & (ih > 0), iw * ih / ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])), 0.0)
    hit[pd[ratio > min_overlap]] = True
    return hit


class _Evaluator:
    def __init__(self, gt_annos: Sequence[dict], dt_annos: Sequence[dict]) -> None:
        if len(gt_annos) != len(dt_annos):
            raise ValueError(f"{len(gt_annos)} ground-truth frames but {len(dt_annos)} detection frames")
        self.gt, self.dt = _Flat(gt_annos, False), _Flat(dt_annos, True)
        self.pd, self.pg = _pairs(self.dt, self.gt)
        self._iou: dict[str, np.ndarray] = {}
        self._cache: dict[str, np.ndarray] = {}

    def iou(self, metric: str) -> np.ndarray:
        if metric not in self._iou:
            self._iou[metric] = _pair_overlaps(self.dt, self.gt, self.pd, self.pg, metric, self._cache)
        return self._iou[metric]

    def curves(self, cls: str, metric: str, difficulty: int, min_overlap: float,
               compute_aos: bool = False) -> tuple[np.ndarray, np.ndarray]:
        gt, dt = self.gt, self.dt
        ig, idt, num_gt = _clean(gt, dt, cls, difficulty)
        prec, aos = np.zeros(N_SAMPLE_PTS), np.zeros(N_SAMPLE_PTS)
        if num_gt == 0:
            return prec, aos
        iou = self.iou(metric)
        cand = (iou > min_overlap) & (ig[self.pg] != -1) & (idt[self.pd] != -1)
        pd, pg, ov = self.pd[cand], self.pg[cand], iou[cand]
        score = dt.score
        tp_scores = _match_thresholds(pd, pg, ig, idt, score, gt.frame, len(dt.name))
        ths = np.asarray(_thresholds(tp_scores.tolist(), num_gt), np.float64)
        if len(ths) == 0:
            return prec, aos
        alphas = (gt.alpha, dt.alpha) if compute_aos else (None, None)
        assigned, tp, sim = _match_at(pd, pg, ov, ig, idt, score, gt.frame, len(dt.name), ths, *alphas)
        counted = (idt == 0)[None] & (score[None] >= ths[:, None]) & ~assigned
        if metric == "bbox":
            counted &= ~_dc_hits(dt, gt, min_overlap)[None]
        fp = counted.sum(1)
        den = tp + fp
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(den > 0, tp / np.maximum(den, 1), 0.0)
            a = np.where(den > 0, sim / np.maximum(den, 1), 0.0)
        n = len(ths)
        prec[:n] = np.maximum.accumulate(p[::-1])[::-1]
        aos[:n] = np.maximum.accumulate(a[::-1])[::-1]
        return prec, aos


def precision_curve(gt_annos: Sequence[dict], dt_annos: Sequence[dict], cls: str, metric: str, difficulty: int,
                    min_overlap: float) -> np.ndarray:
    """Monotone precision at the 41 sampled recall positions (zeros past the last threshold)."""
    return _Evaluator(gt_annos, dt_annos).curves(cls, metric, difficulty, min_overlap)[0]


def _ap(curve: np.ndarray, r: int) -> float:
    return 100.0 * float(curve[::4].sum() / 11 if r == 11 else curve[1:].sum() / 40)


def kitti_ap(gt_annos: Sequence[dict], dt_annos: Sequence[dict], classes: Sequence[str] = ("Car",),
             metrics: Sequence[str] = ("bbox", "bev", "3d"), recall_points: Sequence[int] = (11, 40),
             overlaps: str = "strict") -> dict[str, float]:
    """AP ×100 keyed ``"<class>/<metric>/<difficulty>/R<11|40>@<iou>"`` (e.g. ``"Car/3d/moderate/R40@0.70"``);
    with ``"bbox"`` in ``metrics`` and alpha in the detections also ``"<class>/aos/<difficulty>/R<r>@<bbox iou>"``.
    ``overlaps``: ``"strict"`` | ``"loose"`` | ``"both"`` (§7)."""
    if overlaps not in ("strict", "loose", "both"):
        raise ValueError("overlaps must be 'strict', 'loose' or 'both'")
    sets = {"strict": [STRICT], "loose": [LOOSE], "both": [STRICT, LOOSE]}[overlaps]
    ev = _Evaluator(gt_annos, dt_annos)
    compute_aos = "bbox" in metrics and has_alpha(dt_annos)
    out: dict[str, float] = {}
    for cls in classes:
        if cls not in STRICT:
            raise ValueError(f"no KITTI IoU thresholds for class {cls!r} (known: {', '.join(STRICT)})")
        for metric in metrics:
            for table in sets:
                thr = table[cls][_METRIC_INDEX[metric]]
                for d, dname in enumerate(DIFFICULTIES):
                    key = f"{cls}/{metric}/{dname}/R{recall_points[0]}@{thr:.2f}"
                    if key in out:  # the loose bbox threshold equals the strict one
                        continue
                    aos_here = compute_aos and metric == "bbox"
                    prec, aos = ev.curves(cls, metric, d, thr, aos_here)
                    for r in recall_points:
                        out[f"{cls}/{metric}/{dname}/R{r}@{thr:.2f}"] = _ap(prec, r)
                        if aos_here:
                            out[f"{cls}/aos/{dname}/R{r}@{thr:.2f}"] = _ap(aos, r)
    return out


__all__ = ["DIFFICULTIES", "LOOSE", "STRICT", "has_alpha", "kitti_ap", "precision_curve"]
