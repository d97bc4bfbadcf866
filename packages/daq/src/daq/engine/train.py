"""Training loop of the official CIFAR-10 script (spec §3, §6), device- and DDP-agnostic.

Per epoch: train (cross-entropy on the logits; SGD on network weights + Adam on quantizer
parameters), evaluate on the test set, step both cosine schedulers, write ``last.pt`` (atomic,
with optimizers, schedulers and RNG so ``--resume`` continues bit for bit), ``best.pt``,
``metrics.json`` (per-epoch loss, top-1/top-5, learning rates, per-layer |s| and bounds;
``best_top1``, ``last_top1``) and ``config.toml`` beside them.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from cvcore.errors import CheckpointError, ConfigError, UserError
from daq.config import TrainConfig, bits_or_none
from daq.engine.evaluate import evaluate
from daq.engine.optim import build_optimizers

__all__ = ["build_model", "layer_stats", "load_pretrained", "load_weights", "train"]


def build_model(m: Any, in_channels: int = 3) -> nn.Module:
    """The network of a :class:`daq.config.ModelConfig`."""
    import daq.models as M

    kw = dict(gamma_w=m.gamma_w, sigma_w=m.sigma_w, gamma_a=m.gamma_a, sigma_a=m.sigma_a, compat=m.compat)
    wb, ab = bits_or_none(m.w_bits), bits_or_none(m.a_bits)
    try:
        if m.arch == "resnet20":
            return M.resnet20(wb, ab, num_classes=m.num_classes, width=m.width, in_channels=in_channels, **kw)
        if m.arch == "small_net":
            return M.small_net(wb, ab, num_classes=m.num_classes, width=m.width, in_channels=in_channels, **kw)
        if m.arch in ("resnet18", "resnet34", "mobilenet_v2"):
            if in_channels != 3:
                raise ConfigError(f"{m.arch} expects RGB images; use resnet20 or small_net for gray images")
            extra = {"skip_first": m.skip_first, "skip_last": m.skip_last} if m.arch != "mobilenet_v2" else {}
            if m.arch == "mobilenet_v2" and (not m.skip_first or not m.skip_last):
                extra = {}
            return M.get(m.arch, w_bits=wb, a_bits=ab, num_classes=m.num_classes, **extra, **kw)
    except ValueError as exc:
        raise ConfigError(f"invalid model settings: {exc}") from exc
    raise ConfigError(f"unknown arch {m.arch!r}; choose resnet20, resnet18, resnet34, mobilenet_v2 or small_net")


def load_weights(model: nn.Module, path: str | Path, *, strict: bool = True) -> dict[str, Any]:
    """Load a daq checkpoint (``cvcore`` format) or an official DAQ file into ``model``."""
    from cvcore.checkpoint import load_checkpoint, restore
    from daq import __version__

    p = Path(path)
    try:
        ckpt = load_checkpoint(p, package="daq", version=__version__)
    except CheckpointError as exc:
        if "not a cvcore checkpoint" not in str(exc):
            raise
        from daq.checkpoint import load_official_checkpoint

        return load_official_checkpoint(p, model, strict=strict)
    if strict:
        restore(ckpt, model=model, rng=False)
    else:
        own = model.state_dict()
        bad = [k for k, v in ckpt["model"].items() if k in own and own[k].shape != v.shape]
        if bad:
            raise CheckpointError(f"{p} does not fit this model: {bad[0]} has shape {tuple(ckpt['model'][bad[0]].shape)}")
        keep = {k: v for k, v in ckpt["model"].items() if k in own}
        if not keep:
            raise CheckpointError(f"{p} shares no parameters with this model")
        model.load_state_dict(keep, strict=False)
    return ckpt


def load_pretrained(model: nn.Module, path: str | Path) -> None:
    """Full-precision initialisation: copy every matching tensor; quantizer parameters keep their
    construction values so that E13 runs on the first training batch (official behaviour)."""
    load_weights(model, path, strict=False)


def layer_stats(model: nn.Module) -> dict[str, dict[str, float]]:
    """``{layer: {"scale": |s|, "w_lower", "w_upper", "a_lower", "a_upper"}}`` of every DAQ layer."""
    from daq.quant.surgery import daq_layers

    out = {}
    for name, m in daq_layers(model):
        d = {"scale": float(m.scale.detach().abs())} if m.is_quantized else {}
        for k in ("w_lower", "w_upper", "a_lower", "a_upper"):
            if hasattr(m, k):
                d[k] = float(getattr(m, k).detach())
        out[name] = d
    return out


def _loaders(cfg: TrainConfig, train_ds, test_ds, num_workers: int):
    from cvcore.distributed import make_sampler

    sampler = make_sampler(train_ds, shuffle=True, seed=cfg.seed)
    test_sampler = make_sampler(test_ds, shuffle=False)
    train_loader = DataLoader(train_ds, batch_size=cfg.data.batch_size, shuffle=sampler is None, sampler=sampler,
                              num_workers=num_workers, drop_last=False)
    test_loader = DataLoader(test_ds, batch_size=cfg.data.eval_batch_size, shuffle=False, sampler=test_sampler,
                             num_workers=num_workers)
    return train_loader, test_loader, sampler


def train(
    cfg: TrainConfig, output_dir: str | Path, *, resume: str | Path | None = None, num_workers: int = 0,
    log: Any = None,
) -> dict[str, Any]:
    """Train (or continue) a DAQ model; returns the final metrics dict (also in ``metrics.json``)."""
    from cvcore import checkpoint as ck
    from cvcore.config import config_to_dict, from_dict, save_config
    from cvcore.distributed import (
        all_reduce_mean,
        cleanup,
        init_distributed,
        is_main_process,
        wrap_model,
    )
    from cvcore.io import atomic_write_json
    from cvcore.progress import progress
    from cvcore.seed import seed_everything
    from daq import __version__
    from daq.data import build_datasets
    from daq.quant.surgery import initialize

    out = Path(output_dir)
    ckpt = None
    if resume is not None:
        ckpt = ck.load_checkpoint(resume, package="daq", version=__version__)
        saved = from_dict(TrainConfig, ckpt["config"])
        saved.optim.epochs = cfg.optim.epochs  # allow extending a run; the cosine period stays saved
        cfg = saved
    if not cfg.optim.t_max:
        cfg = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, t_max=cfg.optim.epochs))
    if cfg.optim.epochs < 1:
        raise ConfigError("optim.epochs must be >= 1")
    seed_everything(cfg.seed)
    info = init_distributed(cfg.device)
    device = info.device
    train_ds, test_ds, in_ch = build_datasets(cfg.data)
    model = build_model(cfg.model, in_ch)
    if cfg.pretrained and ckpt is None:
        load_pretrained(model, cfg.pretrained)
    model.to(device)
    opts, scheds = build_optimizers(model, cfg.optim)
    start_epoch, history, best = 0, [], -math.inf
    if ckpt is not None:
        ck.restore(ckpt, model=model, rng=False)
        for o, s, os_, ss in zip(opts, scheds, ckpt["optimizer"], ckpt["scheduler"]):
            o.load_state_dict(os_)
            s.load_state_dict(ss)
        start_epoch = int(ckpt["epoch"])
        history = list(ckpt["extra"].get("history", []))
        best = float(ckpt["extra"].get("best_top1", -math.inf))
        if ckpt.get("rng") is not None:
            ck.restore_rng(ckpt["rng"])
    train_loader, test_loader, sampler = _loaders(cfg, train_ds, test_ds, num_workers)
    if info.distributed and any(not bool(m.initialized) for m in model.modules() if hasattr(m, "initialized")):
        x0, _ = next(iter(train_loader))
        initialize(model, x0.to(device))  # every rank inits; DDP then broadcasts rank 0's values
    net = wrap_model(model, info)
    if is_main_process():
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.toml")
    if log is not None:
        log(f"lr {cfg.optim.lr} (network, SGD), q_lr {cfg.optim.q_lr} (quantizer, Adam), "
            f"{cfg.optim.epochs} epochs, device {device}")
    result: dict[str, Any] = {}
    for epoch in range(start_epoch, cfg.optim.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        tot, n = torch.zeros((), dtype=torch.float64), 0
        for x, y in progress(train_loader, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}"):
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(net(x), y)
            if not torch.isfinite(loss):
                raise UserError(f"training diverged at epoch {epoch + 1}: the loss is {loss.item()}")
            for o in opts:
                o.zero_grad(set_to_none=True)
            loss.backward()
            for o in opts:
                o.step()
            tot += loss.detach().double() * len(y)
            n += len(y)
        train_loss = float(all_reduce_mean(tot / max(n, 1)))
        ev = evaluate(net, test_loader, device)
        lrs = [o.param_groups[0]["lr"] for o in opts]
        for s in scheds:
            s.step()
        best = max(best, ev["top1"])
        record = {"epoch": epoch + 1, "train_loss": train_loss, "test_loss": ev["loss"], "top1": ev["top1"],
                  "top5": ev["top5"], "lr": lrs[0], "q_lr": lrs[1] if len(lrs) > 1 else None,
                  "layers": layer_stats(model)}
        history.append(record)
        result = {"best_top1": best, "last_top1": ev["top1"], "last_top5": ev["top5"], "epochs": history}
        if is_main_process():
            ck.save_checkpoint(out / "last.pt", package="daq", version=__version__, model=model,
                               optimizer=[o.state_dict() for o in opts], scheduler=[s.state_dict() for s in scheds],
                               config=config_to_dict(cfg), epoch=epoch + 1,
                               extra={"history": history, "best_top1": best})
            if ev["top1"] >= best:
                ck.save_checkpoint(out / "best.pt", package="daq", version=__version__, model=model,
                                   config=config_to_dict(cfg), epoch=epoch + 1, save_rng=False,
                                   extra={"top1": ev["top1"]})
            atomic_write_json(out / "metrics.json", result)
        if log is not None:
            log(f"epoch {epoch + 1}: loss {train_loss:.4f} | top1 {ev['top1']:.2f} | best {best:.2f}")
    cleanup()
    return result
