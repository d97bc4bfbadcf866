"""Stage 1 (classifier with BAP, E5) and stage 3 (DeepLab with NAL, E20) training loops.

Both are iteration based, log JSON lines, write ``last.pt`` atomically with the resolved config beside it
and resume bit-for-bit (model, optimiser, sampler, augmentation generator and global RNGs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bap.config import ClassifierConfig, SegConfig
from bap.data.transforms import augment
from bap.engine.loop import BatchSampler, resume_state, save_state
from bap.models.classifier import BAPClassifier, caffe_normalize
from bap.models.deeplab import DeepLabLargeFOV, DeepLabV2ASPP, SegmentationNet
from bap.noise_aware_loss import NoiseAwareLoss
from bap.unreliable_baselines import bootstrapping_loss, entropy_regularisation_loss
from cvcore.amp import Amp
from cvcore.distributed import all_reduce_mean, init_distributed, is_main_process, wrap_model
from cvcore.progress import MetricsLogger, progress

__all__ = ["build_classifier", "build_segmenter", "seg_loss", "train_classifier", "train_segmentation"]


def build_classifier(cfg: ClassifierConfig) -> BAPClassifier:
    return BAPClassifier(cfg.num_classes, cfg.backbone, cfg.grid_size, tuple(cfg.bins), cfg.pooling, cfg.width,
                         cfg.roi_align_corners)


def build_segmenter(cfg: SegConfig) -> SegmentationNet:
    if cfg.arch == "deeplabv2":
        return DeepLabV2ASPP(cfg.num_classes, compat=cfg.compat)
    return DeepLabLargeFOV(cfg.num_classes, cfg.backbone, cfg.width)


def _to_tensor_image(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous()


def _optimizer(model: torch.nn.Module, lr: float, momentum: float, wd: float) -> torch.optim.SGD:
    return torch.optim.SGD(model.param_groups(lr, wd), lr=lr, momentum=momentum, weight_decay=wd)


def _set_lr(opt: torch.optim.Optimizer, factor: float) -> None:
    for g in opt.param_groups:
        g["lr"] = g["initial_lr"] * factor


def _sync_buffers(model: torch.nn.Module, distributed: bool) -> None:
    """After DDP training: give every rank rank 0's buffers (BatchNorm running statistics, which DDP only
    broadcasts at the start of a forward), i.e. the state the rank-0 checkpoint holds."""
    if distributed:
        import torch.distributed as dist

        for b in model.buffers():
            dist.broadcast(b, 0)


def classifier_batch(dataset: Sequence[dict[str, Any]], idx: list[int], cfg: ClassifierConfig,
                     gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Augment and collate: images ``(B, 3, S, S)``, boxes ``(K, 5)``, image index ``(K,)``, bg ``(B, S, S)``."""
    imgs, boxes, ids, masks = [], [], [], []
    for j, i in enumerate(idx):
        it = dataset[i]
        img, b, (m,) = augment(_to_tensor_image(it["image"]), torch.as_tensor(it["boxes"]).float(),
                               [torch.from_numpy(np.ascontiguousarray(it["bg_mask"]))], [0], gen, cfg.crop,
                               tuple(cfg.scale_range), cfg.jitter)
        imgs.append(caffe_normalize(img))
        boxes.append(b)
        ids.append(torch.full((b.shape[0],), j, dtype=torch.long))
        masks.append(m.float())
    return torch.stack(imgs), torch.cat(boxes), torch.cat(ids), torch.stack(masks)


