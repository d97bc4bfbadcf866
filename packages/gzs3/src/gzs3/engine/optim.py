"""Optimisers and the epoch-wise poly schedule (spec §3.12, §3.13)."""

from __future__ import annotations

import torch

from gzs3.config import OptimConfig
from gzs3.joint_embedding import JointEmbeddingModel

__all__ = ["build_optimizers", "epoch_lr", "set_epoch_lr"]


def epoch_lr(base: float, epoch: int, epochs: int, power: float = 0.9) -> float:
    """lr of 1-based ``epoch``: ``base * (1 - (epoch - 1) / epochs) ** power`` (not per iteration)."""
    if not 1 <= epoch <= epochs:
        raise ValueError(f"epoch must be in 1..{epochs}, got {epoch}")
    return base * (1.0 - (epoch - 1) / epochs) ** power


def build_optimizers(model: JointEmbeddingModel, cfg: OptimConfig) -> tuple[torch.optim.SGD, torch.optim.Adam]:
    """SGD (backbone lr, ASPP + decoder + classifier lr x head_lr_mult) and Adam (semantic encoder)."""
    backbone, head = model.visual.parameter_groups()
    sgd = torch.optim.SGD(
        [{"params": backbone, "lr": cfg.lr, "base_lr": cfg.lr},
         {"params": head, "lr": cfg.lr * cfg.head_lr_mult, "base_lr": cfg.lr * cfg.head_lr_mult}],
        lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
    )
    adam = torch.optim.Adam(model.semantic.parameters(), lr=cfg.gen_lr)
    return sgd, adam


def set_epoch_lr(sgd: torch.optim.Optimizer, epoch: int, cfg: OptimConfig) -> list[float]:
    """Put the poly lr of ``epoch`` into every SGD group (Adam stays constant)."""
    lrs = []
    for group in sgd.param_groups:
        group["lr"] = epoch_lr(group["base_lr"], epoch, cfg.epochs, cfg.poly_power)
        lrs.append(group["lr"])
    return lrs
