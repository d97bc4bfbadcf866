"""Benchmark of the RelationNet head and inference (not a test; no timing asserts).

    python packages/reid-relation/benchmarks/bench_relation.py [--batch 32] [--full] [--threads 2]

1. Relation + GCP head on a fixed ``(B, 2048, 24, 8)`` map: this package's modules vs a plain
   reference written here in the official style (per-stripe ``F.max_pool2d`` slices, explicit
   rest sums); outputs must be equal; the time ratio is printed.
2. With ``--full``: full-size ResNet-50 descriptor extraction (384x128, flip TTA) in images/s.
Peak memory = the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from cvcore.bench import peak_rss_mib
from reid_relation import RelationNet


def reference_head(m: RelationNet, fmap: torch.Tensor) -> list[torch.Tensor]:
    """Official-style loops over stripes (R1-R7)."""
    feats, glob = [], []
    gmax = F.max_pool2d(fmap, fmap.shape[2:]).flatten(1)
    for n in m.partitions:
        h = fmap.shape[2] // n
        parts = [F.max_pool2d(fmap[:, :, i * h:(i + 1) * h], (h, fmap.shape[3])).flatten(1) for i in range(n)]
        rel, gcp = m.relation[str(n)], m.gcp[str(n)]
        for i in range(n):
            rest = sum(parts[(i + j) % n] for j in range(1, n)) / (n - 1)
            a, b = rel.local[i](parts[i]), rel.rest[i](rest)
            feats.append(a + rel.fuse[i](torch.cat([a, b], 1)))
        cont = (sum(parts) - gmax) / (n - 1)
        gm, gc = gcp.max_emb(gmax), gcp.cont_emb(cont)
        glob.append(gm + gcp.fuse(torch.cat([gm, gc], 1)))
    return feats + glob


def ours_head(m: RelationNet, fmap: torch.Tensor) -> list[torch.Tensor]:
    from reid_relation.stripes import stripe_max_pool

    gmax = fmap.amax(dim=(2, 3))
    local, glob = [], []
    for n in m.partitions:
        parts = stripe_max_pool(fmap, n)
        q, _, _ = m.relation[str(n)](parts)
        glob.append(m.gcp[str(n)](parts, gmax)[0])
        local += list(q.unbind(1))
    return local + glob


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    m = RelationNet(0).eval()
    fmap = torch.randn(args.batch, 2048, 24, 8)
    with torch.no_grad():
        a, b = ours_head(m, fmap), reference_head(m, fmap)
        same = all(torch.allclose(x, y, atol=1e-5) for x, y in zip(a, b))
        t = time.perf_counter()
        for _ in range(args.repeats):
            ours_head(m, fmap)
        t_ours = (time.perf_counter() - t) / args.repeats
        t = time.perf_counter()
        for _ in range(args.repeats):
            reference_head(m, fmap)
        t_ref = (time.perf_counter() - t) / args.repeats
    print(f"head on ({args.batch}, 2048, 24, 8): ours {t_ours * 1e3:.1f} ms, reference {t_ref * 1e3:.1f} ms, "
          f"ratio {t_ref / t_ours:.2f}x, equal: {same}, peak RSS {peak_rss_mib():.0f} MiB")
    if args.full:
        x = torch.randn(8, 3, 384, 128)
        t = time.perf_counter()
        d = m.embed(x)
        dt = time.perf_counter() - t
        print(f"full-size embed (flip TTA) 8 x 384x128: {dt:.2f} s = {8 / dt:.1f} images/s, dim {d.shape[1]}, "
              f"peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
