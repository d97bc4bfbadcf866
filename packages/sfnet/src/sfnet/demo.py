"""``sfnet demo``: SFNet end to end on scikit-image photographs, on CPU, in about two minutes.

Builds object-on-texture composites with exact masks (:mod:`sfnet.data.composites`), trains the
adaptation layers of the tiny backbone on synthetic affine pairs with the SFNet losses, and scores
PCK on held-out synthetic pairs with known ground truth beside the identity (zero flow) and the
untrained model. Writes ``demo.png`` (source, target, warps, flow) and ``demo_adaptation.pt``
(official ``state_dict1/2`` layout) and ``demo_model.pt`` (a full checkpoint for ``sfnet match``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from cvcore.io import atomic_write_with
from cvcore.progress import get_logger
from cvcore.viz import save_png, side_by_side
from sfnet.config import TrainConfig
from sfnet.engine.train import _training_data, build_model, synthetic_pck, train_one_epoch
from sfnet.losses import SFNetLoss
from sfnet.visualize import flow_picture, warp_image

__all__ = ["demo_config", "run_demo"]


def demo_config(seed: int = 0, n_images: int = 24, size: int = 160) -> TrainConfig:
    cfg = TrainConfig(seed=seed, device="cpu")
    cfg.model.backbone, cfg.model.pretrained, cfg.model.feature_size = "tiny", "none", (size // 16, size // 16)
    cfg.data.synthetic_demo, cfg.data.demo_images, cfg.data.demo_size, cfg.data.val_synthetic = True, n_images, size, 8
    cfg.optim.batch_size, cfg.optim.lr = 4, 1e-3
    return cfg


def _panel(model_before, model_after, val, n: int = 2) -> np.ndarray:
    rows = []
    for i in range(min(n, len(val))):
        it = val[i]
        src, tgt = it["image1_rgb"], it["image2_rgb"]
        size = tuple(src.shape[-2:])
        with torch.no_grad():
            g0 = model_before(it["image1"][None], it["image2"][None]).grid_t2s[0]
            g1 = model_after(it["image1"][None], it["image2"][None]).grid_t2s[0]
        gt = it["gt_grid_t2s"]
        tiles = [src, tgt, warp_image(src, gt), warp_image(src, g0), warp_image(src, g1), flow_picture(g1, size)]
        labels = ["source", "target", "warp: truth", "warp: untrained", "warp: trained", "flow t->s"]
        rows.append(side_by_side(tiles, labels))
    return np.concatenate(rows, axis=0)


def run_demo(output_dir: Path, *, epochs: int = 10, n_images: int = 24, seed: int = 0, size: int = 160,
             checkpoint: Path | None = None, verbose: bool = False) -> dict[str, Any]:
    """Train briefly (unless ``checkpoint`` holds adaptation weights) and report PCK@0.1 / PCK@0.05."""
    log = get_logger("sfnet", verbose)
    torch.manual_seed(seed)
    cfg = demo_config(seed, n_images, size)
    train, val = _training_data(cfg, None)
    untrained = build_model(cfg).eval()
    model = build_model(cfg)
    model.load_state_dict(untrained.state_dict())
    start = time.monotonic()
    history = []
    if checkpoint is not None:
        model.load_official_checkpoint(checkpoint)  # adaptation weights of an earlier demo (same seed)
    else:
        opt = torch.optim.Adam(model.adaptation_parameters(), lr=cfg.optim.lr)
        loss_fn = SFNetLoss()
        gen = torch.Generator().manual_seed(seed)
        for epoch in range(epochs):
            train.set_epoch(epoch)
            stats = train_one_epoch(model, DataLoader(train, batch_size=cfg.optim.batch_size, shuffle=True,
                                                      generator=gen), loss_fn, opt, torch.device("cpu"),
                                    desc=f"demo epoch {epoch + 1}/{epochs}")
            history.append(round(stats["loss"], 4))
            log.info("demo epoch %d/%d: loss %.4f", epoch + 1, epochs, stats["loss"])
    model.eval()
    result: dict[str, Any] = {}
    with torch.no_grad():
        for alpha in (0.1, 0.05):
            result[f"pck@{alpha}"] = {"identity": synthetic_pck(None, val, alpha),
                                      "untrained": synthetic_pck(untrained, val, alpha),
                                      "sfnet": synthetic_pck(model, val, alpha)}
    output_dir.mkdir(parents=True, exist_ok=True)
    png = save_png(output_dir / "demo.png", _panel(untrained, model, val))
    atomic_write_with(output_dir / "demo_adaptation.pt", lambda f: torch.save(model.adaptation_state_dict(), f))
    from sfnet import __version__
    from sfnet.engine.inference import save_model

    save_model(output_dir / "demo_model.pt", model, cfg, __version__, demo=True)
    result.update({"train_loss": history, "epochs": epochs if checkpoint is None else 0, "train_images": len(train),
                   "val_pairs": len(val), "image_size": size, "backbone": "tiny", "png": str(png),
                   "seconds": round(time.monotonic() - start, 1)})
    return result
