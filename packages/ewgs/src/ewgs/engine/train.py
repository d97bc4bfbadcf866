"""``ewgs train``: FP load → quantize → E9 init → epochs of (δ update on schedule, train, eval, save).

Order per epoch, as ``CIFAR10/train_quant.py``: at the start of epoch ``ep`` the Hessian update runs
if ``ep % update_every == 0 and ep != 0``; then one training epoch; both schedulers step; the test
set is evaluated; ``last.pt`` is written (and ``best.pt`` on improvement).

Determinism/resume: the shuffling of epoch ``e`` uses a generator seeded with ``(seed, e)``, and
every checkpoint stores all RNG states, so ``--resume last.pt`` continues bit for bit.
Under ``torchrun`` the Hessian pass runs on rank 0 and the δ buffers are broadcast.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from cvcore import distributed as dist_utils
from cvcore.checkpoint import load_checkpoint, restore, save_checkpoint, unwrap_model
from cvcore.config import config_to_dict, save_config
from cvcore.errors import CheckpointError, UserError
from cvcore.io import atomic_write_json
from cvcore.progress import MetricsLogger, progress
from cvcore.seed import seed_everything
from ewgs.config import ModelConfig, TrainConfig, bits_or_none
from ewgs.data.registry import build_datasets
from ewgs.engine.evaluate import evaluate
from ewgs.engine.optim import Optimizers
from ewgs.quant.hessian import HessianScaleUpdater
from ewgs.quant.surgery import ewgs_layers, initialize

__all__ = ["build_model", "load_pretrained", "make_loader", "train"]


def build_model(cfg: ModelConfig, num_classes: int, in_channels: int = 3) -> nn.Module:
    """The network of ``cfg`` (bits 32 = full precision)."""
    from ewgs import models

    wb, ab = bits_or_none(cfg.w_bits), bits_or_none(cfg.a_bits)
    common: dict[str, Any] = {"num_classes": num_classes}
    if cfg.arch == "resnet20":
        if wb is None and ab is None:
            return models.resnet20_fp(width=cfg.width, in_channels=in_channels, **common)
        return models.resnet20(wb, ab, width=cfg.width, backward=cfg.backward, in_channels=in_channels, **common)
    if cfg.arch == "small":
        return models.small_net(wb, ab, width=cfg.width, in_channels=in_channels, backward=cfg.backward, **common)
    if in_channels != 3:
        raise UserError(f"--arch {cfg.arch} expects 3-channel images; use resnet20 or small for gray images")
    from cvcore.quant import models as skel

    if cfg.arch in ("mobilenet_v2", "mobilenet_v2_tv"):
        fp = models.mobilenet_v2_fp(num_classes, variant="profit" if cfg.arch == "mobilenet_v2" else "torchvision")
    else:
        fp = {"resnet18": skel.resnet18, "resnet34": skel.resnet34}[cfg.arch](num_classes)
    if wb is None and ab is None:
        return fp
    from ewgs.quant.surgery import quantize_model

    return quantize_model(fp, wb, ab, skip_first=cfg.skip_first, skip_last=cfg.skip_last, backward=cfg.backward,
                          delta_w=cfg.delta_w, delta_a=cfg.delta_a, inplace=True)


def _set_deltas(model: nn.Module, cfg: ModelConfig) -> None:
    with torch.no_grad():
        for _, m in ewgs_layers(model):
            if m.w_bits is not None:
                m.delta_w.fill_(cfg.delta_w)  # type: ignore[attr-defined]
            if m.a_bits is not None:
                m.delta_a.fill_(cfg.delta_a)  # type: ignore[attr-defined]


def load_pretrained(model: nn.Module, path: str | Path) -> int:
    """Copy the tensors of an FP checkpoint (ours, official, torchvision state dict) whose key and
    shape exist in ``model`` (key intersection, as the official scripts do). Returns the count."""
    from ewgs.checkpoint import convert_official_state_dict, read_checkpoint_file

    obj = read_checkpoint_file(path)
    if isinstance(obj, dict) and obj.get("format") == "cvcore-checkpoint":
        if obj.get("package") != "ewgs":
            raise CheckpointError(f"{path} was written by package '{obj.get('package')}', not 'ewgs'")
        obj = obj["model"]
    elif isinstance(obj, dict):
        obj = obj.get("model", obj.get("state_dict", obj))
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} holds no state dict")
    sd = convert_official_state_dict(obj)
    own = model.state_dict()
    match = {k: v for k, v in sd.items() if k in own and torch.is_tensor(v) and v.shape == own[k].shape}
    if not match:
        raise CheckpointError(f"{path}: no tensor matches this model's keys and shapes (wrong architecture?)")
    model.load_state_dict(match, strict=False)
    return len(match)


def make_loader(ds: Dataset, batch_size: int, *, shuffle: bool, seed: int = 0, num_workers: int = 0,
                sampler: Any = None) -> DataLoader:
    """A DataLoader whose shuffling depends only on ``seed`` (for bit-for-bit resume)."""
    from cvcore.seed import make_generator, seed_worker

    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=num_workers, generator=make_generator(seed), worker_init_fn=seed_worker,
                      drop_last=False)


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    return (seed * 1_000_003 + epoch * 7919 + stream) % 2**63


def _delta_table(model: nn.Module) -> dict[str, list[float | None]]:
    out = {}
    for name, m in ewgs_layers(model):
        dw = float(m.delta_w) if m.w_bits is not None else None  # type: ignore[attr-defined]
        da = float(m.delta_a) if m.a_bits is not None else None  # type: ignore[attr-defined]
        out[name] = [dw, da]
    return out


def _broadcast_deltas(model: nn.Module) -> None:
    if not dist_utils.is_distributed():
        return
    import torch.distributed as dist

    for _, m in ewgs_layers(model):
        for name in ("delta_w", "delta_a"):
            if hasattr(m, name):
                dist.broadcast(getattr(m, name), src=0)


def train(
    cfg: TrainConfig, *, data_root: str | Path | None, output_dir: str | Path, device: str = "auto",
    num_workers: int = 0, resume: str | Path | None = None, max_epochs: int | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train per ``cfg``; returns the final metrics (also written to ``output_dir/metrics.json``).

    ``max_epochs`` stops after that many epochs *of this call* (the schedule still spans
    ``cfg.optim.epochs``; used to test resuming).
    """
    from ewgs import __version__

    info = dist_utils.init_distributed(device)
    dev = info.device
    out = Path(output_dir)
    seed_everything(cfg.seed)
    pair = build_datasets(cfg.data.dataset, data_root or (cfg.data.root or None), train_subset=cfg.data.train_subset,
                          test_subset=cfg.data.test_subset, augment=cfg.data.augment,
                          synthetic_size=cfg.data.synthetic_size, image_size=cfg.data.image_size)
    model = build_model(cfg.model, pair.num_classes, pair.in_channels)
    quantized = any(True for _ in ewgs_layers(model))
    ckpt = None
    if resume is not None:
        ckpt = load_checkpoint(resume, package="ewgs", version=__version__)
        if ckpt.get("config") != config_to_dict(cfg):
            raise CheckpointError(f"{resume} was trained with another configuration; resume with the same recipe")
    elif cfg.pretrained:
        n = load_pretrained(model, cfg.pretrained)
        if log:
            log(f"loaded {n} tensors from {cfg.pretrained}")
    model.to(dev)
    sampler = dist_utils.make_sampler(pair.train, shuffle=True, seed=cfg.seed)
    if ckpt is not None:
        restore(ckpt, model=model, rng=False)
    elif quantized:
        _set_deltas(model, cfg.model)
        if info.is_main:  # E9 on one augmented, shuffled training batch (rank 0; DDP broadcasts)
            init_loader = make_loader(pair.train, cfg.data.batch_size, shuffle=True,
                                      seed=_epoch_seed(cfg.seed, -1, 0), num_workers=num_workers)
            x, _ = next(iter(init_loader))
            initialize(model, x.to(dev))
    opt = Optimizers(model, cfg.optim)
    history: list[dict[str, Any]] = []
    start, best = 0, -math.inf
    if ckpt is not None:
        restore(ckpt, optimizer=opt, rng=True)
        start = int(ckpt["epoch"])
        history = list(ckpt["extra"].get("history", []))
        best = float(ckpt["extra"].get("best_top1", -math.inf))
    net = dist_utils.wrap_model(model, info)
    updater = None
    if quantized and cfg.hessian.enabled and cfg.model.backward == "ewgs":
        h = cfg.hessian
        updater = HessianScaleUpdater(model, F.cross_entropy, num_batches=h.num_batches, max_iter=h.max_iter,
                                      tol=h.tol, every_epochs=h.update_every, representative=h.representative,
                                      eps=h.eps, joint_probe=h.joint_probe, compat=h.compat)
    test_sampler = dist_utils.make_sampler(pair.test, shuffle=False)
    test_loader = make_loader(pair.test, cfg.data.test_batch_size, shuffle=False, num_workers=num_workers,
                              sampler=test_sampler)
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.toml")
    jsonl = MetricsLogger(out / "metrics.jsonl", enabled=info.is_main)
    end = cfg.optim.epochs if max_epochs is None else min(cfg.optim.epochs, start + max_epochs)
    for epoch in range(start, end):
        record: dict[str, Any] = {"epoch": epoch + 1}
        if updater is not None and updater.due(epoch):
            if info.is_main:
                hl = make_loader(pair.train, cfg.hessian.batch_size or cfg.data.batch_size, shuffle=True,
                                 seed=_epoch_seed(cfg.seed, epoch, 1), num_workers=num_workers)
                updater(hl)
                assert updater.last is not None
                record["hutchinson_samples"] = {k: list(v) for k, v in updater.last.samples.items()}
            _broadcast_deltas(model)
        if sampler is not None:
            sampler.set_epoch(epoch)
        loader = make_loader(pair.train, cfg.data.batch_size, shuffle=True, seed=_epoch_seed(cfg.seed, epoch, 0),
                             num_workers=num_workers, sampler=sampler)
        record.update(opt.lrs())
        net.train()
        loss_sum, n = 0.0, 0
        for x, y in progress(loader, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}"):
            x, y = x.to(dev), y.to(dev)
            loss = F.cross_entropy(net(x), y)
            if not torch.isfinite(loss):
                raise UserError(f"training loss became non-finite at epoch {epoch + 1}; lower the learning rate")
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * y.numel()
            n += y.numel()
        opt.epoch_end()
        record["loss"] = dist_utils.reduce_dict({"l": loss_sum / max(n, 1)})["l"]
        if cfg.eval_train:
            record["train_top1_eval_mode"] = evaluate(model, make_loader(pair.train, cfg.data.test_batch_size,
                                                                         shuffle=False), dev)["top1"]
        ev = evaluate(model, test_loader, dev)
        record.update(top1=ev["top1"], top5=ev["top5"], test_loss=ev["loss"])
        if quantized:
            record["delta"] = _delta_table(model)
        history.append(record)
        best = max(best, ev["top1"])
        jsonl.log(**record)
        if info.is_main:
            extra = {"history": history, "best_top1": best}
            save_checkpoint(out / "last.pt", package="ewgs", version=__version__, model=model, optimizer=opt,
                            config=cfg, epoch=epoch + 1, extra=extra)
            if ev["top1"] >= best:
                save_checkpoint(out / "best.pt", package="ewgs", version=__version__, model=model, config=cfg,
                                epoch=epoch + 1, extra={"best_top1": best}, save_rng=False)
        if log:
            log(f"epoch {epoch + 1}: loss {record['loss']:.4f} top1 {ev['top1']:.2f}")
    result = {"epochs": end, "best_top1": best if history else None,
              "last_top1": history[-1]["top1"] if history else None, "history": history}
    if info.is_main:
        atomic_write_json(out / "metrics.json", result)
    dist_utils.barrier()
    return result


def unwrap(model: nn.Module) -> nn.Module:
    """``model.module`` for DDP-wrapped models."""
    return unwrap_model(model)
