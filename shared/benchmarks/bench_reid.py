"""Benchmark of cvcore.reid on a Market-1501-sized problem (not a test: no timing asserts).

    python shared/benchmarks/bench_reid.py [--queries 3368] [--gallery 15913] [--dim 2048]
                                           [--ref-queries 200] [--no-rerank] [--threads 2]

1. ``pairwise_distance`` (squared Euclidean) of 3,368 x 15,913 2,048-d features;
2. ``evaluate_rank`` (numpy and torch backends) on it — CMC + mAP + mINP;
3. a plain per-query reference (full stable argsort of each row, Python loop) on the first
   ``--ref-queries`` queries: results must be equal, and the time ratio is printed;
4. ``re_ranking`` (k1=20, k2=6, λ=0.3) on the whole problem, plus a dense reference on a subset.

Peak memory is the process's maximum resident set size (``ru_maxrss``) after each stage.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cvcore.bench import peak_rss_mib
from cvcore.reid import evaluate_rank, pairwise_distance, re_ranking


def market_like_features(nq: int, ng: int, dim: int, ids: int = 750, seed: int = 0, noise: float = 3.0):
    """Identity-clustered random features, Market-like labels (6 cameras, 2,000 distractors)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(ids + 1, dim, generator=g)
    q_pids = torch.randint(1, ids + 1, (nq,), generator=g)
    g_pids = torch.randint(0, ids + 1, (ng,), generator=g)
    g_pids[: nq // 2] = q_pids[: nq // 2]  # every query id has gallery images
    qf = centres[q_pids] + noise * torch.randn(nq, dim, generator=g)
    gf = centres[g_pids] + noise * torch.randn(ng, dim, generator=g)
    qf = torch.nn.functional.normalize(qf, dim=1)
    gf = torch.nn.functional.normalize(gf, dim=1)
    q_cams = torch.randint(0, 6, (nq,), generator=g)
    g_cams = torch.randint(0, 6, (ng,), generator=g)
    return qf, gf, q_pids.numpy(), g_pids.numpy(), q_cams.numpy(), g_cams.numpy()


def reference_eval(d, qp, gp, qc, gc, max_rank=50):
    """Per-query loop: full stable argsort, remove same pid & camera, first hit and AP."""
    cmc, aps = np.zeros(max_rank), []
    for i in range(d.shape[0]):
        order = np.argsort(d[i], kind="stable")
        keep = ~((gp[order] == qp[i]) & (gc[order] == qc[i]))
        m = (gp[order] == qp[i])[keep]
        if not m.any():
            continue
        first = int(np.argmax(m))
        cmc[first:] += 1
        hits = np.cumsum(m)
        aps.append(float(np.mean(hits[m] / (np.flatnonzero(m) + 1.0))))
    return cmc / len(aps), float(np.mean(aps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=3368)
    ap.add_argument("--gallery", type=int, default=15913)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--ref-queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-rerank", action="store_true")
    ap.add_argument("--backends", nargs="+", default=["numpy", "torch"], choices=["numpy", "torch"])
    ap.add_argument("--noise", type=float, default=3.0, help="feature noise (harder problem when larger)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    qf, gf, qp, gp, qc, gc = market_like_features(args.queries, args.gallery, args.dim, noise=args.noise)
    print(f"problem: {args.queries} queries x {args.gallery} gallery, {args.dim}-d, torch threads {args.threads}")
    print(f"features ready, peak RSS {peak_rss_mib():.0f} MiB")

    t = time.perf_counter()
    dist = pairwise_distance(qf, gf, "sqeuclidean").numpy()
    t_dist = time.perf_counter() - t
    print(f"pairwise_distance        {t_dist:7.2f} s   peak RSS {peak_rss_mib():.0f} MiB")
    res = {}
    for backend in args.backends:
        t = time.perf_counter()
        res[backend] = evaluate_rank(dist, qp, gp, qc, gc, backend=backend)
        dt = time.perf_counter() - t
        r = res[backend]
        print(f"evaluate_rank[{backend:5s}]     {dt:7.2f} s   (+distance {dt + t_dist:5.2f} s)  rank-1 {r.rank(1):.4f} "
              f"mAP {r.mAP:.4f} mINP {r.mINP:.4f}  peak RSS {peak_rss_mib():.0f} MiB")
    n = args.ref_queries
    t = time.perf_counter()
    ref_cmc, ref_map = reference_eval(dist[:n], qp[:n], gp, qc[:n], gc)
    t_ref = time.perf_counter() - t
    t = time.perf_counter()
    sub = evaluate_rank(dist[:n], qp[:n], gp, qc[:n], gc)
    t_sub = time.perf_counter() - t
    same = np.allclose(sub.cmc, ref_cmc, atol=1e-12) and abs(sub.mAP - ref_map) < 1e-9
    print(f"reference loop on {n} queries {t_ref:6.2f} s vs evaluate_rank {t_sub:6.3f} s: ratio {t_ref / t_sub:5.1f}x, "
          f"equal: {same}")

    if args.no_rerank:
        return
    t = time.perf_counter()
    qq = pairwise_distance(qf, qf).numpy()
    gg = pairwise_distance(gf, gf).numpy()
    t_gg = time.perf_counter() - t
    print(f"QQ + GG distances        {t_gg:7.2f} s   peak RSS {peak_rss_mib():.0f} MiB")
    t = time.perf_counter()
    rr = re_ranking(dist, qq, gg, k1=20, k2=6, lambda_value=0.3)
    t_rr = time.perf_counter() - t
    r2 = evaluate_rank(rr, qp, gp, qc, gc)
    print(f"re_ranking               {t_rr:7.2f} s   peak RSS {peak_rss_mib():.0f} MiB  (inputs alone "
          f"{(dist.nbytes + qq.nbytes + gg.nbytes) / 2**20:.0f} MB)  re-ranked rank-1 {r2.rank(1):.4f} mAP {r2.mAP:.4f}")
    # dense reference on a subset
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_reid_rerank import _reference  # the dense loop of the tests

    nq, ng = 60, 240
    t = time.perf_counter()
    ref = _reference(dist[:nq, :ng], qq[:nq, :nq], gg[:ng, :ng], 20, 6, 0.3)
    t_ref = time.perf_counter() - t
    t = time.perf_counter()
    got = re_ranking(dist[:nq, :ng], qq[:nq, :nq], gg[:ng, :ng])
    t_got = time.perf_counter() - t
    print(f"dense re-ranking reference on {nq}x{ng}: {t_ref:6.2f} s vs {t_got:6.3f} s (ratio {t_ref / t_got:5.1f}x), "
          f"max |diff| {np.abs(ref - got).max():.2e}")


if __name__ == "__main__":
    main()
