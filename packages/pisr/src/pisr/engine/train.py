"""The three training stages: teacher (E4), distilled student (E7) and the plain FSRCNN baseline.

Loop per epoch (clean port of spec section 3 #10): ``iters_per_epoch`` Adam steps, the cosine
schedule stepped after the epoch (or after every iteration with ``schedule="iteration"``), then
validation PSNR (crop ``s + 6``), then an atomic checkpoint ``last.pt`` with optimizer,
scheduler and RNG state, so ``resume`` continues bit-for-bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from cvcore import checkpoint as ck
from cvcore import distributed as dist
from cvcore.config import save_config
from cvcore.progress import MetricsLogger, get_logger, progress
from cvcore.seed import seed_everything, seed_worker
from pisr.config import TrainConfig
from pisr.losses import StudentLoss, TeacherLoss, reconstruction_loss
from pisr.models import FSRCNN, PISRStudent, PISRTeacher, init_student_from_teacher

__all__ = ["distill", "train_baseline", "train_teacher"]

_log = get_logger("pisr")


def _version() -> str:
    from pisr import __version__

    return __version__


def _batches(loader: DataLoader, sampler: Any, epoch: int) -> Any:
    """Batches of one epoch: a fresh pass (re-shuffled) each epoch, cycled if the epoch is longer.

    Starting every epoch from a new iterator makes the data order depend only on the RNG state at
    the epoch boundary, which the checkpoint stores: resuming is bit-for-bit.
    """
    k = 0
    while True:
        if sampler is not None:
            sampler.set_epoch(epoch * 1000 + k)
        yield from loader
        k += 1


def _fit(kind: str, model: nn.Module, cfg: TrainConfig, train_data: Dataset, val_data: Dataset | None,
         loss_fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], dict[str, torch.Tensor]],
         val_fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
         extra: dict[str, Any]) -> nn.Module:
    torch.set_flush_denormal(True)
    info = dist.init_distributed(cfg.device)
    device = info.device
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=0.0)
    t_max = cfg.epochs * (cfg.iters_per_epoch if cfg.schedule == "iteration" else 1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=cfg.lr_min)
    start_epoch, history = 0, []
    out = Path(cfg.out_dir) if cfg.out_dir else None
    if cfg.resume:
        state = ck.load_checkpoint(cfg.resume, package="pisr", version=_version())
        if state["extra"].get("kind") != kind:
            from cvcore.errors import CheckpointError

            raise CheckpointError(f"{cfg.resume} is a {state['extra'].get('kind')} checkpoint, not {kind}")
        ck.restore(state, model=model, optimizer=opt, scheduler=sched)
        start_epoch = int(state["epoch"])
        history = list(state["extra"].get("history", []))
    wrapped = dist.wrap_model(model, info)
    sampler = dist.make_sampler(train_data, shuffle=True, seed=cfg.seed or 0, drop_last=True)
    loader = DataLoader(train_data, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
                        num_workers=cfg.num_workers, drop_last=len(train_data) >= cfg.batch_size,
                        worker_init_fn=seed_worker)  # distinct NumPy streams per worker (patch offsets)
    main = dist.is_main_process()
    if out is not None and main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.toml")
    logger = MetricsLogger(out / "metrics.jsonl" if out else None, enabled=main)
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        batches = _batches(loader, sampler, epoch)
        official_order = cfg.compat == "official" and cfg.schedule == "epoch"
        if official_order:
            sched.step()
        sums: dict[str, float] = {}
        for _ in progress(range(cfg.iters_per_epoch), desc=f"{kind} {epoch + 1}/{cfg.epochs}"):
            lr_b, hr_b = next(batches)
            lr_b, hr_b = lr_b.to(device), hr_b.to(device)
            losses = loss_fn(wrapped, lr_b, hr_b)
            if not torch.isfinite(losses["loss"]):
                raise FloatingPointError(f"{kind} loss became {losses['loss'].item()} at epoch {epoch + 1}")
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            opt.step()
            if cfg.schedule == "iteration":
                sched.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
        if cfg.schedule == "epoch" and not official_order:
            sched.step()
        record: dict[str, Any] = {"epoch": epoch + 1, "lr": opt.param_groups[0]["lr"]}
        record.update({k: v / cfg.iters_per_epoch for k, v in sums.items()})
        if val_data is not None and cfg.val_every and (epoch + 1) % cfg.val_every == 0:
            record["val_psnr"] = _validate(model, val_data, cfg.scale, val_fn, device)
        history.append(record)
        logger.log(**record)
        if main:
            _log.info(" | ".join(f"{k} {v:.5g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
        if out is not None and main:
            ck.save_checkpoint(out / "last.pt", package="pisr", version=_version(), model=model, optimizer=opt,
                               scheduler=sched, config=cfg, epoch=epoch + 1, step=(epoch + 1) * cfg.iters_per_epoch,
                               extra={**extra, "kind": kind, "history": history})
    opt.zero_grad(set_to_none=True)
    vals = [r["val_psnr"] for r in history if "val_psnr" in r]
    model.train_summary = {  # type: ignore[attr-defined]
        "kind": kind, "epochs": cfg.epochs, "last_loss": history[-1].get("loss") if history else math.nan,
        "best_psnr": max(vals) if vals else None, "last_psnr": vals[-1] if vals else None, "history": history,
    }
    model.eval()
    return model


@torch.no_grad()
def _validate(model: nn.Module, val_data: Dataset, scale: int, val_fn: Callable, device: torch.device) -> float:
    from pisr.metrics import psnr_y

    was = model.training
    model.eval()
    vals = []
    for i in range(len(val_data)):
        lr, hr, _ = val_data[i]
        sr = val_fn(model, lr[None].to(device), hr[None].to(device))
        vals.append(psnr_y(sr, hr, scale, crop=scale + 6))  # DIV2K validation crop (spec section 3 #16)
    model.train(was)
    finite = [v for v in vals if math.isfinite(v)]
    return float(sum(finite) / len(finite)) if finite else float("inf")


def _seed(cfg: TrainConfig) -> None:
    # seeded before the model is built, so the initial weights are reproducible too
    if cfg.seed is not None:
        seed_everything(cfg.seed)


def _arch(cfg: TrainConfig) -> dict[str, int]:
    return {"scale": cfg.scale, "d": cfg.d, "s": cfg.s, "m": cfg.m}


def train_teacher(cfg: TrainConfig, train_data: Dataset, val_data: Dataset | None = None, *,
                  teacher: PISRTeacher | None = None) -> PISRTeacher:
    """Step 1: train :class:`PISRTeacher` with (E4) on ``(lr, hr)`` patches; returns it in eval mode."""
    _seed(cfg)
    model = teacher if teacher is not None else PISRTeacher(cfg.scale, cfg.d, cfg.s, cfg.m, cfg.k)
    crit = TeacherLoss(cfg.lambda_rec, cfg.lambda_imit)

    def loss_fn(m, lr, hr):
        return crit(m(hr), hr, lr)

    return _fit("teacher", model, cfg, train_data, val_data, loss_fn, lambda m, lr, hr: m(hr).sr,
                {"arch": {**_arch(cfg), "k": cfg.k}})


def distill(teacher: PISRTeacher, cfg: TrainConfig, train_data: Dataset, val_data: Dataset | None = None, *,
            student: PISRStudent | None = None, lambda_distill: float | None = None, pdf: str | None = None,
            variance_mode: str | None = None, distill_layers: tuple[str, ...] | None = None,
            init_from_teacher: bool | None = None) -> PISRStudent:
    """Step 2: train a :class:`PISRStudent` with (E7) against the frozen ``teacher``.

    Keyword arguments left at None take their value from ``cfg``. The teacher is put in eval
    mode with ``requires_grad_(False)`` and run under ``no_grad`` (spec section 3 #8); it sees the
    HR patch of the same crop the student sees in LR (#9). Backbone and heads are optimised (#17).
    """
    lam = cfg.lambda_distill if lambda_distill is None else lambda_distill
    pdf = cfg.pdf if pdf is None else pdf
    vmode = cfg.variance_mode if variance_mode is None else variance_mode
    layers = tuple(cfg.distill_layers if distill_layers is None else distill_layers)
    init = cfg.init_from_teacher if init_from_teacher is None else init_from_teacher
    _seed(cfg)
    if student is None:
        student = PISRStudent(cfg.scale, cfg.d, cfg.s, cfg.m, distill_layers=layers, variance_mode=vmode)
    if init:
        init_student_from_teacher(student, teacher)
    teacher.eval().requires_grad_(False)
    teacher.zero_grad(set_to_none=True)
    crit = StudentLoss(cfg.lambda_rec, lam, pdf=pdf, add_constant=cfg.add_constant)
    device = dist.resolve_device(cfg.device)
    teacher.to(device)

    def loss_fn(m, lr, hr):
        with torch.no_grad():
            t_feats = teacher(hr).features
        return crit(m(lr), t_feats, hr)

    return _fit("student", student, cfg, train_data, val_data, loss_fn, lambda m, lr, hr: m(lr).sr,
                {"arch": _arch(cfg), "distill_layers": list(layers), "variance_mode": vmode, "pdf": pdf})


def train_baseline(cfg: TrainConfig, train_data: Dataset, val_data: Dataset | None = None, *,
                   model: FSRCNN | None = None) -> FSRCNN:
    """FSRCNN from PyTorch default init with L1 only, same data and schedule (spec section 6)."""
    _seed(cfg)
    net = model if model is not None else FSRCNN(cfg.scale, 1, cfg.d, cfg.s, cfg.m)

    def loss_fn(m, lr, hr):
        rec = cfg.lambda_rec * reconstruction_loss(m(lr), hr)
        return {"loss": rec, "rec": rec}

    return _fit("baseline", net, cfg, train_data, val_data, loss_fn, lambda m, lr, hr: m(lr), {"arch": _arch(cfg)})
