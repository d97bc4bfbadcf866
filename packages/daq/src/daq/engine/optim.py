"""The two optimizers and schedulers of the official script (spec §3, §6)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from daq.quant.surgery import param_groups

__all__ = ["build_optimizers"]


def build_optimizers(model: nn.Module, cfg: Any) -> tuple[list[torch.optim.Optimizer], list[Any]]:
    """SGD (momentum 0.9, no nesterov, weight decay incl. BN) on network weights and Adam
    (lr ``q_lr``, betas (0.9, 0.999), eps 1e-8, no decay) on bounds/scales; both with
    ``CosineAnnealingLR(T_max, eta_min=0)`` stepped once per epoch. Adam is omitted for an FP model.
    """
    model_group, quant_group = param_groups(model, cfg.lr, cfg.q_lr, cfg.weight_decay)
    opts: list[torch.optim.Optimizer] = [
        torch.optim.SGD(model_group["params"], lr=cfg.lr, momentum=cfg.momentum, nesterov=False,
                        weight_decay=cfg.weight_decay)
    ]
    if quant_group["params"]:
        opts.append(torch.optim.Adam(quant_group["params"], lr=cfg.q_lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0))
    t_max = cfg.t_max or cfg.epochs
    scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=max(1, t_max), eta_min=0.0) for o in opts]
    return opts, scheds
