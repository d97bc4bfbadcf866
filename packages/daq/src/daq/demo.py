"""``daq demo``: full precision vs DAQ W2A2 vs STE W2A2 on an embedded synthetic image set.

No download: a seeded 10-class set of 16x16 gray images (class patterns + noise) is generated on
the fly. A small 3-conv net is trained in full precision, then fine-tuned from that start with
DAQ (distance-aware soft rounding) and with a plain straight-through (STE) quantizer of the same
form (same bounds, scale, init and optimizers; only the rounding gradient differs). Prints the
three test accuracies and writes ``demo.png``: per-quantizer weight-level histograms and the
accuracy bars.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DemoConfig", "run_demo"]


@dataclass
class DemoConfig:
    n_train: int = 2000
    n_test: int = 1000
    size: int = 16
    noise: float = 90.0
    width: int = 16
    batch_size: int = 64
    fp_steps: int = 300
    q_steps: int = 300
    bits: int = 2
    lr: float = 0.05
    q_lr: float = 1e-3
    seed: int = 0


def _data(cfg: DemoConfig):
    from daq.data.synthetic import synthetic

    def tensors(train: bool, n: int):
        ds = synthetic(n, train=train, size=cfg.size, channels=1, seed=cfg.seed, noise=cfg.noise)
        xs = torch.stack([ds[i][0] for i in range(len(ds))])
        return xs, ds.targets.clone()

    return tensors(True, cfg.n_train), tensors(False, cfg.n_test)


def _fit(model: nn.Module, data, cfg: DemoConfig, steps: int, lr: float, seed: int) -> None:
    from daq.quant.surgery import initialize, param_groups

    x, y = data
    g = torch.Generator().manual_seed(seed)
    mg, qg = param_groups(model, lr, cfg.q_lr, 1e-4)
    opts = [torch.optim.SGD(mg["params"], lr=lr, momentum=0.9, weight_decay=1e-4)]
    if qg["params"]:
        opts.append(torch.optim.Adam(qg["params"], lr=cfg.q_lr))
        initialize(model, x[: cfg.batch_size])
    scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=steps) for o in opts]
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(y), (cfg.batch_size,), generator=g)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss.backward()
        for o in opts:
            o.step()
        for s in scheds:
            s.step()


@torch.no_grad()
def _accuracy(model: nn.Module, data) -> float:
    model.eval()
    x, y = data
    return 100.0 * float((model(x).argmax(1) == y).float().mean())


def _level_histogram(model: nn.Module) -> list[int]:
    from daq.quant.surgery import daq_layers

    counts = None
    for _, m in daq_layers(model):
        codes, recipe = m.weight_codes()
        c = torch.bincount(codes.flatten().long(), minlength=recipe["steps"] + 1)
        counts = c if counts is None else counts + c
    return counts.tolist() if counts is not None else []


def _draw(path: Path, accs: dict[str, float], hists: dict[str, list[int]], bits: int) -> Path:
    from PIL import Image, ImageDraw

    from cvcore.viz import save_png

    W, H, pad = 720, 300, 40
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    colors = {"full precision": (90, 90, 90), "DAQ": (31, 119, 180), "STE": (255, 127, 14)}
    # left: weight-level histograms (fraction of weights per level), DAQ and STE side by side
    d.text((pad, 10), f"W{bits} weight levels (fraction of weights)", fill="black")
    d.text((pad, 24), "blue: DAQ   orange: STE", fill="black")
    x0, y0, pw, ph = pad, 40, 300, 200
    d.rectangle([x0, y0, x0 + pw, y0 + ph], outline="black")
    names = [n for n in ("DAQ", "STE") if hists.get(n)]
    levels = len(next(iter(hists.values()))) if hists else 0
    for li in range(levels):
        for j, n in enumerate(names):
            frac = hists[n][li] / max(1, sum(hists[n]))
            bw = pw / max(1, levels) / (len(names) + 1)
            bx = x0 + li * pw / levels + (j + 0.5) * bw
            d.rectangle([bx, y0 + ph - frac * ph, bx + bw, y0 + ph], fill=colors[n])
        d.text((x0 + (li + 0.3) * pw / max(1, levels), y0 + ph + 5), f"{(2 * li - (levels - 1)) / (levels - 1):+.2f}",
               fill="black")
    # right: accuracy bars
    x1 = 400
    d.text((x1, 10), "test accuracy (%)", fill="black")
    d.rectangle([x1, y0, x1 + 280, y0 + ph], outline="black")
    for i, (n, a) in enumerate(accs.items()):
        bx = x1 + 20 + i * 90
        d.rectangle([bx, y0 + ph - a / 100 * ph, bx + 60, y0 + ph], fill=colors[n])
        d.text((bx, y0 + ph - a / 100 * ph - 14), f"{a:.1f}", fill="black")
        d.text((bx, y0 + ph + 5), n if len(n) < 10 else "FP", fill="black")
    import numpy as np

    return save_png(path, np.asarray(img))


def run_demo(cfg: DemoConfig, out_dir: str | Path | None = None, log: Any = None) -> dict[str, Any]:
    """Run the demo; returns ``{"full precision", "DAQ", "STE"}`` accuracies (and the PNG path)."""
    from cvcore.seed import seed_everything
    from daq.models.small import small_net

    seed_everything(cfg.seed)
    train, test = _data(cfg)
    fp = small_net(None, None, width=cfg.width)
    _fit(fp, train, cfg, cfg.fp_steps, cfg.lr, cfg.seed)
    accs = {"full precision": _accuracy(fp, test)}
    if log:
        log(f"full precision: {accs['full precision']:.1f} %")
    hists = {}
    for name, est in (("DAQ", "dasr"), ("STE", "ste")):
        seed_everything(cfg.seed + 1)
        q = small_net(cfg.bits, cfg.bits, width=cfg.width, estimator=est)
        q.load_state_dict(copy.deepcopy(fp.state_dict()), strict=False)
        _fit(q, train, cfg, cfg.q_steps, cfg.lr / 5, cfg.seed + 1)
        accs[name] = _accuracy(q, test)
        hists[name] = _level_histogram(q)
        if log:
            log(f"W{cfg.bits}A{cfg.bits} {name}: {accs[name]:.1f} %")
    result: dict[str, Any] = {"top1": accs, "bits": cfg.bits, "weight_level_counts": hists}
    if out_dir is not None:
        result["png"] = str(_draw(Path(out_dir) / "demo.png", accs, hists, cfg.bits))
    return result
