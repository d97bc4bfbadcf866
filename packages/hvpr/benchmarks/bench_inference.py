"""Per-stage CPU latency of HVPR inference (not a test).

    python packages/hvpr/benchmarks/bench_inference.py --config kitti_car --points 120000 --iters 3 --threads 1

Stages: voxelize (range crop + point sampling + pillars), pillar net + scale encoder, memory read, scatter,
backbone (AMFM incl. attention), head, post-processing (decode + NMS). Weights are random (no trained weights
exist), so the number of boxes reaching NMS is whatever the untrained head produces; ``--score-thresh`` lets you
control it.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="kitti_car")
    ap.add_argument("--points", type=int, default=120_000)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--score-thresh", type=float, default=None)
    ap.add_argument("--channels-last", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from hvpr import HVPR, load_config
    from hvpr.model.memory import scatter_to_bev

    cfg = load_config(args.config)
    if args.score_thresh is not None:
        cfg.post.score_thresh = args.score_thresh
    model = HVPR(cfg).eval()
    r = cfg.data.point_range
    g = torch.Generator().manual_seed(0)
    lo, hi = torch.tensor([r[0], r[1], r[2], 0.0]), torch.tensor([r[3], r[4], r[5], 1.0])
    cloud = lo + torch.rand(args.points, 4, generator=g) * (hi - lo)
    times: dict[str, list[float]] = defaultdict(list)

    def tick(name: str, t0: float) -> float:
        t1 = time.perf_counter()
        times[name].append((t1 - t0) * 1000)
        return t1

    with torch.no_grad():
        for _ in range(args.iters):
            t = time.perf_counter()
            batch = model.make_batch([cloud])
            t = tick("voxelize", t)
            vox, coords, npts = batch["voxels"], batch["voxel_coords"], batch["voxel_num_points"]
            v = model.vfe(vox, npts, coords)
            sigma = model.scale_encoder(vox, npts)
            t = tick("pillar_net", t)
            g_m = model.memory.read_voxels(v)
            t = tick("memory", t)
            x = scatter_to_bev(torch.cat([v, g_m], 1), coords, 1, model.ny, model.nx)
            s = scatter_to_bev(sigma, coords, 1, model.ny, model.nx)
            if args.channels_last:
                x, s = x.contiguous(memory_format=torch.channels_last), s.contiguous(memory_format=torch.channels_last)
            t = tick("scatter", t)
            feats = model.backbone(x, model.backbone.attention(s))
            t = tick("backbone", t)
            preds = model.head(feats)
            t = tick("head", t)
            dets = model.post_process(*preds)
            tick("post_nms", t)
    total = sum(min(v) for v in times.values())
    print(f"{args.config}: {args.points} points, {vox.shape[0]} pillars, {dets[0].boxes.shape[0]} boxes, "
          f"{args.threads} thread(s); best of {args.iters} (ms)")
    for name, vals in times.items():
        print(f"  {name:12s} {min(vals):10.1f}  ({100 * min(vals) / total:5.1f} %)")
    print(f"  {'total':12s} {total:10.1f}; non-backbone share {100 * (total - min(times['backbone'])) / total:.1f} %")


if __name__ == "__main__":
    main()
