"""Throughput of IS-GAN's training steps (each stage) and of feature extraction, on CPU.

    python packages/isgan/benchmarks/bench_isgan.py [--threads 2] [--full]

Compares, in the same run, the package's stage-2 step with a plain reference loop written here
(same modules, straightforward code: separate forward passes for D's real and fake images and
no detached reuse) and reports images per second plus peak resident memory. Not a test.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch
import torch.nn.functional as F

from isgan import ISGAN
from isgan.losses import ISGANLoss
from isgan.steps import adversarial_step, stage1_step
from isgan.trainer import TrainConfig, build_optimizers


def _time(fn, reps: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def reference_stage2_step(model: ISGAN, opt, opt_d, x, y) -> None:
    """A plain re-implementation of one stage-2 iteration, without the package's helpers."""
    enc, g, d = model.encoder, model.generator, model.discriminator
    opt.zero_grad()
    out = enc(x)
    j = torch.tensor([i + 1 if i % 4 != 3 else i - 3 for i in range(x.shape[0])])  # fixed partner
    fakes = [g(out.id_feat, out.nid_feat, y), g(out.id_feat[j], out.nid_feat, y),
             g(torch.cat([out.id_feat[j][:, :64], out.id_feat[:, 64:]], 1), out.nid_feat, y)]
    opt_d.zero_grad()
    p, lg = d(torch.tanh(x))
    loss_d = F.binary_cross_entropy(p, torch.full_like(p, 0.85)) + 0.5 * F.cross_entropy(lg, y)
    for f in fakes:
        p, lg = d(f.detach())
        loss_d = loss_d + F.binary_cross_entropy(p, torch.full_like(p, 0.15)) + 0.5 * F.cross_entropy(lg, y)
    loss_d.backward()
    opt_d.step()
    loss = 0.0
    for f in fakes:
        p, lg = d(f)
        loss = loss + F.binary_cross_entropy(p, torch.ones_like(p)) + 2 * F.cross_entropy(lg, y)
        loss = loss + 10 * (f - torch.tanh(x)).abs().mean()
    kl = sum(0.5 * (m.pow(2) + lv.exp() - lv - 1).sum() for m, lv in zip(out.mu, out.logvar)) / 8
    (loss + 1e-3 * kl).backward()
    opt.step()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time ResNet-50 extraction at 384x128")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    demo = dict(backbone="tiny", feat_id=32, feat_nid=8, noise_dim=16, g_width=8, d_width=8)
    model = ISGAN(8, (192, 128), **demo)
    x = torch.randn(16, 3, 192, 128)
    y = torch.arange(4).repeat_interleave(4)
    cfg, loss = TrainConfig(), ISGANLoss()
    rows = []
    for stage in (1, 2, 3):
        model.set_stage(stage).train()
        opt, opt_d, _, _ = build_optimizers(model, cfg, stage)
        if stage == 1:
            t = _time(lambda: stage1_step(model, opt, x, y), args.reps)
        else:
            t = _time(lambda: adversarial_step(model, opt, opt_d, x, y, stage, loss), args.reps)
        rows.append((f"stage {stage} step (demo size)", 16 / t))
    model.set_stage(2).train()
    opt, opt_d, _, _ = build_optimizers(model, cfg, 2)
    t_ref = _time(lambda: reference_stage2_step(model, opt, opt_d, x, y), args.reps)
    rows.append(("stage 2 reference loop", 16 / t_ref))
    model.eval()
    with torch.no_grad():
        t = _time(lambda: model.embed(x), args.reps)
    rows.append(("extract, demo model 192x128", 16 / t))
    if args.full:
        full = ISGAN(751).eval()
        xb = torch.randn(8, 3, 384, 128)
        with torch.no_grad():
            t = _time(lambda: full.embed(xb), 1)
        rows.append(("extract, ResNet-50 384x128 (flip)", 8 / t))
    print(f"{'what':40s} images/s")
    for name, ips in rows:
        print(f"{name:40s} {ips:8.1f}")
    print(f"stage-2 step vs reference: {rows[1][1] / rows[3][1]:.2f}x")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
