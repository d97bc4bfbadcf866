"""Benchmark: ``sfnet match`` throughput at 320 x 320 on CPU, and kernel soft argmax vs a plain reference.

Run: ``python packages/sfnet/benchmarks/bench_match.py [--threads 2] [--repeats 3] [--backbone resnet101]``.
Not a test: prints timings, their ratio and peak memory (max RSS); asserts only that the two
kernel-soft-argmax implementations agree.
"""

from __future__ import annotations

import argparse
import math
import platform

import torch

from cvcore.bench import peak_rss_mib, time_call
from sfnet.argmax import kernel_soft_argmax
from sfnet.models.sfnet import SFNet


def reference_kernel_soft_argmax(corr: torch.Tensor, beta: float, sigma: float) -> torch.Tensor:
    """(E5) written out query by query, the way the equations read (the plain reference)."""
    b, p, h, w = corr.shape
    ht = wt = int(math.isqrt(p))
    xs = torch.linspace(-1, 1, wt)
    ys = torch.linspace(-1, 1, ht)
    cx = torch.arange(wt, dtype=corr.dtype).repeat(ht)
    cy = torch.arange(ht, dtype=corr.dtype).repeat_interleave(wt)
    out = torch.empty(b, h, w, 2)
    for i in range(b):
        for y in range(h):
            for x in range(w):
                c = corr[i, :, y, x]
                q = int(c.argmax())
                k = torch.exp(-((cx - cx[q]) ** 2 + (cy - cy[q]) ** 2) / (2 * sigma**2))
                s = k * c
                prob = torch.exp(beta * (s - s.max()))
                prob = prob / prob.sum()
                out[i, y, x, 0] = (prob * xs.repeat(ht)).sum()
                out[i, y, x, 1] = (prob * ys.repeat_interleave(wt)).sum()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backbone", default="resnet101", choices=("resnet101", "tiny"))
    ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, {a.threads} threads")

    model = SFNet(backbone=a.backbone).eval()  # random weights: timing only
    x = torch.randn(a.batch, 3, 320, 320)
    y = torch.randn(a.batch, 3, 320, 320)
    with torch.no_grad():
        t_match = time_call(lambda: model(x, y), a.repeats)
    print(f"match ({a.backbone}, 320x320, batch {a.batch}): {t_match * 1000:.0f} ms/batch = "
          f"{a.batch / t_match:.2f} pairs/s")

    corr = torch.rand(a.batch, 400, 20, 20)
    t_fast = time_call(lambda: kernel_soft_argmax(corr, 50.0, 5.0), max(a.repeats, 10))
    t_ref = time_call(lambda: reference_kernel_soft_argmax(corr, 50.0, 5.0), a.repeats)
    diff = (kernel_soft_argmax(corr, 50.0, 5.0) - reference_kernel_soft_argmax(corr, 50.0, 5.0)).abs().max()
    assert diff < 1e-4, diff
    print(f"kernel soft argmax 20x20 -> 20x20: vectorised {t_fast * 1000:.2f} ms, reference {t_ref * 1000:.1f} ms, "
          f"speed-up x{t_ref / t_fast:.0f} (max diff {float(diff):.1e})")
    print(f"peak memory (max RSS): {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
