"""One-cycle learning-rate / β1 schedule of ``adam_onecycle`` (E35; official ``OneCycle``)."""

from __future__ import annotations

import math

#: Defaults of the released config: DIV_FACTOR 10, PCT_START 0.4, MOMS (0.95, 0.85); final lr = lr_max/10/1e4.
DIV_FACTOR = 10.0
FINAL_DIV = 1e4
PCT_START = 0.4
MOMS = (0.95, 0.85)


def cosanneal(a: float, b: float, f: float) -> float:
    """b + (a − b)·(1 + cos(π f))/2: equals a at f = 0 and b at f = 1 (E35)."""
    return b + (a - b) * (1 + math.cos(math.pi * f)) / 2


class OneCycleSchedule:
    """lr(t) and β1(t) for t = 0..T−1 with T1 = floor(pct_start·T) (E35)."""

    def __init__(self, lr_max: float, total_steps: int, div_factor: float = DIV_FACTOR,
                 pct_start: float = PCT_START, moms: tuple[float, float] = MOMS) -> None:
        if total_steps < 2:
            raise ValueError("the one-cycle schedule needs at least 2 steps")
        self.lr_max, self.total = lr_max, total_steps
        self.t1 = max(int(math.floor(pct_start * total_steps)), 1)
        self.lr_lo = lr_max / div_factor
        self.lr_end = lr_max / div_factor / FINAL_DIV
        self.moms = moms

    def _phase(self, t: int) -> tuple[int, float]:
        if t < self.t1:
            return 0, t / self.t1
        return 1, (t - self.t1) / max(self.total - self.t1, 1)

    def lr(self, t: int) -> float:
        phase, f = self._phase(t)
        return cosanneal(self.lr_lo, self.lr_max, f) if phase == 0 else cosanneal(self.lr_max, self.lr_end, f)

    def beta1(self, t: int) -> float:
        phase, f = self._phase(t)
        hi, lo = self.moms
        return cosanneal(hi, lo, f) if phase == 0 else cosanneal(lo, hi, f)

    def apply(self, optimizer, t: int) -> None:
        """Set lr and β1 of every param group before iteration ``t`` (stepped before each iteration, §3.9)."""
        for group in optimizer.param_groups:
            group["lr"] = self.lr(t)
            beta2 = group.get("betas", (0.9, 0.99))[1]
            group["betas"] = (self.beta1(t), beta2)


def make_optimizer(params, lr: float = 3e-3, weight_decay: float = 0.01, beta2: float = 0.99, eps: float = 1e-8):
    """E36 optimiser: decoupled weight decay w ← w·(1 − lr·wd) on every parameter (biases and BN included), then
    Adam with betas (β1(t), 0.99), eps 1e-8. ``torch.optim.AdamW`` applies exactly this order."""
    import torch

    return torch.optim.AdamW(list(params), lr=lr, betas=(MOMS[0], beta2), eps=eps, weight_decay=weight_decay)


def optimizer_step(parameters, optimizer, schedule: OneCycleSchedule | None, t: int, grad_clip: float = 10.0) -> float:
    """One E36 update after ``backward()``: schedule lr/β1 for iteration t, clip the gradient norm, step.

    Returns the total gradient norm before clipping.
    """
    import torch

    if schedule is not None:
        schedule.apply(optimizer, t)
    params = [p for p in parameters if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, grad_clip) if grad_clip > 0 else torch.tensor(0.0)
    optimizer.step()
    return float(norm)