def train_classifier(cfg: ClassifierConfig, dataset: Sequence[dict[str, Any]], out_dir: Path, *,
                     device: str = "cpu", resume: Path | None = None, quiet: bool | None = None) -> dict[str, Any]:
    """Stage 1: returns ``{"loss", "accuracy", "step", "checkpoint"}`` (means over the last log window)."""
    info = init_distributed(device)
    torch.manual_seed(cfg.seed)
    model = build_classifier(cfg).to(info.device)
    if cfg.backbone_weights:
        from bap.official import load_backbone_weights

        load_backbone_weights(model, cfg.backbone_weights)
    opt = _optimizer(model, cfg.lr, cfg.momentum, cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    sampler = BatchSampler(len(dataset), cfg.batch_size, gen, info.rank, info.world_size)
    amp = Amp(cfg.amp, info.device)
    step = resume_state(resume, model=model, optimizer=opt, gen=gen, sampler=sampler, kind="classifier",
                        amp=amp) if resume else 0
    net = wrap_model(model, info)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = MetricsLogger(out_dir / "log.jsonl", enabled=is_main_process())
    model.train()
    window: list[tuple[float, float]] = []
    ckpt = out_dir / "last.pt"
    start = step
    for step in progress(range(start, cfg.iters), total=cfg.iters - start, desc="stage 1", quiet=quiet):
        _set_lr(opt, cfg.lr_gamma ** sum(step >= m for m in cfg.milestones))
        images, boxes, bidx, bg = classifier_batch(dataset, sampler.next(), cfg, gen)
        with amp.autocast():
            logits, targets = net(images.to(info.device), boxes.to(info.device), bidx.to(info.device),
                                  bg.to(info.device))
        logits = logits.float()
        loss = F.cross_entropy(logits, targets)
        amp.step(loss, opt)
        acc = (logits.argmax(1) == targets).float().mean()
        window.append((float(all_reduce_mean(loss.detach())), float(acc)))
        window = window[-cfg.log_every:]
        if (step + 1) % cfg.log_every == 0:
            log.log(step=step + 1, loss=float(np.mean([w[0] for w in window])), acc=float(np.mean([w[1] for w in window])))
        if is_main_process() and ((step + 1) % cfg.save_every == 0 or step + 1 == cfg.iters):
            save_state(ckpt, model=model, optimizer=opt, step=step + 1, config=cfg, kind="classifier", gen=gen,
                       sampler=sampler, amp=amp)
    _sync_buffers(model, info.distributed)
    return {"loss": float(np.mean([w[0] for w in window])) if window else float("nan"),
            "accuracy": float(np.mean([w[1] for w in window])) if window else float("nan"),
            "step": cfg.iters, "checkpoint": str(ckpt)}


def seg_loss(cfg: SegConfig, crit: NoiseAwareLoss, s: torch.Tensor, y_crf: torch.Tensor, y_ret: torch.Tensor
             ) -> torch.Tensor:
    """The stage-3 objective of ``cfg.loss``: NAL (E20), baseline (L_ce on S only), CE on all Y_crf or Y_ret,
    entropy regularisation or bootstrapping on S~ (Table 3 baselines, not official)."""
    if cfg.loss == "nal":
        return crit(s, y_crf, y_ret).loss
    if cfg.loss == "baseline":
        return crit(s, y_crf, y_ret).ce
    if cfg.loss == "entropy":
        return entropy_regularisation_loss(s, y_crf, y_ret, temperature=cfg.temperature, lam=cfg.lam).loss
    if cfg.loss == "bootstrap":
        return bootstrapping_loss(s, y_crf, y_ret, temperature=cfg.temperature, lam=cfg.lam, beta=cfg.beta).loss
    target = y_crf if cfg.loss == "ce-crf" else y_ret
    return F.cross_entropy(cfg.temperature * s, target, ignore_index=255)


def train_segmentation(cfg: SegConfig, dataset: Sequence[dict[str, Any]], out_dir: Path, *, device: str = "cpu",
                       resume: Path | None = None, quiet: bool | None = None) -> dict[str, Any]:
    """Stage 3 on items ``{"image", "y_crf", "y_ret"}``; poly lr per iteration (§3.29)."""
    info = init_distributed(device)
    torch.manual_seed(cfg.seed)
    model = build_segmenter(cfg).to(info.device)
    if cfg.backbone_weights:
        from bap.official import load_backbone_weights

        load_backbone_weights(model, cfg.backbone_weights)
    opt = _optimizer(model, cfg.lr, cfg.momentum, cfg.weight_decay)
    crit = NoiseAwareLoss(cfg.temperature, cfg.gamma, cfg.lam, 255, cfg.detach_confidence, cfg.compat)
    gen = torch.Generator().manual_seed(cfg.seed)
    sampler = BatchSampler(len(dataset), cfg.batch_size, gen, info.rank, info.world_size)
    amp = Amp(cfg.amp, info.device)
    step = resume_state(resume, model=model, optimizer=opt, gen=gen, sampler=sampler, kind="segmenter",
                        amp=amp) if resume else 0
    net = wrap_model(model, info)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = MetricsLogger(out_dir / "log.jsonl", enabled=is_main_process())
    model.train()
    window: list[float] = []
    ckpt = out_dir / "last.pt"
    start = step
    for step in progress(range(start, cfg.iters), total=cfg.iters - start, desc="stage 3", quiet=quiet):
        _set_lr(opt, (1 - step / cfg.iters) ** cfg.power)
        imgs, ycs, yrs = [], [], []
        for i in sampler.next():
            it = dataset[i]
            img, _, (yc, yr) = augment(_to_tensor_image(it["image"]), torch.zeros(0, 5),
                                       [torch.from_numpy(np.ascontiguousarray(it["y_crf"])),
                                        torch.from_numpy(np.ascontiguousarray(it["y_ret"]))], [255, 255], gen,
                                       cfg.crop, tuple(cfg.scale_range), cfg.jitter)
            if float(torch.rand((), generator=gen)) < 0.5:  # flip (no boxes in stage 3)
                img, yc, yr = img.flip(-1), yc.flip(-1), yr.flip(-1)
            imgs.append(caffe_normalize(img))
            ycs.append(yc.long())
            yrs.append(yr.long())
        x = torch.stack(imgs).to(info.device)
        with amp.autocast():
            s = (net.module if hasattr(net, "module") else net).cosine_logits(x, (cfg.crop, cfg.crop)) \
                if not info.distributed else net(x)
        s = s.float()
        loss = seg_loss(cfg, crit, s, torch.stack(ycs).to(info.device), torch.stack(yrs).to(info.device))
        if not torch.isfinite(loss):
            from cvcore.errors import UserError

            raise UserError(f"stage-3 loss is {float(loss)} at iteration {step} (compat='official' gives NaN "
                            "for batches without unreliable pixels)")
        amp.step(loss, opt)
        window.append(float(all_reduce_mean(loss.detach())))
        window = window[-cfg.log_every:]
        if (step + 1) % cfg.log_every == 0:
            log.log(step=step + 1, loss=float(np.mean(window)))
        if is_main_process() and ((step + 1) % cfg.save_every == 0 or step + 1 == cfg.iters):
            save_state(ckpt, model=model, optimizer=opt, step=step + 1, config=cfg, kind="segmenter", gen=gen,
                       sampler=sampler, amp=amp)
    _sync_buffers(model, info.distributed)
    return {"loss": float(np.mean(window)) if window else float("nan"), "step": cfg.iters, "checkpoint": str(ckpt)}
