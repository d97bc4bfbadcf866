"""COCO mask AP (spec §7: pseudo masks on COCO train, AP / AP50 / AP75 / AP_S / AP_M / AP_L), numpy only.

The protocol of the official COCO evaluation (``COCOeval`` with ``iouType="segm"``):

- IoU thresholds 0.50:0.05:0.95 (10), recall points 0:0.01:1 (101), area ranges all [0, 1e10],
  small [0, 32²], medium [32², 96²], large [96², 1e10] (bounds inclusive), maxDets (1, 10, 100);
  evaluation per (image, category).
- Detections of an image and category sorted by score (descending, stable), the first ``maxDet`` kept.
- Ground truths sorted with ignored ones (crowd, or area outside the range) last; each detection
  in score order is matched greedily to the unmatched ground truth with the highest IoU >= t
  (a crowd ground truth can be matched any number of times; once a non-ignored match exists,
  ignored candidates are not considered). A detection matched to an ignored ground truth is
  ignored; an unmatched detection whose area is outside the range is ignored.
- Crowd IoU: ``|d ∩ g| / |d|`` (the crowd region is not part of the union).
- Per category: detections of all images merged by score (stable), cumulative TP / FP, precision
  ``tp / (tp + fp + eps)`` made monotone from the right, sampled at the recall points with a left
  search (0 where the recall is not reached); AP = mean over the categories that have at least one
  non-ignored ground truth (and over thresholds / recall points).

Masks: binary ``(H, W)`` arrays or COCO RLE dicts (``{"size": [h, w], "counts": str | bytes | list}``),
with :func:`rle_encode` / :func:`rle_decode` for the compressed string format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["COCOMaskEvaluator", "IOU_THRESHOLDS", "RECALL_THRESHOLDS", "AREA_RANGES", "MAX_DETS", "mask_iou",
           "rle_decode", "rle_encode", "rle_area", "instances_from_label_map", "evaluate_coco_pseudo_labels"]

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, int(np.round((1.0 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RANGES = {"all": (0.0, 1e5**2), "small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, 1e5**2)}
MAX_DETS = (1, 10, 100)


# ----------------------------------------------------------------------------------------------- RLE
def _counts_from_string(s: str | bytes) -> list[int]:
    """Decode COCO's compressed RLE string (6-bit chunks offset by 48, 5 value bits, continuation bit
    0x20, sign bit 0x10 in the last chunk; counts after the second are deltas to the count two back)."""
    if isinstance(s, bytes):
        s = s.decode("ascii")
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _counts_to_string(counts: Sequence[int]) -> str:
    out = []
    for i, x in enumerate(counts):
        x = int(x)
        if i > 2:
            x -= int(counts[i - 2])
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # arithmetic shift, as for the C long
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """Binary ``(H, W)`` mask -> COCO compressed RLE ``{"size": [H, W], "counts": str}`` (column-major runs,
    starting with a run of zeros)."""
    m = np.asarray(mask).astype(bool)
    h, w = m.shape
    flat = m.ravel(order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        runs = [0, *runs]
    return {"size": [h, w], "counts": _counts_to_string(runs)}


def rle_decode(rle: Mapping[str, Any]) -> np.ndarray:
    """COCO RLE (compressed string/bytes or uncompressed list counts) -> ``(H, W)`` bool mask."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    runs = list(counts) if isinstance(counts, (list, tuple, np.ndarray)) else _counts_from_string(counts)
    if sum(runs) != h * w:
        raise ValueError(f"RLE counts sum to {sum(runs)}, expected {h * w} for size {h}x{w}")
    vals = np.zeros(len(runs), bool)
    vals[1::2] = True
    flat = np.repeat(vals, runs)
    return flat.reshape((w, h)).T.copy()


def rle_area(rle: Mapping[str, Any]) -> int:
    counts = rle["counts"]
    runs = list(counts) if isinstance(counts, (list, tuple, np.ndarray)) else _counts_from_string(counts)
    return int(sum(runs[1::2]))


def _as_mask(m: Any) -> np.ndarray:
    return rle_decode(m) if isinstance(m, Mapping) else np.asarray(m).astype(bool)


