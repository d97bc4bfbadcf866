"""Benchmark: DenseCRF seconds per image (fast lattice path vs the exact dense reference) and stage-2
pseudo-label throughput. Not a test; prints a table.

    python packages/bap/benchmarks/bench_crf.py [--size 321] [--exact-size 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from bap.crf import STAGE2_CRF, dense_crf
from bap.data import SyntheticBoxDataset
from bap.models import BAPClassifier
from bap.pseudo_labels import generate_pseudo_labels
from cvcore.bench import peak_rss_mib, time_call


def case(h: int, w: int, c: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    s = SyntheticBoxDataset(1, (h, w), num_classes=c - 1, seed=seed)[0]
    rng = np.random.default_rng(seed)
    logits = np.eye(c)[s.mask].transpose(2, 0, 1) * 2 + rng.normal(0, 1.0, (c, h, w))
    p = np.exp(logits)
    return s.image, p / p.sum(0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=321)
    ap.add_argument("--exact-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--images", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    img, p = case(a.size, a.size)
    t_fast = time_call(lambda: dense_crf(img, p, STAGE2_CRF, 10, "lattice"), a.repeat)
    ims, ps = case(a.exact_size, a.exact_size, seed=1)
    t_exact_small = time_call(lambda: dense_crf(ims, ps, STAGE2_CRF, 10, "exact"), 1)
    t_fast_small = time_call(lambda: dense_crf(ims, ps, STAGE2_CRF, 10, "lattice"), a.repeat)
    agree = (dense_crf(ims, ps, STAGE2_CRF, 10, "exact").argmax(0)
             == dense_crf(ims, ps, STAGE2_CRF, 10, "lattice").argmax(0)).mean()
    n_big, n_small = a.size**2, a.exact_size**2
    exact_extrapolated = t_exact_small * (n_big / n_small) ** 2  # O(N^2)
    print(f"threads={a.threads}, load average before: {os.getloadavg()}")
    print("| path | image | s / image (10 it.) |")
    print("|---|---|---|")
    print(f"| lattice (fast) | {a.size}x{a.size} | {t_fast:.3f} |")
    print(f"| lattice (fast) | {a.exact_size}x{a.exact_size} | {t_fast_small:.3f} |")
    print(f"| exact dense | {a.exact_size}x{a.exact_size} | {t_exact_small:.3f} |")
    print(f"| exact dense (O(N^2) extrapolation) | {a.size}x{a.size} | {exact_extrapolated:.0f} |")
    print(f"speed-up at {a.exact_size}x{a.exact_size}: {t_exact_small / t_fast_small:.1f}x; "
          f"label agreement {100 * agree:.2f} %")
    # stage-2 throughput with the tiny classifier (features + CAMs + attention + CRF + retrieval)
    model = BAPClassifier(4, "tiny", width=32).eval()
    ds = SyntheticBoxDataset(a.images, (a.size, a.size), seed=2)
    samples = [ds[i] for i in range(len(ds))]
    t0 = time.perf_counter()
    for s in samples:
        generate_pseudo_labels(model, s.image, s.boxes)
    dt = time.perf_counter() - t0
    print(f"pseudo labels (tiny backbone, {a.size}x{a.size}, CRF 10 it.): {len(samples) / dt:.2f} images / s")
    print(f"load average after: {os.getloadavg()}")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
