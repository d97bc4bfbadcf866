"""The training loop of the official ``train.py``: Adam on the adaptation blocks, MultiStepLR per epoch,
validation PCK after every epoch, best checkpoint kept; single process or DDP under ``torchrun``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from cvcore import checkpoint as ckpt_mod
from cvcore.config import save_config
from cvcore.distributed import (
    all_reduce_mean,
    barrier,
    cleanup,
    init_distributed,
    is_main_process,
    make_sampler,
    parameter_divergence,
    wrap_model,
)
from cvcore.errors import ConfigError, DataError
from cvcore.metrics import pck_per_pair
from cvcore.progress import MetricsLogger, format_summary, get_logger, progress
from cvcore.seed import make_generator, seed_everything, seed_worker
from sfnet.config import TrainConfig
from sfnet.losses import SFNetLoss
from sfnet.models.sfnet import SFNet

__all__ = ["build_model", "fit", "synthetic_pck", "train_one_epoch", "weight_checksums"]


def build_model(cfg: TrainConfig) -> SFNet:
    m = cfg.model
    pre: bool | str = False if m.pretrained in ("", "none") else (True if m.pretrained == "imagenet" else m.pretrained)
    if m.backbone == "tiny":
        pre = False
    return SFNet(feature_size=tuple(m.feature_size), beta=m.beta, kernel_sigma=m.kernel_sigma, backbone=m.backbone,
                 pretrained_backbone=pre, smoothness_mode=cfg.loss.smoothness)


def _to(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def train_one_epoch(model: torch.nn.Module, loader: DataLoader, loss_fn: SFNetLoss, optimizer: torch.optim.Optimizer,
                    device: torch.device, max_steps: int = 0, desc: str = "train") -> dict[str, float]:
    """One pass; returns the mean total loss and the three weighted components."""
    model.train()
    sums = {"loss": 0.0, "mask": 0.0, "flow": 0.0, "smooth": 0.0}
    n = 0
    total_steps = len(loader) if not max_steps else min(max_steps, len(loader))
    for step, batch in enumerate(progress(loader, total=total_steps, desc=desc)):
        if max_steps and step >= max_steps:
            break
        b = _to(batch, device)
        out = model(b["image1"], b["image2"], b["mask1"], b["mask2"])
        loss, parts = loss_fn(out, b["mask1"], b["mask2"])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {float(loss)} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums["loss"] += float(loss.detach())
        for k, v in parts.items():
            sums[k] += v
        n += 1
    means = {k: v / max(n, 1) for k, v in sums.items()}
    return {k: float(all_reduce_mean(torch.tensor(v, device=device))) for k, v in means.items()}


@torch.no_grad()
def synthetic_pck(model: torch.nn.Module | None, dataset: Dataset, alpha: float = 0.1, device: torch.device | str = "cpu"
                  ) -> float:
    """PCK on synthetic pairs with known ground truth (``return_gt=True`` dataset).

    Keypoints = the target's foreground cells whose true source location is inside the frame; the
    prediction is ``G_t2s`` at those cells; distances in pixels, ``L = max(H, W)`` of the image.
    ``model=None`` scores the identity grid (zero flow).
    """
    scores = []
    if model is not None:
        model.eval()
    for i in range(len(dataset)):
        it = dataset[i]
        gt = it["gt_grid_t2s"]
        if model is None:
            from sfnet.flow import regular_grid

            pred = regular_grid(*gt.shape[:2])
        else:
            pred = model(it["image1"][None].to(device), it["image2"][None].to(device)).grid_t2s[0].cpu()
        if pred.shape != gt.shape:
            raise ValueError(f"prediction grid {tuple(pred.shape)} does not match the ground truth {tuple(gt.shape)}")
        h, w = it["image1"].shape[-2:]
        valid = (it["mask2"][0] > 0) & (gt.abs() <= 1).all(-1)
        scale = torch.tensor([(w - 1) / 2, (h - 1) / 2])
        s = pck_per_pair(((pred + 1) * scale).reshape(-1, 2), ((gt + 1) * scale).reshape(-1, 2), float(max(h, w)),
                         alpha=alpha, valid=valid.reshape(-1))
        if not math.isnan(s):
            scores.append(s)
    return float(np.mean(scores)) if scores else float("nan")


def _training_data(cfg: TrainConfig, data_root: Path | None):
    from sfnet.data.synthetic import SyntheticPairDataset

    d = cfg.data
    size = tuple(16 * v for v in cfg.model.feature_size)
    common = dict(image_size=size, feature_size=tuple(cfg.model.feature_size), affine_std=d.affine_std)
    if d.synthetic_demo:
        from sfnet.data.composites import make_composites

        imgs, masks = make_composites(d.demo_images, size=d.demo_size, seed=cfg.seed)
        vimgs, vmasks = make_composites(d.val_synthetic, size=d.demo_size, seed=cfg.seed + 10_000)
    else:
        from sfnet.data.training_arrays import load_training_arrays

        src = Path(d.images) if d.images else data_root
        if src is None:
            raise ConfigError("no training data: set data.images (VOC2012_seg_img.npy), --data-root, "
                              "or data.synthetic_demo = true")
        if src.suffix == ".npy":
            if not src.is_file():
                raise DataError(f"training images not found: {src}")
            mpath = Path(d.masks) if d.masks else src.with_name("VOC2012_seg_msk.npy")
            if not mpath.is_file():
                raise DataError(f"training masks not found: {mpath}")
            imgs, masks = list(np.load(src, allow_pickle=True)), list(np.load(mpath, allow_pickle=True))
        else:
            imgs, masks = load_training_arrays(src)
        vimgs, vmasks = imgs[: d.val_synthetic], masks[: d.val_synthetic]
    train = SyntheticPairDataset(imgs, masks, jitter=d.jitter, hflip_p=d.hflip_p, seed=cfg.seed, **common)
    val = SyntheticPairDataset(vimgs, vmasks, jitter=0.0, hflip_p=0.0, return_gt=True, seed=cfg.seed + 1, **common)
    return train, val


def _validate(model: SFNet, cfg: TrainConfig, val_syn: Dataset, device: torch.device) -> dict[str, float]:
    if cfg.data.val_root:
        from sfnet.data.pf_pascal import PFPascal
        from sfnet.data.pf_willow import PFWillow
        from sfnet.engine.evaluate import evaluate_keypoints

        if cfg.data.val_benchmark == "pf-willow":
            ds = PFWillow(cfg.data.val_root, eval_type=cfg.data.val_eval_type, feature_size=cfg.model.feature_size)
        else:
            ds = PFPascal(cfg.data.val_root, split="val", eval_type=cfg.data.val_eval_type,
                          feature_size=cfg.model.feature_size)
        return {"val_pck": evaluate_keypoints(model, ds, device=device)["pck"]}
    return {"val_pck": synthetic_pck(model, val_syn, device=device)}


def weight_checksums(model: SFNet) -> torch.Tensor:
    """Per adaptation parameter ``(sum, sum of squares)`` in float64 -> ``2P`` vector: a cheap
    fingerprint of the trainable weights (the frozen backbone cannot drift)."""
    return torch.stack([torch.stack([p.detach().double().sum(), p.detach().double().pow(2).sum()])
                        for p in model.adaptation_parameters()]).flatten().cpu()


def fit(cfg: TrainConfig, output_dir: Path, *, data_root: Path | None = None, resume: Path | None = None,
        version: str = "0", verbose: bool = False) -> dict[str, Any]:
    """Train as the official ``train.py``; writes ``config.toml``, ``metrics.jsonl``, ``last.pt``,
    ``best.pt`` (cvcore checkpoints) and ``best_checkpoint.pt`` (official ``state_dict1/2`` layout)."""
    log = get_logger("sfnet", verbose)
    if cfg.loss.smoothness not in ("official", "per_component"):
        raise ConfigError(f"loss.smoothness must be 'official' or 'per_component', got {cfg.loss.smoothness!r}")
    if cfg.optim.batch_size < 1 or cfg.optim.epochs < 1 or not cfg.optim.lr > 0:
        raise ConfigError("optim.batch_size and optim.epochs must be >= 1 and optim.lr > 0")
    info = init_distributed(cfg.device)
    device = info.device
    try:
        seed_everything(cfg.seed)
        train_ds, val_ds = _training_data(cfg, data_root)
        model = build_model(cfg).to(device)
        ddp = wrap_model(model, info)
        loss_fn = SFNetLoss(cfg.loss.lambda_mask, cfg.loss.lambda_flow, cfg.loss.lambda_smooth, cfg.loss.smoothness)
        opt = torch.optim.Adam(model.adaptation_parameters(), lr=cfg.optim.lr)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.optim.milestones), gamma=cfg.optim.gamma)
        start, best = 0, -math.inf
        if resume is not None:
            ck = ckpt_mod.load_checkpoint(resume, package="sfnet", version=version)
            ckpt_mod.restore(ck, model=model, optimizer=opt, scheduler=sched)
            start, best = int(ck["epoch"]), float(ck["extra"].get("best", -math.inf))
            log.info("resumed from %s at epoch %d", resume, start)
        output_dir.mkdir(parents=True, exist_ok=True)
        if is_main_process():
            save_config(cfg, output_dir / "config.toml")
        logger = MetricsLogger(output_dir / "metrics.jsonl", enabled=is_main_process())
        record: dict[str, Any] = {}
        for epoch in range(start, cfg.optim.epochs):
            train_ds.set_epoch(epoch)
            sampler = make_sampler(train_ds, shuffle=True, seed=cfg.seed + epoch)
            loader = DataLoader(train_ds, batch_size=cfg.optim.batch_size, sampler=sampler,
                                shuffle=sampler is None, generator=make_generator(cfg.seed + epoch),
                                num_workers=cfg.num_workers, worker_init_fn=seed_worker, drop_last=False)
            stats = train_one_epoch(ddp, loader, loss_fn, opt, device, cfg.optim.max_steps_per_epoch,
                                    desc=f"epoch {epoch + 1}/{cfg.optim.epochs}")
            sched.step()
            val = _validate(model, cfg, val_ds, device) if is_main_process() else {"val_pck": float("nan")}
            record = logger.log(epoch=epoch + 1, lr=opt.param_groups[0]["lr"], **stats, **val)
            if info.is_main:
                log.info(format_summary({k: v for k, v in record.items() if k != "time"}, prefix="sfnet"))
            improved = not math.isnan(val["val_pck"]) and val["val_pck"] > best
            if improved:
                best = val["val_pck"]
            if is_main_process():
                extra = {"best": best, "epoch_metrics": {k: v for k, v in record.items()}}
                ckpt_mod.save_checkpoint(output_dir / "last.pt", package="sfnet", version=version, model=model,
                                         optimizer=opt, scheduler=sched, config=cfg, epoch=epoch + 1, extra=extra)
                if improved:
                    ckpt_mod.save_checkpoint(output_dir / "best.pt", package="sfnet", version=version, model=model,
                                             config=cfg, epoch=epoch + 1, extra=extra, save_rng=False)
                    from cvcore.io import atomic_write_with

                    atomic_write_with(output_dir / "best_checkpoint.pt",
                                      lambda f: torch.save(model.adaptation_state_dict(), f))
            barrier()
        sync: dict[str, Any] = {}
        if info.world_size > 1:
            ok = parameter_divergence(model.adaptation_parameters()) == 0.0  # DDP keeps replicas bit-identical
            sync = {"ranks_in_sync": ok, "weight_checksum": float(weight_checksums(model).sum())}
            if not ok:
                log.warning("the ranks ended with different adaptation weights")
        return {"epochs": cfg.optim.epochs, "best_val_pck": best if math.isfinite(best) else None,
                **{k: v for k, v in record.items() if k != "time"}, "output_dir": str(output_dir),
                "config": dataclasses.asdict(cfg)["model"], "rank": info.rank, "world_size": info.world_size,
                **sync}
    finally:
        cleanup()
