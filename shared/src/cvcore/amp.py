"""Mixed precision for training loops (``--amp``): ``torch.autocast`` with bfloat16 on CPU and
float16 + ``GradScaler`` on CUDA. Callers compute their losses in float32 from the autocast outputs."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import torch

__all__ = ["Amp", "autocast_dtype"]


def autocast_dtype(device: torch.device | str) -> torch.dtype:
    """The ``--amp`` dtype: float16 on CUDA (with a ``GradScaler``), bfloat16 elsewhere (CPU)."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.bfloat16


class Amp:
    """Autocast context and (CUDA only) loss scaling.

    Args:
        enabled: False makes every method a plain fp32 pass-through.
        device: the training device (``torch.device`` or string).
    """

    def __init__(self, enabled: bool, device: torch.device | str) -> None:
        self.device_type = torch.device(device).type
        self.enabled = bool(enabled)
        self.dtype = autocast_dtype(device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.enabled and self.device_type == "cuda")

    def autocast(self) -> AbstractContextManager[Any]:
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.enabled)

    def step(self, loss: torch.Tensor, *optimizers: torch.optim.Optimizer) -> None:
        """``zero_grad`` + ``backward`` + ``step`` of each optimizer (scaled on CUDA; steps with inf/NaN
        gradients are skipped, as ``GradScaler`` does), then one scaler update."""
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        for opt in optimizers:
            self.scaler.step(opt)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict() if self.scaler.is_enabled() else {}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state)
