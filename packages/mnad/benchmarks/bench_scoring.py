"""Benchmark: (1) the vectorised memory update (E4) against a straightforward per-item loop
(the structure of the official ``get_update_query``), (2) scoring frames per second at 256x256 on
CPU with the full-size prediction model (batch 1, test-time update on, as in ``Evaluate.py``).

    python packages/mnad/benchmarks/bench_scoring.py [--threads 2] [--frames 20] [--width 64] [--device cuda]

Not a test: prints timings, the speed-up ratio and peak memory (max RSS). On a GPU the per-item
loop synchronises with the host once per item (``nonzero``); ``--device cuda`` measures that case.
"""

from __future__ import annotations

import argparse
import platform

import torch
import torch.nn.functional as F

from cvcore.bench import interleaved, peak_rss_mib, time_call
from mnad.functional import apply_update, memory_update
from mnad.models import MNADPredictor
from mnad.scores import frame_mse, weighted_regular_score


def loop_aggregate(q: torch.Tensor, items: torch.Tensor, v: torch.Tensor, nearest: torch.Tensor) -> torch.Tensor:
    """Per-item loop (structure of the official ``get_update_query``): for each item, boolean
    indexing of its assigned queries, weights ``V / max V``, sum; then add and normalise."""
    delta = torch.zeros_like(items)
    for m in range(items.shape[0]):
        idx = torch.nonzero(nearest == m)
        if idx.shape[0]:
            delta[m] = torch.sum((v[idx, m] / torch.max(v[:, m])) * q[idx].squeeze(1), dim=0)
    return F.normalize(items + delta, dim=1)


def loop_update(q: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """Full reference: scores and both softmaxes (as the official ``get_score``), then the loop."""
    s = q @ items.t()
    v = torch.softmax(s, dim=0)
    nearest = torch.topk(torch.softmax(s, dim=1), 1, dim=1).indices[:, 0]
    return loop_aggregate(q, items, v, nearest)


def compare(fa, fb, repeat: int, device: torch.device) -> tuple[float, float]:
    """Seconds per call of ``fa`` and ``fb``, in alternating rounds (best of five)."""
    t = interleaved({"a": fa, "b": fb}, repeat, rounds=5, device=device)
    return t["a"], t["b"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    args = ap.parse_args()
    dev = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gpu = f", {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else ""
    print(f"machine: {platform.processor() or platform.machine()}{gpu}, torch {torch.__version__}, threads {args.threads}")

    c = 8 * args.width
    n = 4 * (args.size // 8) ** 2  # one training batch of 4 frames: 4 x 32 x 32 queries at 256x256
    rows = []
    for label, nq in (("train batch (4 frames)", n), ("test frame (1 frame)", n // 4)):
        q = F.normalize(torch.randn(nq, c), dim=1).to(dev)
        # items near a few queries, so that every item is chosen by some queries (realistic)
        items = F.normalize(q[torch.randperm(nq)[:10]] + 0.5 * F.normalize(torch.rand(10, c), dim=1).to(dev), dim=1)
        torch.testing.assert_close(memory_update(q, items), loop_update(q, items), atol=1e-5, rtol=1e-5)
        s = q @ items.t()
        v = torch.softmax(s, dim=0)
        nearest = torch.topk(torch.softmax(s, dim=1), 1, dim=1).indices[:, 0]
        rows.append((f"{label}, full", nq, *compare(lambda: memory_update(q, items),  # noqa: B023 - called at once
                                                    lambda: loop_update(q, items), args.repeat, dev)))  # noqa: B023
        rows.append((f"{label}, aggregation", nq, *compare(lambda: apply_update(q, items, s, nearest),  # noqa: B023
                                                           lambda: loop_aggregate(q, items, v, nearest),  # noqa: B023
                                                           args.repeat, dev)))
    print("\nmemory update (E4), M = 10 items, C =", c,
          "\n  full = similarities + nearest items + aggregation; aggregation = the per-item step alone")
    print(f"{'case':<38}{'queries':>8}{'vectorised ms':>15}{'loop ms':>10}{'speed-up':>10}")
    for label, nq, tv, tl in rows:
        print(f"{label:<38}{nq:>8}{tv * 1e3:>15.3f}{tl * 1e3:>10.3f}{tl / tv:>9.1f}x")
    # the floor: any update must compute the (N, C) x (C, M) similarities, one pass over the queries
    print("\nfloor: the similarity product alone (the faster of Q P^T and P Q^T), and the largest")
    print("speed-up any update that must compute it could reach against the loop (loop full / product)")
    for label, nq in (("train batch (4 frames)", n), ("test frame (1 frame)", n // 4)):
        q = F.normalize(torch.randn(nq, c), dim=1).to(dev)
        items = F.normalize(torch.rand(10, c), dim=1).to(dev)
        t_prod = min(compare(lambda: q @ items.t(), lambda: items @ q.t(), args.repeat, dev))  # noqa: B023
        t_loop = time_call(lambda: loop_update(q, items), args.repeat, device=dev)  # noqa: B023
        print(f"{label:<38}{nq:>8}  product {t_prod * 1e3:.3f} ms, loop full {t_loop * 1e3:.3f} ms"
              f" -> at most {t_loop / t_prod:.1f}x")

    model = MNADPredictor(width=args.width).eval().to(dev)
    items = model.memory.items.clone()
    x = (torch.rand(1, 12, args.size, args.size) * 2 - 1).to(dev)
    target = (torch.rand(1, 3, args.size, args.size) * 2 - 1).to(dev)

    @torch.no_grad()
    def score_one() -> None:
        nonlocal items
        out = model(x, update_memory=False, items=items)
        frame_mse(out.frame, target)
        if weighted_regular_score(out.frame, target) < 1.0:  # always update: worst case
            items = memory_update(out.query, items)

    t_frame = time_call(score_one, max(args.frames, 1), device=dev)
    print(f"\nscoring at {args.size}x{args.size}, width {args.width} "
          f"({sum(p.numel() for p in model.parameters()):,} parameters): "
          f"{1 / t_frame:.2f} frames/s ({t_frame * 1e3:.0f} ms/frame)")
    print(f"peak memory (max RSS): {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
