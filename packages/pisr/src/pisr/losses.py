"""PISR losses: reconstruction and imitation L1 (E4), Laplace/Gaussian distillation NLL (E6, E6'), (E7)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import torch
import torch.nn.functional as F

__all__ = [
    "GAUSSIAN_SCALE",
    "LAPLACE_SCALE",
    "NLL_EPS",
    "StudentLoss",
    "TeacherLoss",
    "gaussian_nll",
    "imitation_loss",
    "laplace_nll",
    "reconstruction_loss",
]

LAPLACE_SCALE = 0.1  # b = 0.1 * softplus + eps (official losses/loss_factory.py, vid_loss)
GAUSSIAN_SCALE = 1e-3  # v = 0.001 * softplus + eps
NLL_EPS = 1e-8


def reconstruction_loss(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """Mean absolute error (first terms of E4 and E7); any matching shapes."""
    if sr.shape != hr.shape:
        raise ValueError(f"sr {tuple(sr.shape)} and hr {tuple(hr.shape)} differ in shape")
    return F.l1_loss(sr, hr)


def imitation_loss(lr_code: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
    """Mean |E(Y_HR) - Y_LR| (second term of E4); the code is cropped to the LR size if larger."""
    code = lr_code[..., : lr.shape[-2], : lr.shape[-1]]
    if code.shape != lr.shape:
        raise ValueError(f"encoder code {tuple(lr_code.shape)} does not cover the LR image {tuple(lr.shape)}")
    return F.l1_loss(code, lr)


def laplace_nll(
    mu: torch.Tensor, rho: torch.Tensor, target: torch.Tensor, *,
    scale: float = LAPLACE_SCALE, eps: float = NLL_EPS, add_constant: bool = True,
) -> torch.Tensor:
    """(E6): mean of ``C ln(2 pi)/2 + ln(2b) + |mu - t| / b`` with ``b = scale * rho + eps``.

    Args:
        mu: ``(N, C, h, w)`` predicted mean. rho: scale >= 0, broadcastable to ``mu``
            (``(N, C, h, w)``, ``(N, C, 1, 1)``, ``(N, 1, h, w)`` or ``(N, 1, 1, 1)``).
        target: teacher feature, shape of ``mu``.
        add_constant: keep the gradient-free ``C ln(2 pi)/2`` (official; C = ``mu.shape[1]``).
    """
    if mu.shape != target.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and target {tuple(target.shape)} differ in shape")
    b = scale * rho + eps
    nll = torch.log(2 * b) + (mu - target).abs() / b
    nll = nll.expand_as(mu).mean()
    if add_constant:
        nll = nll + mu.shape[1] * math.log(2 * math.pi) / 2
    return nll


def gaussian_nll(
    mu: torch.Tensor, rho: torch.Tensor, target: torch.Tensor, *,
    scale: float = GAUSSIAN_SCALE, eps: float = NLL_EPS, add_constant: bool = True,
) -> torch.Tensor:
    """(E6'): mean of ``C ln(2 pi)/2 + ln(v)/2 + (mu - t)^2 / (2v)`` with ``v = scale * rho + eps``."""
    if mu.shape != target.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and target {tuple(target.shape)} differ in shape")
    v = scale * rho + eps
    nll = 0.5 * torch.log(v) + (mu - target) ** 2 / (2 * v)
    nll = nll.expand_as(mu).mean()
    if add_constant:
        nll = nll + mu.shape[1] * math.log(2 * math.pi) / 2
    return nll


class TeacherLoss:
    """(E4): ``lambda_rec * L1(sr_T, hr) + lambda_imit * L1(E(hr), lr)``.

    The LR image is needed only as the imitation target; ``lr=None`` is allowed only with
    ``lambda_imit = 0``. Returns ``{"loss", "rec", "imit"}`` (components weighted).
    """

    def __init__(self, lambda_rec: float = 1.0, lambda_imit: float = 1e-4) -> None:
        self.lambda_rec = lambda_rec
        self.lambda_imit = lambda_imit

    def __call__(self, out, hr: torch.Tensor, lr: torch.Tensor | None) -> dict[str, torch.Tensor]:
        rec = self.lambda_rec * reconstruction_loss(out.sr, hr)
        if lr is None:
            if self.lambda_imit != 0:
                raise ValueError("TeacherLoss needs the bicubic LR image for the imitation term (lambda_imit != 0)")
            imit = torch.zeros((), device=hr.device)
        else:
            imit = self.lambda_imit * imitation_loss(out.lr_code, lr)
        return {"loss": rec + imit, "rec": rec, "imit": imit}


class StudentLoss:
    """(E7): ``lambda_rec * L1(sr_S, hr) + lambda_distill * sum_l NLL_l``. Returns ``{"loss", "rec", "distill"}``."""

    def __init__(self, lambda_rec: float = 1.0, lambda_distill: float = 1e-6,
                 pdf: Literal["laplace", "gaussian"] = "laplace", add_constant: bool = True) -> None:
        if pdf not in ("laplace", "gaussian"):
            raise ValueError(f"pdf must be 'laplace' or 'gaussian', got {pdf!r}")
        self.lambda_rec = lambda_rec
        self.lambda_distill = lambda_distill
        self.nll = laplace_nll if pdf == "laplace" else gaussian_nll
        self.add_constant = add_constant

    def __call__(self, s_out, t_features: Mapping[str, torch.Tensor], hr: torch.Tensor) -> dict[str, torch.Tensor]:
        rec = self.lambda_rec * reconstruction_loss(s_out.sr, hr)
        distill = torch.zeros((), device=hr.device)
        for name, mu in s_out.mu.items():
            distill = distill + self.nll(mu, s_out.rho[name], t_features[name], add_constant=self.add_constant)
        distill = self.lambda_distill * distill
        return {"loss": rec + distill, "rec": rec, "distill": distill}
