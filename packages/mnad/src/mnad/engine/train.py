"""The official training loop (``Train.py``): Adam, cosine annealing per epoch, batch 4 with
``drop_last``, loss (E7), memory updated inside every training forward."""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from cvcore import distributed as dist
from cvcore.checkpoint import load_checkpoint, restore, save_checkpoint
from cvcore.config import config_to_dict, save_config
from cvcore.errors import DataError, UserError
from cvcore.progress import MetricsLogger, get_logger, progress
from mnad.config import TrainConfig
from mnad.data.frames import ClipDataset
from mnad.models.networks import build_model

__all__ = ["CHECKPOINT_NAME", "TrainResult", "build_from_config", "split_sample", "train"]

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class TrainResult:
    """Trained model (eval mode), its final items ``(M, C)`` (None without memory), and one
    record per epoch (``epoch``, ``step``, ``loss``, ``recon``, ``compactness``, ``separateness``, ``lr``)."""

    model: nn.Module
    items: torch.Tensor | None
    history: list[dict[str, float]]
    checkpoint: Path | None = None


def build_from_config(cfg: TrainConfig) -> nn.Module:
    return build_model(cfg.method, t_length=cfg.t_length, width=cfg.width, num_items=cfg.num_items,
                       use_memory=cfg.use_memory)


def split_sample(x: torch.Tensor, method: str, channels: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, t*3, H, W)`` -> (network input, target): pred: first ``(t-1)*3`` / last 3 channels;
    recon: the frame itself for both."""
    if method == "pred":
        return x[:, :-channels], x[:, -channels:]
    return x[:, -channels:], x[:, -channels:]


def _loader(dataset: ClipDataset, cfg: TrainConfig, epoch: int, seed: int, device: torch.device) -> DataLoader:
    sampler = dist.make_sampler(dataset, shuffle=True, seed=seed, drop_last=True)
    if sampler is not None:
        sampler.set_epoch(epoch)  # type: ignore[attr-defined]
    gen = torch.Generator().manual_seed(seed * 1000 + epoch)  # order depends on (seed, epoch) only
    return DataLoader(
        dataset, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler, generator=gen,
        drop_last=len(dataset) >= cfg.batch_size * dist.get_world_size(), num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda", persistent_workers=False,
    )


def train(
    cfg: TrainConfig,
    dataset: ClipDataset,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    verbose: bool = False,
) -> TrainResult:
    """Train MNAD on normal clips.

    Args:
        cfg: the configuration (``t_length`` must equal ``dataset.t_length``).
        dataset: training clips (``(t_length*3, H, W)`` in [-1, 1]).
        output_dir: where ``checkpoint.pt`` (after every epoch, atomic), ``config.toml`` and
            ``metrics.jsonl`` go; None keeps everything in memory.
        resume: a checkpoint written by this function; training continues after its epoch with
            the same weights, items, optimiser, scheduler and RNG (bit-for-bit on CPU).

    Raises:
        DataError: too few samples; UserError: a diverging loss or an incompatible checkpoint.
    """
    from mnad import __version__

    if dataset.t_length != cfg.t_length:
        raise UserError(f"dataset t_length {dataset.t_length} differs from the config's {cfg.t_length}")
    if len(dataset) == 0:
        raise DataError("no training samples: every video is shorter than t_length frames")
    info = dist.init_distributed(cfg.device)
    device = info.device
    log = get_logger("mnad", verbose)
    start_epoch, step = 0, 0
    ckpt = None
    if resume is not None:
        ckpt = load_checkpoint(resume, package="mnad", version=__version__)
        saved = ckpt.get("config") or {}
        for key in ("method", "width", "num_items", "use_memory", "t_length", "normalize"):
            if key in saved and saved[key] != getattr(cfg, key):
                raise UserError(f"cannot resume: checkpoint has {key}={saved[key]!r}, config has {getattr(cfg, key)!r}")
        cfg = dataclasses.replace(cfg, seed=saved.get("seed", cfg.seed))
    seed = cfg.seed if cfg.seed is not None else secrets.randbelow(2**31)
    cfg = dataclasses.replace(cfg, seed=seed)
    torch.manual_seed(seed)
    model = build_from_config(cfg)
    if model.memory is not None:
        model.memory.normalize = cfg.normalize
        model.memory.reset(torch.Generator().manual_seed(seed))
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)  # items are a buffer: not optimised
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if ckpt is not None:
        restore(ckpt, model=model, optimizer=optimizer, scheduler=scheduler)
        start_epoch, step = int(ckpt["epoch"]), int(ckpt["step"])
    net = dist.wrap_model(model, info)
    out_dir = Path(output_dir) if output_dir is not None else None
    main = dist.is_main_process()
    if out_dir is not None and main:
        save_config(cfg, out_dir / "config.toml")
    logger = MetricsLogger(out_dir / "metrics.jsonl" if out_dir else None, enabled=main)
    history: list[dict[str, float]] = []
    ck_path = out_dir / CHECKPOINT_NAME if out_dir is not None else None
    done = cfg.max_iters > 0 and step >= cfg.max_iters
    for epoch in range(start_epoch, cfg.epochs):
        if done:
            break
        net.train()
        sums = torch.zeros(4, dtype=torch.float64)
        count = 0
        for x in progress(_loader(dataset, cfg, epoch, seed, device), desc=f"epoch {epoch + 1}/{cfg.epochs}"):
            x = x.to(device, non_blocking=True)
            inp, target = split_sample(x, cfg.method)
            out = net(inp, update_memory=True)
            recon = F.mse_loss(out.frame, target)
            loss = recon + cfg.lambda_compact * out.compactness + cfg.lambda_separate * out.separateness
            if not torch.isfinite(loss):
                raise UserError(f"training diverged at step {step} (loss {loss.item()}); lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            count += 1
            sums += torch.tensor([loss.item(), recon.item(), float(out.compactness.detach()), float(out.separateness.detach())],
                                 dtype=torch.float64)
            if cfg.max_iters and step >= cfg.max_iters:
                done = True
                break
        scheduler.step()
        avg = (sums / max(count, 1)).tolist()
        rec = dist.reduce_dict({"loss": avg[0], "recon": avg[1], "compactness": avg[2], "separateness": avg[3]})
        rec = {"epoch": epoch + 1, "step": step, **rec, "lr": optimizer.param_groups[0]["lr"]}
        history.append(logger.log(**rec))
        if verbose and main:
            log.debug("epoch %d: loss %.5f", epoch + 1, rec["loss"])
        if ck_path is not None and main:
            save_checkpoint(ck_path, package="mnad", version=__version__, model=model, optimizer=optimizer,
                            scheduler=scheduler, config=cfg, epoch=epoch + 1, step=step,
                            extra={"hparams": model.hparams()})
        dist.barrier()
    model.eval()
    items = model.memory.items.detach().clone() if model.memory is not None else None
    return TrainResult(model, items, history, ck_path)


def config_dict(cfg: TrainConfig) -> dict[str, Any]:
    return config_to_dict(cfg)