def mask_iou(dets: Sequence[np.ndarray], gts: Sequence[np.ndarray], iscrowd: Sequence[bool]) -> np.ndarray:
    """``(D, G)`` IoU of binary masks; for a crowd ground truth ``|d ∩ g| / |d|``."""
    if len(dets) == 0 or len(gts) == 0:
        return np.zeros((len(dets), len(gts)))
    d = np.stack([np.asarray(x, bool).ravel() for x in dets]).astype(np.float64)
    g = np.stack([np.asarray(x, bool).ravel() for x in gts]).astype(np.float64)
    inter = d @ g.T
    ad, ag = d.sum(1)[:, None], g.sum(1)[None, :]
    union = np.where(np.asarray(iscrowd, bool)[None, :], ad, ad + ag - inter)
    return np.where(union > 0, inter / np.maximum(union, 1e-300), 0.0)


# ----------------------------------------------------------------------------------------------- evaluation
@dataclass
class _ImageCat:
    dt_scores: np.ndarray  # (D,) sorted descending, truncated to max(MAX_DETS)
    dt_matched: np.ndarray  # (T, A, D) bool
    dt_ignore: np.ndarray  # (T, A, D) bool
    n_gt: np.ndarray  # (A,) non-ignored ground truths


@dataclass
class COCOMaskEvaluator:
    """Accumulates ground truths and detections per image and computes the COCO mask metrics.

    ``add_ground_truth(image_id, category_id, mask, iscrowd=False, area=None)`` (``area`` defaults to the
    mask area; COCO files carry their own ``area`` field, which the official evaluation uses for the area
    ranges of ground truths) and ``add_detection(image_id, category_id, mask, score)``; ``compute()``
    returns ``{"AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L", "AR1", "AR10", "AR100", "AR_S", "AR_M", "AR_L"}``
    (fractions; -1 where undefined, as in COCO) plus the ``precision`` array ``(T, R, K, A, M)``.
    """

    iou_thresholds: np.ndarray = field(default_factory=lambda: IOU_THRESHOLDS.copy())
    max_dets: tuple[int, ...] = MAX_DETS
    _gt: dict[tuple[Any, Any], list[tuple[np.ndarray, bool, float]]] = field(default_factory=dict)
    _dt: dict[tuple[Any, Any], list[tuple[np.ndarray, float, float]]] = field(default_factory=dict)

    def add_ground_truth(self, image_id: Any, category_id: Any, mask: Any, iscrowd: bool = False,
                         area: float | None = None) -> None:
        m = _as_mask(mask)
        self._gt.setdefault((image_id, category_id), []).append(
            (m, bool(iscrowd), float(m.sum()) if area is None else float(area)))

    def add_detection(self, image_id: Any, category_id: Any, mask: Any, score: float) -> None:
        m = _as_mask(mask)
        self._dt.setdefault((image_id, category_id), []).append((m, float(score), float(m.sum())))

    def add_coco(self, annotations: Iterable[Mapping[str, Any]], results: Iterable[Mapping[str, Any]],
                 image_sizes: Mapping[Any, tuple[int, int]] | None = None) -> None:
        """Add COCO-format ground-truth annotations (``segmentation`` as RLE, ``iscrowd``, ``area``) and
        results (``image_id``, ``category_id``, ``segmentation`` RLE, ``score``). Polygon segmentations
        need ``image_sizes`` and are rasterised with PIL (as an approximation of COCO's rasteriser)."""
        for a in annotations:
            m = self._seg(a["segmentation"], a["image_id"], image_sizes)
            self.add_ground_truth(a["image_id"], a["category_id"], m, bool(a.get("iscrowd", 0)), a.get("area"))
        for r in results:
            self.add_detection(r["image_id"], r["category_id"], self._seg(r["segmentation"], r["image_id"],
                                                                         image_sizes), r["score"])

    @staticmethod
    def _seg(seg: Any, image_id: Any, sizes: Mapping[Any, tuple[int, int]] | None) -> Any:
        if isinstance(seg, Mapping):
            return seg
        if sizes is None or image_id not in sizes:
            raise ValueError("polygon segmentations need image_sizes[image_id] = (H, W)")
        from PIL import Image, ImageDraw

        h, w = sizes[image_id]
        img = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(img)
        for poly in seg:
            draw.polygon([(float(poly[i]), float(poly[i + 1])) for i in range(0, len(poly), 2)], fill=1)
        return np.asarray(img, bool)

    def _evaluate_image(self, key: tuple[Any, Any]) -> _ImageCat | None:
        gts, dts = self._gt.get(key, []), self._dt.get(key, [])
        if not gts and not dts:
            return None
        order = np.argsort([-d[1] for d in dts], kind="mergesort")[: max(self.max_dets)]
        dts = [dts[i] for i in order]
        ious_all = mask_iou([d[0] for d in dts], [g[0] for g in gts], [g[1] for g in gts])
        t_n, a_n, d_n = len(self.iou_thresholds), len(AREA_RANGES), len(dts)
        matched = np.zeros((t_n, a_n, d_n), bool)
        ignore = np.zeros((t_n, a_n, d_n), bool)
        n_gt = np.zeros(a_n, int)
        for ai, (lo, hi) in enumerate(AREA_RANGES.values()):
            g_ign = np.array([g[1] or g[2] < lo or g[2] > hi for g in gts], bool)
            g_order = np.argsort(g_ign, kind="mergesort")  # non-ignored first
            g_ign_s = g_ign[g_order]
            crowd = np.array([gts[i][1] for i in g_order], bool)
            ious = ious_all[:, g_order] if len(gts) else ious_all
            n_gt[ai] = int((~g_ign).sum())
            d_out = np.array([d[2] < lo or d[2] > hi for d in dts], bool)
            for ti, t in enumerate(self.iou_thresholds):
                g_taken = np.zeros(len(gts), bool)
                for di in range(d_n):
                    best, m = min(t, 1 - 1e-10), -1
                    for gi in range(len(gts)):
                        if g_taken[gi] and not crowd[gi]:
                            continue
                        if m > -1 and not g_ign_s[m] and g_ign_s[gi]:
                            break
                        if ious[di, gi] < best:
                            continue
                        best, m = ious[di, gi], gi
                    if m == -1:
                        ignore[ti, ai, di] = d_out[di]
                        continue
                    matched[ti, ai, di] = True
                    ignore[ti, ai, di] = g_ign_s[m]
                    g_taken[m] = True
        return _ImageCat(np.array([d[1] for d in dts]), matched, ignore, n_gt)

    def compute(self) -> dict[str, Any]:
        cats = sorted({k[1] for k in self._gt} | {k[1] for k in self._dt}, key=str)
        images = sorted({k[0] for k in self._gt} | {k[0] for k in self._dt}, key=str)
        t_n, r_n, k_n, a_n, m_n = (len(self.iou_thresholds), len(RECALL_THRESHOLDS), len(cats), len(AREA_RANGES),
                                   len(self.max_dets))
        precision = -np.ones((t_n, r_n, k_n, a_n, m_n))
        recall = -np.ones((t_n, k_n, a_n, m_n))
        for ki, c in enumerate(cats):
            evals = [e for e in (self._evaluate_image((i, c)) for i in images) if e is not None]
            for ai in range(a_n):
                n_gt = sum(int(e.n_gt[ai]) for e in evals)
                if n_gt == 0:
                    continue
                for mi, md in enumerate(self.max_dets):
                    scores = np.concatenate([e.dt_scores[:md] for e in evals]) if evals else np.zeros(0)
                    order = np.argsort(-scores, kind="mergesort")
                    dtm = np.concatenate([e.dt_matched[:, ai, :md] for e in evals], axis=1)[:, order]
                    dti = np.concatenate([e.dt_ignore[:, ai, :md] for e in evals], axis=1)[:, order]
                    tps = np.cumsum(dtm & ~dti, axis=1).astype(float)
                    fps = np.cumsum(~dtm & ~dti, axis=1).astype(float)
                    for ti in range(t_n):
                        tp, fp = tps[ti], fps[ti]
                        nd = len(tp)
                        rc = tp / n_gt
                        pr = tp / (fp + tp + np.spacing(1))
                        recall[ti, ki, ai, mi] = rc[-1] if nd else 0.0
                        pr = np.maximum.accumulate(pr[::-1])[::-1] if nd else pr
                        inds = np.searchsorted(rc, RECALL_THRESHOLDS, side="left")
                        q = np.zeros(r_n)
                        ok = inds < nd
                        q[ok] = pr[inds[ok]]
                        precision[ti, :, ki, ai, mi] = q
        return {**self._summarise(precision, recall), "precision": precision, "recall": recall,
                "categories": cats, "n_images": len(images)}

    def _summarise(self, precision: np.ndarray, recall: np.ndarray) -> dict[str, float]:
        areas = list(AREA_RANGES)
        m100 = self.max_dets.index(100) if 100 in self.max_dets else len(self.max_dets) - 1

        def ap(t: float | None = None, area: str = "all") -> float:
            p = precision[:, :, :, areas.index(area), m100]
            if t is not None:
                p = p[np.isclose(self.iou_thresholds, t)]
            p = p[p > -1]
            return float(p.mean()) if p.size else -1.0

        def ar(md: int, area: str = "all") -> float:
            r = recall[:, :, areas.index(area), self.max_dets.index(md)]
            r = r[r > -1]
            return float(r.mean()) if r.size else -1.0

        out = {"AP": ap(), "AP50": ap(0.5), "AP75": ap(0.75), "AP_S": ap(area="small"), "AP_M": ap(area="medium"),
               "AP_L": ap(area="large")}
        for md in self.max_dets:
            out[f"AR{md}"] = ar(md)
        out.update({"AR_S": ar(self.max_dets[m100], "small"), "AR_M": ar(self.max_dets[m100], "medium"),
                    "AR_L": ar(self.max_dets[m100], "large")})
        return out


