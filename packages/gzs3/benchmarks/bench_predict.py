# ruff: noqa: B023  (the lambdas are timed immediately, inside the loop iteration)
"""Prediction throughput at 512x512 on CPU (tiny and full DeepLabV3+ encoders) and the cost of
the decision rule: Apollonius calibration vs plain nearest prototype, and our distance + AC path
vs a plain reference (torch.cdist + sort) of the same computation, in the same run.

    python packages/gzs3/benchmarks/bench_predict.py [--size 512] [--reps 3] [--threads 1] [--skip-full]

Not a test: prints numbers, asserts only that the two implementations agree.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from cvcore.bench import peak_rss_mib, time_call
from gzs3.calibration import apollonius_calibration, nearest_prototype
from gzs3.distances import squared_distances
from gzs3.joint_embedding import JointEmbeddingModel
from gzs3.models import DeepLabV3PlusEncoder, SemanticEncoder


def reference_ac(v, protos, unseen, sigma):
    """Plain reference: cdist on flattened pixels, full sort, per-pixel rule of E13."""
    b, d, h, w = v.shape
    dist = torch.cdist(v.permute(0, 2, 3, 1).reshape(-1, d), protos) ** 2  # (P, K)
    val, idx = dist.sort(dim=1)
    scale = torch.where(unseen, sigma, 1.0)
    c1, c2 = idx[:, 0], idx[:, 1]
    d1, d2 = val[:, 0] * scale[c1], val[:, 1] * scale[c2]
    return torch.where(d2 < d1, c2, c1).view(b, h, w)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-full", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    unseen = [1, 5, 8, 10, 14, 18]
    x = torch.randn(1, 3, a.size, a.size)
    print(f"input 1x3x{a.size}x{a.size}, {a.threads} thread(s), {a.reps} rep(s)")
    for name, kw, dim in (("tiny", dict(backbone="tiny", width=16), 16), ("resnet101", {}, 256)):
        if name == "resnet101" and a.skip_full:
            continue
        vis = DeepLabV3PlusEncoder(21, **kw).eval()
        model = JointEmbeddingModel(vis, SemanticEncoder(300, dim), torch.randn(21, 300), unseen).eval()
        with torch.no_grad():
            t_nn = time_call(lambda: model.predict(x, calibration="none"), a.reps)
            t_ac = time_call(lambda: model.predict(x, sigma=0.5), a.reps)
            v = F.interpolate(vis.features(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
            protos = model.prototypes()
            t_dist = time_call(lambda: squared_distances(v, protos), a.reps)
            d = squared_distances(v, protos)
            t_dec_nn = time_call(lambda: nearest_prototype(d), a.reps)
            t_dec_ac = time_call(lambda: apollonius_calibration(d, model.unseen_mask, 0.5), a.reps)
            t_ref = time_call(lambda: reference_ac(v, protos, model.unseen_mask, 0.5), a.reps)
            ours = apollonius_calibration(d, model.unseen_mask, 0.5)
            ref = reference_ac(v, protos, model.unseen_mask, 0.5)
        agree = (ours == ref).float().mean().item()
        print(f"[{name}] predict: nearest {1 / t_nn:.2f} img/s, Apollonius {1 / t_ac:.2f} img/s "
              f"(calibration overhead {100 * (t_ac - t_nn) / t_nn:+.1f} %)")
        print(f"[{name}] decision only: argmin {1e3 * t_dec_nn:.1f} ms, AC top-2 {1e3 * t_dec_ac:.1f} ms; "
              f"distances {1e3 * t_dist:.1f} ms; ours (dist+AC) {1e3 * (t_dist + t_dec_ac):.1f} ms vs reference "
              f"cdist+sort {1e3 * t_ref:.1f} ms = {t_ref / (t_dist + t_dec_ac):.2f}x; agreement {100 * agree:.3f} %")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
