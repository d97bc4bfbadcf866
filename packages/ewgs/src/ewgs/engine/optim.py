"""Two optimizers as in ``train_quant.py`` (§6): model group and quantizer group (Adam, no decay)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ewgs.config import OptimConfig
from ewgs.quant.surgery import param_groups

__all__ = ["Optimizers", "build_optimizers"]


class Optimizers:
    """The model optimizer + schedule and the quantizer optimizer + schedule, stepped together.

    ``state_dict()``/``load_state_dict()`` cover all four, so ``cvcore.checkpoint`` resumes them.
    Schedulers are stepped once per epoch (``epoch_end``), as the official scripts do.
    """

    def __init__(self, model: nn.Module, cfg: OptimConfig) -> None:
        groups = param_groups(model, cfg.lr, cfg.q_lr, cfg.weight_decay)
        mp, qp = groups[0]["params"], groups[1]["params"]
        if cfg.optimizer == "adam":  # L2 added to the gradient (torch.optim.Adam), not decoupled
            self.model = torch.optim.Adam(mp, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            self.model = torch.optim.SGD(mp, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        self.quant = torch.optim.Adam(qp, lr=cfg.q_lr, weight_decay=0.0) if qp else None
        self.schedulers = [self._schedule(o, cfg) for o in (self.model, self.quant) if o is not None]

    @staticmethod
    def _schedule(opt: torch.optim.Optimizer, cfg: OptimConfig) -> Any:
        if cfg.scheduler == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1), eta_min=0.0)
        if cfg.scheduler == "step":
            return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.milestones), gamma=0.1)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _e: 1.0)

    def zero_grad(self) -> None:
        self.model.zero_grad(set_to_none=True)
        if self.quant is not None:
            self.quant.zero_grad(set_to_none=True)

    def step(self) -> None:
        self.model.step()
        if self.quant is not None:
            self.quant.step()

    def epoch_end(self) -> None:
        for s in self.schedulers:
            s.step()

    def lrs(self) -> dict[str, float]:
        out = {"lr": self.model.param_groups[0]["lr"]}
        if self.quant is not None:
            out["q_lr"] = self.quant.param_groups[0]["lr"]
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer_m": self.model.state_dict(),
                "optimizer_q": self.quant.state_dict() if self.quant is not None else None,
                "schedulers": [s.state_dict() for s in self.schedulers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["optimizer_m"])
        if self.quant is not None:
            self.quant.load_state_dict(state["optimizer_q"])
        for s, st in zip(self.schedulers, state["schedulers"]):
            s.load_state_dict(st)


def build_optimizers(model: nn.Module, cfg: OptimConfig) -> Optimizers:
    """:class:`Optimizers` for ``model`` (call after :func:`ewgs.initialize`)."""
    return Optimizers(model, cfg)