def instances_from_label_map(label_map: np.ndarray, boxes: np.ndarray,
                             scores: Sequence[float] | None = None) -> list[tuple[int, np.ndarray, float]]:
    """Instance masks from a semantic pseudo-label map and its boxes (spec §7, box-supervised COCO):
    box k gives the pixels of its class inside the box (§3.18 pixel ranges), score 1 unless given.

    Returns:
        ``[(class_id, (H, W) bool mask, score)]`` in box order (empty masks are kept; they are false
        positives with area 0).
    """
    from bap.data.bg_mask import box_pixel_ranges

    h, w = label_map.shape
    out = []
    for k, b in enumerate(np.asarray(boxes, np.float64).reshape(-1, 5)):
        c = int(b[4])
        rs, cs = box_pixel_ranges(b, h, w)
        m = np.zeros((h, w), bool)
        m[rs, cs] = label_map[rs, cs] == c
        out.append((c, m, 1.0 if scores is None else float(scores[k])))
    return out


def evaluate_coco_pseudo_labels(annotation_file: str | Path, pred_dir: str | Path) -> dict[str, Any]:
    """COCO mask AP of stage-2 pseudo labels (spec §7): for every image of the annotation file with
    annotations, ``<pred_dir>/<file stem>.png`` holds a label map in the :class:`~bap.data.COCOBoxes`
    label space (1..N, ascending category id); each annotated box gives one instance
    (:func:`instances_from_label_map`, score 1, ties kept in annotation order) evaluated against the
    annotation masks (RLE or polygons, with their ``area`` and ``iscrowd``).

    Returns:
        the metrics of :meth:`COCOMaskEvaluator.compute` (without the arrays) and ``n_images``.
    """
    import json

    from bap.data.voc import read_label_png
    from cvcore.errors import DataError

    ann_path, pred = Path(annotation_file), Path(pred_dir)
    if not ann_path.is_file():
        raise DataError(f"COCO annotation file not found: {ann_path}")
    if not pred.is_dir():
        raise DataError(f"pseudo-label folder not found: {pred}")
    try:
        data = json.loads(ann_path.read_text())
        cats = sorted(c["id"] for c in data["categories"])
        images = {im["id"]: im for im in data["images"]}
        anns = data["annotations"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"malformed COCO annotation file {ann_path} ({exc})") from exc
    label_to_cat = {i + 1: c for i, c in enumerate(cats)}
    cat_to_label = {c: i for i, c in label_to_cat.items()}
    per_image: dict[Any, list[Mapping[str, Any]]] = {}
    for a in anns:
        per_image.setdefault(a["image_id"], []).append(a)
    ev = COCOMaskEvaluator()
    sizes = {i: (int(im["height"]), int(im["width"])) for i, im in images.items()}
    for iid in sorted(per_image, key=str):
        if iid not in images:
            continue
        im = images[iid]
        lab = read_label_png(pred / f"{Path(im['file_name']).stem}.png")
        if lab.shape != sizes[iid]:
            raise DataError(f"pseudo labels of {im['file_name']} are {lab.shape}, the image is {sizes[iid]}")
        boxes = []
        for a in per_image[iid]:
            ev.add_ground_truth(iid, a["category_id"], ev._seg(a["segmentation"], iid, sizes),
                                bool(a.get("iscrowd", 0)), a.get("area"))
            x, y, w, h = a["bbox"]
            boxes.append([x, y, x + w, y + h, cat_to_label[a["category_id"]]])
        for c, m, s in instances_from_label_map(lab, np.asarray(boxes, np.float64)):
            ev.add_detection(iid, label_to_cat[c], m, s)
    res = ev.compute()
    return {k: v for k, v in res.items() if k not in ("precision", "recall", "categories")}
