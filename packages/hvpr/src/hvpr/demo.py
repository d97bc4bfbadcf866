"""``hvpr demo``: synthetic KITTI-layout scenes (§11.1) → train the tiny preset on CPU → Car AP of HVPR beside the
same detector without the point branch (plain pillars) → a BEV picture.

Reported: Car AP|R40, Moderate, BEV and 3D at IoU 0.5 and 0.7, on the held-out synthetic val split, evaluated by
the real KITTI loader and evaluator. The comparison is reported as measured (§12: on toy data the memory may be
ignored by the network, so HVPR need not beat the baseline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvcore.io import atomic_write_json

COLUMNS = (("BEV@0.5", "Car/bev/moderate/R40@0.50"), ("BEV@0.7", "Car/bev/moderate/R40@0.70"),
           ("3D@0.5", "Car/3d/moderate/R40@0.50"), ("3D@0.7", "Car/3d/moderate/R40@0.70"))


def format_table(rows: list[tuple[str, dict[str, float]]], title: str) -> str:
    """A small text table of the four Car AP columns for each (name, metrics) row."""
    width = max(len(n) for n, _ in rows) + 2
    lines = [title, "model".ljust(width) + "".join(c.rjust(9) for c, _ in COLUMNS)]
    for name, m in rows:
        lines.append(name.ljust(width) + "".join(f"{m.get(k, float('nan')):9.2f}" for _, k in COLUMNS))
    return "\n".join(lines)


def run_demo(out: str | Path, *, iters: int = 600, num_train: int = 64, num_val: int = 24, seed: int = 0,
             baseline: bool = True, device: str = "cpu", quiet: bool | None = None) -> dict[str, Any]:
    """Run the demo in ``out`` (data in ``out/data``, runs in ``out/hvpr`` and ``out/pillars``); returns the
    metrics of each model, the printed table and the PNG path."""
    import torch

    from cvcore.viz import save_png, side_by_side
    from hvpr.config import PLAIN_PILLARS, load_config
    from hvpr.data.dataset import KittiDataset
    from hvpr.data.infos import make_infos
    from hvpr.data.synthetic import write_synthetic_kitti
    from hvpr.engine.evaluate import evaluate
    from hvpr.vis import bev_image

    out = Path(out)
    root = out / "data"
    write_synthetic_kitti(root, num_train, num_val, seed)
    make_infos(root, splits=("train", "val"), gt_database=False)
    runs = [("HVPR (pillars + points + memory)", load_config("tiny_synthetic"), "hvpr")]
    if baseline:
        runs.append(("plain pillars (no point branch)", load_config("tiny_synthetic", list(PLAIN_PILLARS)),
                     "pillars"))
    from hvpr.engine.train import train

    rows, models, results = [], [], {}
    for name, cfg, sub in runs:
        train_set = KittiDataset(root, "train", cfg, training=True, seed=seed)
        val_set = KittiDataset(root, "val", cfg, training=False)
        res = train(cfg, train_set, out / sub, max_iters=iters, batch_size=1, seed=seed, device=device,
                    log_every=max(iters // 20, 1), quiet=quiet, desc=f"train {sub}")
        metrics = evaluate(res.model, val_set, seed=seed, metrics=("bev", "3d"), recall_points=(11, 40),
                           overlaps="both", quiet=quiet)
        atomic_write_json(out / sub / "metrics.json", metrics)
        rows.append((name, metrics))
        models.append(res.model)
        results[sub] = {k: metrics[k] for _, k in COLUMNS}
    table = format_table(rows, f"Car AP|R40, Moderate, synthetic val ({num_val} scenes), {iters} iterations each")

    val_set = KittiDataset(root, "val", runs[0][1], training=False)
    item = val_set[0]
    r = runs[0][1].data.point_range
    window = (r[0], r[1], r[3], r[4])
    gt = item["gt_boxes"]
    pictures, labels = [], []
    with torch.no_grad():
        for (name, _, _), model in zip(runs, models):
            det = model.predict(item["points"], seed=seed)
            pictures.append(bev_image(item["points"], gt_boxes=gt, pred_boxes=det.boxes, scores=det.scores,
                                      range=window, resolution=0.05))
            labels.append(name)
    png = save_png(out / "demo_bev.png", side_by_side(pictures, labels) if len(pictures) > 1 else pictures[0])
    summary = {"iters": iters, "num_train": num_train, "num_val": num_val, "seed": seed, "results": results,
               "png": str(png)}
    atomic_write_json(out / "demo_metrics.json", summary)
    return {**summary, "table": table}
