"""Deployment: a ``torch.export`` program of the scoring step.

The exported module takes one clip and the current test memory and returns the predicted frame,
the feature distance (E9) and the memory updated with this frame's queries (E4); the caller keeps
the memory and applies the update when the weighted regular score (E10) is below gamma.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from mnad.functional import memory_update

__all__ = ["ScoringStep", "export_program"]


class ScoringStep(nn.Module):
    """``(x (1, in, H, W), items (M, C)) -> (frame (1, 3, H, W), dist (), new_items (M, C))``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if model.memory is None:
            raise ValueError("ScoringStep needs a model with memory")
        self.model = model.eval()
        self.normalize = model.memory.normalize

    def forward(self, x: Tensor, items: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        out = self.model(x, update_memory=False, items=items)
        return out.frame, out.compactness, memory_update(out.query, items, normalize=self.normalize)


def export_program(model: nn.Module, path: str | os.PathLike[str], *, size: int) -> Path:
    """Export ``ScoringStep(model)`` for ``size x size`` frames to ``path`` (``.pt2``)."""
    from cvcore.io import atomic_write_with

    step = ScoringStep(model)
    x = torch.zeros(1, model.in_channels, size, size)
    with torch.no_grad():
        program = torch.export.export(step, (x, model.memory.items.detach().clone()))
    return atomic_write_with(path, lambda f: torch.export.save(program, f))
