"""Throughput of IS-GAN's training steps (each stage) and of feature extraction, on CPU.

    python packages/isgan/benchmarks/bench_isgan.py [--threads 1] [--full] [--record]

Times one training step of each stage at the demo size (tiny model, 96x48, batch 16 = 4 x 4) and
compares, in the same run, the package's stage-2 step with a plain reference loop written here
(same modules, straightforward code: fixed partners and soft-label constants, no helpers), and
feature extraction (``extract``: data loader, flip sum, normalisation) with a plain tensor loop;
``--full`` adds ResNet-50 extraction at the paper's 384x128. Reports images per second and peak
resident memory; ``--record`` writes them into ``benchmarks.json`` beside the package README,
next to the paper's reported results. Not a test.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cvcore.bench import peak_rss_mib, time_call
from isgan import ISGAN
from isgan.losses import ISGANLoss
from isgan.steps import adversarial_step, stage1_step
from isgan.trainer import TrainConfig, build_optimizers


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


def reference_extract(model: ISGAN, x: torch.Tensor) -> torch.Tensor:
    """Plain (I12): ``normalize(φ_R(x) + φ_R(flip(x)))`` on an in-memory batch."""
    with torch.no_grad():
        f = model(x) + model(torch.flip(x, dims=[3]))
    return F.normalize(f, dim=1)


def _package_extract(model: ISGAN, folder: Path, h: int, w: int) -> None:
    from cvcore.reid import ImageRecord
    from isgan.evaluate import extract

    records = [ImageRecord(str(p), 1, 1) for p in sorted(folder.glob("*.png"))]
    extract(model, records, height=h, width=w)


def _write_images(folder: Path, n: int, h: int, w: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")


PAPER = {  # spec section 9, single query, no re-ranking [paper, not re-checked against the PDF]
    "source": "Eom & Ham, NeurIPS 2019, arXiv 1910.12003, main results table (spec isgan.md section 9)",
    "Market-1501": {"rank1": 95.2, "mAP": 87.1},
    "CUHK03-labeled (767/700)": {"rank1": 74.1, "mAP": 72.5},
    "CUHK03-detected (767/700)": {"rank1": 72.5, "mAP": 70.0},
    "DukeMTMC-reID": {"rank1": 90.0, "mAP": 79.5},
    "ablations": "not copied: the PDF could not be checked offline (spec section 9 asks to copy them after checking)",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time ResNet-50 extraction at 384x128")
    ap.add_argument("--record", action="store_true", help="write the results into benchmarks.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from isgan.demo import DEMO_SIZE

    h, w = DEMO_SIZE
    demo = dict(backbone="tiny", feat_id=32, feat_nid=8, noise_dim=16, g_width=8, d_width=8, dropout=0.0)
    model = ISGAN(8, (h, w), **demo)
    x = torch.randn(16, 3, h, w)
    y = torch.arange(4).repeat_interleave(4)
    cfg, loss = TrainConfig(), ISGANLoss()
    rows = []
    for stage in (1, 2, 3):
        model.set_stage(stage).train()
        opt, opt_d, _, _ = build_optimizers(model, cfg, stage)
        if stage == 1:
            t = time_call(lambda: stage1_step(model, opt, x, y), args.reps)
        else:
            t = time_call(lambda: adversarial_step(model, opt, opt_d, x, y, stage, loss), args.reps)
        rows.append((f"stage {stage} step (demo size)", 16 / t))
    model.set_stage(2).train()
    opt, opt_d, _, _ = build_optimizers(model, cfg, 2)
    t_ref = time_call(lambda: reference_stage2_step(model, opt, opt_d, x, y), args.reps)
    rows.append(("stage 2 reference loop", 16 / t_ref))
    model.eval()
    sizes = [(h, w, model, 16)]
    if args.full:
        sizes.append((384, 128, ISGAN(751).eval(), 8))
    ratios = {}
    with tempfile.TemporaryDirectory() as tmp:
        for hh, ww, m, n in sizes:
            folder = Path(tmp) / f"{hh}x{ww}"
            folder.mkdir()
            _write_images(folder, n, hh, ww)
            reps = args.reps if m is model else 1
            label = "demo model" if m is model else "ResNet-50"
            t_pkg = time_call(lambda: _package_extract(m, folder, hh, ww), reps)
            xb = torch.randn(n, 3, hh, ww)
            t_ref = time_call(lambda: reference_extract(m, xb), reps)
            rows.append((f"extract {label} {hh}x{ww}, batch {n} (files, flip)", n / t_pkg))
            rows.append((f"extract reference {label} {hh}x{ww}, batch {n} (tensors)", n / t_ref))
            ratios[f"extract {label} {hh}x{ww} vs reference"] = round(t_ref / t_pkg, 2)
    ratios = {"stage-2 step vs reference": round(rows[1][1] / rows[3][1], 2), **ratios}
    peak = peak_rss_mib()
    print(f"{'what':44s} images/s")
    for name, ips in rows:
        print(f"{name:44s} {ips:8.1f}")
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}x")
    print(f"peak RSS: {peak:.0f} MiB")
    if args.record:
        path = Path(__file__).resolve().parents[1] / "benchmarks.json"
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        data = {
            "measured": {
                "date": datetime.date.today().isoformat(), "torch": torch.__version__,
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs shared with other jobs "
                           f"(load average {load:.1f} at the end), {args.threads} thread(s)",
                "command": "python benchmarks/bench_isgan.py " + " ".join(sys.argv[1:]),
                "training_batch": 16, "demo_size": [h, w],
                "images_per_second": {name: round(ips, 2) for name, ips in rows},
                "ratios": ratios, "peak_rss_mib": round(peak),
            },
            "paper": PAPER,
        }
        path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
