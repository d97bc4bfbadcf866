"""Mixed precision for the training loops (``--amp``): ``torch.autocast`` with bfloat16 on CPU and
float16 + ``GradScaler`` on CUDA. Losses are always computed in float32 from the autocast outputs."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import torch

__all__ = ["Amp"]


class Amp:
    """Autocast context and (CUDA only) loss scaling.

    Args:
        enabled: False makes every method a plain fp32 pass-through.
        device: the training device (``torch.device`` or string).
    """

    def __init__(self, enabled: bool, device: torch.device | str) -> None:
        self.device_type = torch.device(device).type
        self.enabled = bool(enabled)
        self.dtype = torch.float16 if self.device_type == "cuda" else torch.bfloat16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.enabled and self.device_type == "cuda")

    def autocast(self) -> AbstractContextManager[Any]:
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.enabled)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """``backward`` + ``optimizer.step`` (scaled on CUDA; skipped steps on inf/NaN gradients as GradScaler does)."""
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict() if self.scaler.is_enabled() else {}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state)
