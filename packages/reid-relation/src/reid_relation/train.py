"""Training engine: the official recipe (Train.py) on cvcore's checkpoint / progress / distributed helpers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from cvcore import checkpoint as ckpt_lib
from cvcore.config import config_to_dict, save_config
from cvcore.distributed import init_distributed, wrap_model
from cvcore.errors import ConfigError, DataError
from cvcore.progress import MetricsLogger, format_summary, get_logger, progress
from cvcore.reid.data import ImageDataset, ImageRecord, ReIDDataset, build_dataset
from cvcore.reid.samplers import PKSampler
from cvcore.reid.transforms import build_train_transform
from cvcore.seed import seed_everything
from reid_relation.config import DATASETS, EvalConfig, TrainConfig
from reid_relation.losses import RelationLoss
from reid_relation.model import RelationNet

__all__ = ["Trainer", "build_model", "holdout_last_ids", "load_data", "lr_at_epoch", "make_optimizer"]

PACKAGE = "reid-relation"


def lr_at_epoch(epoch: int, base_lrs: Sequence[float], milestones: Sequence[int] = (40, 60),
                gamma: float = 0.1) -> list[float]:
    """Staircase of Train.py: at the start of epoch ``m`` (1-based) for each milestone passed,
    every group lr is multiplied by ``gamma``: epochs 1-39 → base, 40-59 → ·0.1, 60-80 → ·0.01."""
    k = sum(1 for m in milestones if epoch >= m)
    return [lr * gamma ** k for lr in base_lrs]


def make_optimizer(model: RelationNet, lr: float, backbone_lr: float, momentum: float = 0.9,
                   weight_decay: float = 5e-4) -> torch.optim.SGD:
    """SGD with two groups: ``base.*`` at ``backbone_lr`` (group 0) and new layers at ``lr``
    (group 1); weight decay on all parameters, BN included (official)."""
    base = [p for n, p in model.named_parameters() if n.startswith("base.")]
    new = [p for n, p in model.named_parameters() if not n.startswith("base.")]
    return torch.optim.SGD([{"params": base, "lr": backbone_lr}, {"params": new, "lr": lr}], lr=lr,
                           momentum=momentum, weight_decay=weight_decay)


def holdout_last_ids(train: list[ImageRecord], n: int) -> list[ImageRecord]:
    """The official default without ``--combine_trainval``: drop the last ``n`` sorted training
    identities (used as "val"); labels are kept, so the classifier size stays the full count."""
    if n <= 0:
        return train
    pids = sorted({r.pid for r in train})
    if n >= len(pids):
        raise ConfigError(f"holdout_val={n} leaves no training identity (only {len(pids)})")
    drop = set(pids[-n:])
    return [r for r in train if r.pid not in drop]


def load_data(dataset: str, root: str | os.PathLike[str], *, cuhk03_layout: str = "market",
              cuhk03_protocol: str = "new", cuhk03_split: int = 0) -> ReIDDataset:
    """Dataset by name; ``synthetic`` generates identities into ``root`` when it is empty.

    The ``cuhk03_*`` options select the CUHK03 layout / protocol / classic split (see ``cvcore.reid.CUHK03``).
    """
    if dataset not in DATASETS:
        raise ConfigError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if not root:
        raise DataError(f"no data root given for dataset {dataset!r} (use --data-root)")
    if dataset == "synthetic":
        from cvcore.reid.synthetic import make_market_like_dataset

        if not (Path(root) / "Market-1501-v15.09.15").is_dir():
            make_market_like_dataset(root, size=(192, 64))
        return build_dataset("market1501", root, check=False)
    if dataset == "openreid":
        from reid_relation.openreid_layout import OpenReIDLayout

        return OpenReIDLayout(root)
    if dataset.startswith("cuhk03"):
        return build_dataset(dataset, root, layout=cuhk03_layout, protocol=cuhk03_protocol, split_id=cuhk03_split)
    return build_dataset(dataset, root)


def build_model(cfg: TrainConfig, num_classes: int) -> RelationNet:
    w = cfg.model.weights
    pretrained: bool | str = False if w in ("", "none") else (True if w == "imagenet" else w)
    return RelationNet(num_classes, feat_dim=cfg.model.feat_dim, backbone=cfg.model.backbone,
                       last_stride=cfg.model.last_stride, pretrained_backbone=pretrained, width=cfg.model.width)


class Trainer:
    """``Trainer(cfg).fit()`` trains, checkpoints every epoch (``last.pt``, atomic, resolved
    config beside it as ``config.toml``) and returns the final metrics. Runs under ``torchrun``
    (DDP; each rank draws its own P x K sequence with seed ``seed + rank``)."""

    def __init__(self, cfg: TrainConfig, *, resume: str | os.PathLike[str] | None = None,
                 dataset: ReIDDataset | None = None) -> None:
        self.cfg, self.resume = cfg, resume
        self.log = get_logger("reid-relation")
        self.dataset = dataset

    def fit(self) -> dict[str, Any]:
        cfg = self.cfg
        info = init_distributed(cfg.device)
        device = info.device
        seed_everything(cfg.seed + info.rank)
        ds = self.dataset or load_data(cfg.data.dataset, cfg.data.root, cuhk03_layout=cfg.data.cuhk03_layout,
                                                 cuhk03_protocol=cfg.data.cuhk03_protocol,
                                                 cuhk03_split=cfg.data.cuhk03_split)
        num_classes = ds.num_train_pids
        train = holdout_last_ids(ds.train, cfg.data.holdout_val)
        model = build_model(cfg, num_classes).to(device)
        tf = build_train_transform(cfg.data.height, cfg.data.width, erasing=None if cfg.data.erasing == "none"
                                   else cfg.data.erasing, official_offset=cfg.data.official_erasing_offset)
        sampler = PKSampler([r.pid for r in train], cfg.data.batch_size, cfg.data.num_instances, cfg.data.sampler,
                            seed=cfg.seed + info.rank)
        loader = DataLoader(ImageDataset(train, tf), batch_size=cfg.data.batch_size, sampler=sampler,
                            num_workers=cfg.data.workers, drop_last=True)
        if len(loader) == 0:
            raise DataError(f"{len(train)} training images give no complete batch of {cfg.data.batch_size}")
        o = cfg.optim
        opt = make_optimizer(model, o.lr, o.backbone_lr, o.momentum, o.weight_decay)
        criterion = RelationLoss(o.margin, o.ce_weight, o.label_smoothing)
        out_dir = Path(cfg.output_dir)
        start = 1
        if self.resume:
            ck = ckpt_lib.load_checkpoint(self.resume, package=PACKAGE)
            ckpt_lib.restore(ck, model=model, optimizer=opt)
            start = int(ck["epoch"]) + 1
        net = wrap_model(model, info)
        scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and device.type == "cuda")
        metrics_log = MetricsLogger(out_dir / "metrics.jsonl" if info.is_main else None)
        if info.is_main:
            out_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, out_dir / "config.toml")
        history: list[dict[str, float]] = []
        for epoch in range(start, o.epochs + 1):
            for g, lr in zip(opt.param_groups, lr_at_epoch(epoch, (o.backbone_lr, o.lr), o.milestones, o.gamma)):
                g["lr"] = lr
            sampler.set_epoch(epoch)
            model.train()
            sums = {"loss": 0.0, "triplet": 0.0, "ce": 0.0, "acc": 0.0}
            n = 0
            for step, (x, y, _, _) in enumerate(progress(loader, desc=f"epoch {epoch}", total=len(loader))):
                if o.max_steps_per_epoch and step >= o.max_steps_per_epoch:
                    break
                x, y = x.to(device), y.to(device)
                with torch.autocast(device.type, enabled=cfg.amp and device.type == "cuda"):
                    out = net(x)
                    loss, parts = criterion(out, y)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss became {float(loss)} at epoch {epoch}, step {step}")
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                sums["loss"] += float(loss.detach())
                n += 1
                for k in ("triplet", "ce", "acc"):
                    sums[k] += parts[k]
            rec = {k: v / max(n, 1) for k, v in sums.items()}
            rec.update(epoch=epoch, lr=opt.param_groups[1]["lr"])
            history.append(rec)
            if info.is_main:
                metrics_log.log(**rec)
                self.log.info(format_summary(rec, prefix=f"epoch {epoch}"))
                ckpt_lib.save_checkpoint(out_dir / "last.pt", package=PACKAGE, version=_version(), model=model,
                                         optimizer=opt, config=cfg, epoch=epoch,
                                         extra={"num_classes": num_classes})
            if cfg.eval_every and epoch % cfg.eval_every == 0 and info.is_main:
                from reid_relation.evaluate import evaluate

                ev = evaluate(model, ds, cfg.data.height, cfg.data.width, EvalConfig(), device=device)
                metrics_log.log(epoch=epoch, **{f"eval_{k}": v for k, v in ev.items() if isinstance(v, float)})
        self.model = model
        return {"epochs": o.epochs, "history": history, "num_classes": num_classes,
                "checkpoint": str(out_dir / "last.pt"), "config": config_to_dict(cfg)}


def _version() -> str:
    from reid_relation import __version__

    return __version__
