"""The EWGS discretizer: hard rounding forward (E2), element-wise gradient scaling backward (E5).

Official counterpart: ``EWGS_discretizer`` / ``STE_discretizer`` in ``custom_modules.py``.
"""

from __future__ import annotations

from typing import Literal

import torch

from ewgs.errors import QuantizationError

__all__ = ["Backward", "EWGSDiscretizer", "STEDiscretizer", "ewgs_round", "num_steps"]

Backward = Literal["ewgs", "ste"]


def num_steps(bits: int) -> int:
    """``B = 2^b − 1``: the number of quantization steps of a ``b``-bit quantizer (E2)."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 8:
        raise QuantizationError(f"bits must be an integer in 1..8, got {bits!r}")
    return (1 << bits) - 1


class EWGSDiscretizer(torch.autograd.Function):
    """``x_q = round(B·x_n)/B`` (round half to even); backward ``g·(1 + δ·sign(g)·(x_n − x_q))``.

    The discretization error ``x_n − x_q`` is computed in the forward without a graph (the
    gradient never flows through it) and δ is read at forward time, as in the official code.
    """

    @staticmethod
    def forward(ctx, x_n: torch.Tensor, steps: int, delta: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x_q = torch.round(x_n * steps).div_(steps)
        ctx.save_for_backward((x_n - x_q).detach(), delta.detach().clone())
        return x_q

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        err, delta = ctx.saved_tensors
        if not bool(delta != 0):
            return g, None, None  # δ = 0: exactly STE, bit for bit
        return g * (1 + delta.to(g.dtype) * torch.sign(g) * err), None, None


class STEDiscretizer(torch.autograd.Function):
    """Same forward as :class:`EWGSDiscretizer`, identity backward (``baseline=True``)."""

    @staticmethod
    def forward(ctx, x_n: torch.Tensor, steps: int) -> torch.Tensor:  # type: ignore[override]
        return torch.round(x_n * steps).div_(steps)

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        return g, None


def ewgs_round(
    x_n: torch.Tensor, bits: int, delta: float | torch.Tensor = 0.0, *, backward: Backward = "ewgs"
) -> torch.Tensor:
    """Discretize normalized values (E2) with the EWGS (E5) or STE backward.

    Args:
        x_n: normalized values, any shape, expected in ``[0, 1]``.
        bits: ``b`` in 1..8 (``2^b`` levels, ``B = 2^b − 1`` steps).
        delta: scaling factor δ ≥ 0 (float or 0-dim tensor); ignored by ``backward="ste"``.
        backward: ``"ewgs"`` or ``"ste"``.

    Returns:
        ``x_q`` with the shape and dtype of ``x_n``, values in ``{0, 1/B, ..., 1}`` for inputs in
        ``[0, 1]``. Backward: ``∂L/∂x_n = g·(1 + δ·sign(g)·(x_n − x_q))``, ``sign(0) = 0``.
    """
    steps = num_steps(bits)
    if not (torch.is_grad_enabled() and x_n.requires_grad):
        return torch.round(x_n * steps) / steps  # no graph needed (eval, export): plain forward
    if backward == "ste":
        return STEDiscretizer.apply(x_n, steps)
    if backward != "ewgs":
        raise QuantizationError(f"backward must be 'ewgs' or 'ste', got {backward!r}")
    if not torch.is_tensor(delta):
        delta = torch.tensor(float(delta), dtype=x_n.dtype, device=x_n.device)
    return EWGSDiscretizer.apply(x_n, steps, delta)
