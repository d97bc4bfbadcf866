"""The official text layout of the KITTI python evaluator's summary (``get_official_eval_result``)."""

from __future__ import annotations

from hvpr.eval.kitti import DIFFICULTIES, LOOSE, STRICT


def kitti_report(result: dict[str, float], classes: tuple[str, ...] | None = None) -> str:
    """Format a :func:`hvpr.eval.kitti_ap` result like the official port, per class and IoU set::

        Car AP@0.70, 0.70, 0.70:
        bbox AP:90.7769, 89.8973, 88.8118
        bev  AP:89.9978, 87.9544, 86.6094
        3d   AP:88.7041, 78.6838, 77.2795
        aos  AP:90.76, 89.71, 88.53
        Car AP_R40@0.70, 0.70, 0.70:
        ...

    (easy, moderate, hard). Metrics, recall settings and IoU sets absent from ``result`` are left out.
    """
    parsed = {}
    for key, value in result.items():
        cls, metric, diff, rest = key.split("/")
        rec, thr = rest.split("@")
        parsed[(cls, metric, diff, rec, thr)] = value
    present_cls = classes or tuple(dict.fromkeys(k[0] for k in parsed))
    lines = []
    for cls in present_cls:
        for table in (STRICT, LOOSE):
            if cls not in table:
                continue
            thr = [f"{t:.2f}" for t in table[cls]]
            for rec, tag in (("R11", "AP"), ("R40", "AP_R40")):
                rows = []
                for metric, label, t, fmt in (("bbox", "bbox", thr[0], "{:.4f}"), ("bev", "bev ", thr[1], "{:.4f}"),
                                              ("3d", "3d  ", thr[2], "{:.4f}"), ("aos", "aos ", thr[0], "{:.2f}")):
                    vals = [parsed.get((cls, metric, d, rec, t)) for d in DIFFICULTIES]
                    if all(v is not None for v in vals):
                        rows.append(f"{label} AP:" + ", ".join(fmt.format(v) for v in vals))
                if table is LOOSE and not any(
                        (cls, m, "easy", rec, thr[i]) in parsed for i, m in ((1, "bev"), (2, "3d"))):
                    continue
                if table is LOOSE and all(a == b for a, b in zip(STRICT[cls], LOOSE[cls])):
                    continue
                if rows:
                    lines.append(f"{cls} {tag}@{', '.join(thr)}:")
                    lines.extend(rows)
    return "\n".join(lines) + ("\n" if lines else "")


__all__ = ["kitti_report"]
