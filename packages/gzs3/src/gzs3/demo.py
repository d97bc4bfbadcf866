"""``gzs3 demo``: zero-shot segmentation of synthetic scenes, end to end, on CPU (spec §11).

Trains the tiny encoder on seen classes only (images with unseen classes never exist in the
training set), once with boundary-aware regression (r = 0.25) and once with the plain center
loss (r = 1), then scores both with nearest-prototype prediction and with Apollonius
calibration on scenes that contain every class, and writes a picture.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from cvcore import cli
from cvcore.config import load_config
from cvcore.errors import UserError

__all__ = ["run_demo"]


def _row(name: str, s: dict[str, Any]) -> str:
    m = s["miou"]
    return f"{name:<28} {100 * m['seen']:6.1f} {100 * m['unseen']:7.1f} {100 * m['harmonic']:9.1f}"


def run_demo(args: argparse.Namespace) -> int:
    from cvcore.viz import image_grid, save_png
    from gzs3.config import TrainConfig, preset_path
    from gzs3.engine import Decision, evaluate, train
    from gzs3.engine.builders import build_class_setup, build_datasets
    from gzs3.visualize import colorize, overlay

    if args.threads is None:
        torch.set_num_threads(1)  # small convolutions: one thread is faster on 2-core machines
    sets = list(args.set or [])
    if args.quick:
        sets = ["optim.epochs=1", "data.synthetic_train=8", "data.synthetic_val=4", "optim.batch_size=4",
                "data.synthetic_size=32"] + sets
    if args.epochs:
        sets.append(f"optim.epochs={args.epochs}")
    if args.images:
        sets.append(f"data.synthetic_train={args.images}")
    if args.seed is not None:
        sets.append(f"seed={args.seed}")
    cfg = load_config(TrainConfig, args.config or preset_path("synthetic_tiny"), sets)
    if cfg.data.dataset != "synthetic":
        raise UserError('the demo runs on synthetic data only (data.dataset = "synthetic")')
    out = Path(args.output_dir) if args.output_dir else Path("gzs3_demo")
    out.mkdir(parents=True, exist_ok=True)
    decisions = [Decision("nearest prototype", "none"), Decision("apollonius", "apollonius", cfg.eval.sigma)]
    results: dict[str, Any] = {}
    models = {}
    for name, ratio in (("bar", cfg.loss.ratio), ("center", 1.0)):
        run_cfg = load_config(TrainConfig, None, [f"loss.ratio={ratio}", "eval_at_end=false"], base=cfg)
        with tempfile.TemporaryDirectory() as tmp:
            train(run_cfg, tmp, device=args.device)
            from gzs3.checkpoints import load_trained

            model, _, _ = load_trained(Path(tmp) / "last.pt")
        setup = build_class_setup(run_cfg)
        _, val = build_datasets(run_cfg, setup, train=False)
        results[name] = evaluate(model, val, decisions)
        models[name] = (model, val)
    print(f"{'synthetic GZS3 (mIoU %)':<28} {'seen':>6} {'unseen':>7} {'harmonic':>9}", file=sys.stderr)
    for name, label in (("center", "L_center"), ("bar", "L_bar")):
        for d in decisions:
            print(_row(f"{label} + {d.name}", results[name][d.name]), file=sys.stderr)
    model, val = models["bar"]
    tiles = []
    for i in range(min(4, len(val))):
        img_u8, lab = val.sample(i)
        x, _ = val[i]
        d = model.distances(x[None])
        nn_pred = model.decide(d, "none")[0].numpy()
        ac_pred = model.decide(d, "apollonius", cfg.eval.sigma)[0].numpy()
        tiles += [img_u8, colorize(lab), overlay(img_u8, nn_pred, model.unseen), overlay(img_u8, ac_pred, model.unseen)]
    png = save_png(out / "demo.png", image_grid(tiles, ncols=4))
    summary = {
        "unseen_classes": [model.class_names[u] for u in model.unseen],
        "picture": str(png),
        "columns": "image | ground truth | nearest prototype | Apollonius calibration (unseen outlined)",
    }
    for name in ("bar", "center"):
        for d in decisions:
            m = results[name][d.name]["miou"]
            summary[f"{name}/{d.name}"] = {k: m[k] for k in ("seen", "unseen", "harmonic")}
    cli.emit(summary, argparse.Namespace(output_dir=out), name="demo_metrics.json")
    return 0
