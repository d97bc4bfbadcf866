"""The PISR student: a plain FSRCNN plus training-only variance heads (E5), and its init (section 3 #7)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from pisr.models.fsrcnn import FSRCNN
from pisr.models.teacher import PISRTeacher
from pisr.models.variance_head import VarianceHead, VarianceMode

__all__ = ["PISRStudent", "StudentOutput", "init_student_from_teacher"]


class StudentOutput(NamedTuple):
    """``sr`` ``(N, 1, s*h, s*w)``; ``features`` stage -> tensor; ``mu``/``rho`` layer -> head output."""

    sr: torch.Tensor
    features: dict[str, torch.Tensor]
    mu: dict[str, torch.Tensor]
    rho: dict[str, torch.Tensor]


def _channels(module: nn.Module) -> int:
    # Official: out-channels of the last 4-D weight of the distilled stage (vid_module.py).
    ch = None
    for p in module.parameters():
        if p.ndim == 4:
            ch = p.shape[1] if isinstance(module, nn.ConvTranspose2d) else p.shape[0]
    if ch is None:
        raise ValueError("the distilled stage has no convolution weight")
    return int(ch)


class PISRStudent(nn.Module):
    """FSRCNN backbone whose ``distill_layers`` outputs feed :class:`VarianceHead` s (E5).

    The SR output continues from the stage output itself, never from ``mu``. The heads are
    dropped by :meth:`to_fsrcnn` for deployment. ``backbone`` may be any module exposing
    ``stage_names``/``stages()``/``scale`` (pluggable backbone, spec section 12).
    """

    def __init__(
        self,
        scale: int,
        d: int = 56,
        s: int = 12,
        m: int = 4,
        distill_layers: Sequence[str] = ("expanding",),
        variance_mode: VarianceMode = "none",
        *,
        backbone: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone if backbone is not None else FSRCNN(scale, 1, d, s, m)
        self.scale = int(self.backbone.scale)
        unknown = [n for n in distill_layers if n not in self.backbone.stage_names]
        if unknown:
            raise ValueError(f"unknown distill layer {unknown[0]!r}; stages are {self.backbone.stage_names}")
        self.distill_layers = tuple(distill_layers)
        self.heads = nn.ModuleDict(
            {n: VarianceHead(_channels(getattr(self.backbone, n)), variance_mode) for n in self.distill_layers}
        )

    def forward(self, lr: torch.Tensor) -> StudentOutput:
        """LR Y ``(N, 1, h, w)`` -> :class:`StudentOutput`."""
        feats: dict[str, torch.Tensor] = {}
        mu: dict[str, torch.Tensor] = {}
        rho: dict[str, torch.Tensor] = {}
        x = lr
        for name, module in self.backbone.stages():
            x = module(x)
            feats[name] = x
            if name in self.heads:
                mu[name], rho[name] = self.heads[name](x)
        return StudentOutput(x, feats, mu, rho)

    def to_fsrcnn(self) -> FSRCNN:
        """A deep copy of the backbone alone (heads dropped): the deployed network."""
        return copy.deepcopy(self.backbone)


@torch.no_grad()
def init_student_from_teacher(student: PISRStudent | FSRCNN, teacher: PISRTeacher) -> None:
    """Copy every decoder stage (all of FSRCNN) of ``teacher`` into ``student``; encoder and heads untouched.

    Raises:
        ValueError: if the architectures differ (shapes are checked per tensor).
    """
    target = student.backbone if isinstance(student, PISRStudent) else student
    src = teacher.decoder.state_dict()
    dst = target.state_dict()
    if set(src) != set(dst):
        raise ValueError("student backbone and teacher decoder have different layers")
    for k, v in src.items():
        if dst[k].shape != v.shape:
            raise ValueError(f"shape mismatch for {k}: student {tuple(dst[k].shape)} vs teacher {tuple(v.shape)}")
        dst[k].copy_(v)
