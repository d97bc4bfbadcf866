"""JoEm training loop (spec §3.5, §3.8-§3.14): one backward pass of L_bar + L_ce + alpha L_sc,
SGD for the visual encoder and Adam for the semantic encoder, epoch-wise poly lr, checkpoints
each epoch (atomic, bit-exact resume), DDP under torchrun."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

import gzs3
from cvcore import checkpoint as ckpt_lib
from cvcore import distributed as dist
from cvcore.amp import Amp
from cvcore.config import save_config
from cvcore.errors import DataError, UserError
from cvcore.progress import AverageMeter, MetricsLogger, format_summary, get_logger, progress
from cvcore.seed import make_generator, seed_everything, seed_worker
from gzs3.config import TrainConfig
from gzs3.engine.builders import ClassSetup, build_class_setup, build_datasets, build_model
from gzs3.engine.evaluate import Decision, evaluate
from gzs3.engine.optim import build_optimizers, set_epoch_lr
from gzs3.joint_embedding import JointEmbeddingModel
from gzs3.losses import JoEmLoss

__all__ = ["JoEmStep", "train"]


class JoEmStep(nn.Module):
    """Model + loss as one module, so DDP syncs both encoders' gradients.

    ``forward(images (B,3,H,W), labels (B,H,W))`` → ``(total, parts)``. With ``amp`` set to a
    dtype, the visual encoder runs under ``torch.autocast`` in that dtype; its outputs are cast
    back to float32 and the losses (BAR, CE, SC, the semantic encoder) run in float32.
    """

    def __init__(self, model: JointEmbeddingModel, loss: JoEmLoss, sc_classes: Sequence[int],
                 amp: torch.dtype | None = None) -> None:
        super().__init__()
        self.model, self.loss, self.sc_classes, self.amp = model, loss, list(sc_classes), amp

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.amp is None:
            logits, feats = self.model(images)
        else:
            with torch.autocast(images.device.type, dtype=self.amp):
                logits, feats = self.model(images)
            logits, feats = logits.float(), feats.float()
        return self.loss(logits, feats, labels, self.model.class_embeddings, self.model.semantic, self.sc_classes)


def _loader(ds: Any, cfg: TrainConfig, epoch: int, num_workers: int, world: int) -> tuple[DataLoader, Any]:
    per_rank = max(1, cfg.optim.batch_size // world)
    sampler = dist.make_sampler(ds, shuffle=True, seed=cfg.seed, drop_last=True)
    if sampler is not None:
        sampler.set_epoch(epoch)
    loader = DataLoader(ds, batch_size=per_rank, shuffle=sampler is None, sampler=sampler, drop_last=True,
                        num_workers=num_workers, worker_init_fn=seed_worker,
                        generator=make_generator(cfg.seed * 1000 + epoch))
    return loader, sampler


def train(cfg: TrainConfig, output_dir: str | Path, *, resume: str | Path | None = None, device: str = "auto",
          num_workers: int = 0, verbose: bool = False) -> dict[str, Any]:
    """Train, checkpoint ``output_dir/last.pt`` every epoch, evaluate at the end if asked.

    Returns ``{"epochs", "losses": [...per-epoch means...], "metrics": {...} | None, "checkpoint",
    "world_size", "ddp_max_param_diff"}`` (the last: :func:`cvcore.distributed.parameter_divergence` after training).
    """
    log = get_logger("gzs3", verbose)
    info = dist.init_distributed(device)
    out = Path(output_dir)
    seed_everything(cfg.seed)
    setup: ClassSetup = build_class_setup(cfg)
    train_set, val_set = build_datasets(cfg, setup, val=cfg.eval_at_end)
    if len(train_set) < cfg.optim.batch_size:
        raise DataError(f"the training set has {len(train_set)} images after removing those with unseen "
                        f"classes, fewer than the batch size {cfg.optim.batch_size}")
    model = build_model(cfg, setup)
    if info.distributed and info.device.type == "cuda":  # SyncBatchNorm needs CUDA; on CPU BN stays per rank
        model.visual = nn.SyncBatchNorm.convert_sync_batchnorm(model.visual)
    model.to(info.device)
    loss_fn = JoEmLoss(cfg.loss.ratio, cfg.loss.temperature, cfg.loss.alpha, cfg.loss.sc_reduction)
    sgd, adam = build_optimizers(model, cfg.optim)
    amp = Amp(cfg.amp, info.device)
    start_epoch, history = 0, []
    if resume is not None:
        state = ckpt_lib.load_checkpoint(resume, package="gzs3", version=gzs3.__version__)
        try:
            model.load_state_dict(state["model"])
            sgd.load_state_dict(state["optimizer"]["sgd"])
            adam.load_state_dict(state["optimizer"]["adam"])
            amp.load_state_dict(state["optimizer"].get("scaler"))
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise UserError(f"{resume} does not fit this configuration: {str(exc).splitlines()[0]}") from exc
        start_epoch = int(state["epoch"])
        history = list(state["extra"].get("history", []))
        if state.get("rng") is not None:
            ckpt_lib.restore_rng(state["rng"])
        log.info("resumed from %s at epoch %d", resume, start_epoch)
    step_module = dist.wrap_model(JoEmStep(model, loss_fn, setup.sc_classes, amp.dtype if amp.enabled else None), info)
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.toml")
    metrics_log = MetricsLogger(out / "train_log.jsonl", enabled=info.is_main)
    for epoch in range(start_epoch + 1, cfg.optim.epochs + 1):
        lrs = set_epoch_lr(sgd, epoch, cfg.optim)
        model.train()  # backbone BN stays in eval mode (DeepLabV3PlusEncoder.train)
        loader, _ = _loader(train_set, cfg, epoch, num_workers, info.world_size)
        meters = {k: AverageMeter() for k in ("loss", "bar", "ce", "sc")}
        steps = len(loader) if not cfg.optim.max_steps_per_epoch else min(len(loader), cfg.optim.max_steps_per_epoch)
        for i, (images, labels) in enumerate(progress(loader, total=steps, desc=f"epoch {epoch}")):
            if i >= steps:
                break
            images, labels = images.to(info.device), labels.to(info.device)
            total, parts = step_module(images, labels)
            if not math.isfinite(float(total.detach())):
                raise UserError(f"loss became {float(total)} at epoch {epoch} step {i}; lower the learning rate")
            amp.step(total, sgd, adam)  # the loss scale is a no-op unless CUDA float16
            meters["loss"].update(float(total.detach()), images.shape[0])
            for k, v in parts.items():
                meters[k].update(float(v), images.shape[0])
        record = dist.reduce_dict({k: m.avg for k, m in meters.items()})
        record.update(epoch=epoch, lr=lrs[0], head_lr=lrs[-1])
        history.append(record)
        metrics_log.log(**record)
        log.info(format_summary(record, prefix=f"epoch {epoch}/{cfg.optim.epochs}"))
        if info.is_main:
            ckpt_lib.save_checkpoint(
                out / "last.pt", package="gzs3", version=gzs3.__version__, model=model,
                optimizer={"sgd": sgd.state_dict(), "adam": adam.state_dict(),
                           "scaler": amp.state_dict() or None},
                config=cfg, epoch=epoch,
                extra={"class_names": setup.names, "history": history},
            )
        dist.barrier()
    divergence = dist.parameter_divergence(model)
    metrics = None
    if cfg.eval_at_end and info.is_main and val_set is not None:
        e = cfg.eval
        decisions = [Decision(e.calibration, e.calibration, e.sigma, e.gamma, e.mode)]
        if e.calibration != "none":
            decisions.append(Decision("none", "none"))
        metrics = evaluate(model, val_set, decisions, device=info.device, nan_mode=e.nan_mode)
    return {"epochs": cfg.optim.epochs, "losses": history, "metrics": metrics, "checkpoint": str(out / "last.pt"),
            "world_size": info.world_size, "ddp_max_param_diff": divergence}
