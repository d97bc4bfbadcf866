"""The uniform quantizers around the DASR discretizer (spec E1-E3, E10, E12).

- weights: standardize (E1) -> ``t = clip(B (w~ - l) / (u - l), 0, B)`` (E2) -> DASR (E3-E9)
  -> ``Q_W = (2 t^ - B) / B`` in {-1, ..., 1} (E10);
- activations: same clip/DASR -> ``Q_A = t^ / B`` in {0, 1/B, ..., 1} (E10).

Training (``hard=False``) uses one fused autograd function per quantizer: the forward gives the
exact hard values, the backward applies E12 and the chain rule to ``x``, ``l`` and ``u``; it saves
only the input and the two bounds (no per-element buffers) and recomputes the rest.
``hard=True`` is the evaluation path (no gradient through the rounding).
"""

from __future__ import annotations

from typing import Literal

import torch

from daq.quant.dasr import Compat, _check, dasr_multiplier, dasr_soft, hard_round

__all__ = [
    "level_units",
    "num_steps",
    "quantize_act",
    "quantize_weight",
    "standardize",
]

#: Guards against a zero standard deviation of a constant weight tensor (the official code has
#: none and returns NaN; any real layer has std >> this).
STD_EPS = 1e-12


def num_steps(bits: int) -> int:
    """``B = 2^b - 1`` steps between the lowest and the highest level."""
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 16:
        raise ValueError(f"bit-width must be an integer in [1, 16], got {bits!r}")
    return 2**bits - 1


def standardize(w: torch.Tensor) -> torch.Tensor:
    """``(w - mean(w)) / std(w)`` over the whole tensor, unbiased std, statistics detached (E1)."""
    wd = w.detach()
    if w.numel() < 2:
        return w - wd.mean() if w.numel() else w
    return (w - wd.mean()) / wd.std(unbiased=True).clamp_min(STD_EPS)


def level_units(x: torch.Tensor, lower: torch.Tensor | float, upper: torch.Tensor | float, steps: int) -> torch.Tensor:
    """``t = clip((x - l) / ((u - l) / B), 0, B)`` (E2), values only (no clip gradient)."""
    return ((x - lower) / ((upper - lower) / steps)).clamp(0.0, float(steps))


class _QuantizeFunction(torch.autograd.Function):
    """Fused E2-E10 with the E12 backward; ``signed`` selects the weight grid ``(2t^ - B)/B``."""

    @staticmethod
    def forward(ctx, x, lower, upper, steps: int, gamma: float, sigma: float, signed: bool):  # type: ignore[override]
        ctx.steps, ctx.gamma, ctx.sigma, ctx.signed = steps, gamma, sigma, signed
        ctx.save_for_backward(x, lower, upper)
        q = hard_round(level_units(x, lower, upper, steps))
        return q.mul_(2.0 / steps).sub_(1.0) if signed else q.div_(steps)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, lower, upper = ctx.saved_tensors
        steps = ctx.steps
        width = upper - lower
        t = (x - lower).div_(width / steps)
        inside = (t >= 0) & (t <= steps)  # inclusive clip boundaries (spec §3)
        # g_t = dL/dt = dL/dQ * dQ/dt^ * dt^/dt, zero outside the interval
        g_t = dasr_multiplier(t, ctx.gamma, ctx.sigma).mul_(grad).mul_((2.0 if ctx.signed else 1.0) / steps)
        g_t = g_t.masked_fill_(~inside, 0.0)
        gx = gl = gu = None
        if ctx.needs_input_grad[0]:
            gx = g_t * (steps / width)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            tc = t.clamp_(0.0, float(steps))
            gsum = g_t.sum()
            gt_t = (g_t * tc).sum()
            if ctx.needs_input_grad[2]:
                gu = (-gt_t / width).reshape(upper.shape)  # dt/du = -t/(u - l)
            if ctx.needs_input_grad[1]:
                gl = ((gt_t - steps * gsum) / width).reshape(lower.shape)  # dt/dl = (t - B)/(u - l)
        return gx, gl, gu, None, None, None, None


def _soft_quantize(x, lower, upper, steps, gamma, sigma, signed, stabilize):
    """Reference soft path through autograd (explicit inclusive clip mask, spec §3)."""
    t_raw = (x - lower) / ((upper - lower) / steps)
    inside = (t_raw >= 0) & (t_raw <= steps)
    t = torch.where(inside, t_raw, t_raw.detach().clamp(0.0, float(steps)))
    th = dasr_soft(t, gamma, sigma, stabilize=stabilize)
    return (2.0 * th - steps) / steps if signed else th / steps


def _ste_quantize(x, lower, upper, steps, signed):
    """Baseline: hard rounding with the straight-through estimator (derivative 1 inside the clip)."""
    t_raw = (x - lower) / ((upper - lower) / steps)
    inside = (t_raw >= 0) & (t_raw <= steps)
    t = torch.where(inside, t_raw, t_raw.detach().clamp(0.0, float(steps)))
    th = t + (hard_round(t.detach()) - t).detach()
    return (2.0 * th - steps) / steps if signed else th / steps


def _as_tensor(v: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v.to(like.dtype) if v.dtype != like.dtype else v
    return torch.tensor(float(v), dtype=like.dtype, device=like.device)


def _quantize(x, lower, upper, bits, gamma, sigma, signed, hard, compat, impl):
    _check(gamma, sigma)
    steps = num_steps(bits)
    lower, upper = _as_tensor(lower, x), _as_tensor(upper, x)
    if hard:
        q = hard_round(level_units(x.detach(), lower.detach(), upper.detach(), steps))
        return (2.0 * q - steps) / steps if signed else q / steps
    if compat == "official":
        return _soft_quantize(x, lower, upper, steps, gamma, sigma, signed, "global")
    if compat != "default":
        raise ValueError(f"compat must be 'default' or 'official', got {compat!r}")
    if impl == "soft":
        return _soft_quantize(x, lower, upper, steps, gamma, sigma, signed, "element")
    if impl == "ste":
        return _ste_quantize(x, lower, upper, steps, signed)
    if impl != "closed_form":
        raise ValueError(f"impl must be 'closed_form', 'soft' or 'ste', got {impl!r}")
    return _QuantizeFunction.apply(x, lower, upper, steps, float(gamma), float(sigma), signed)


def quantize_weight(
    w: torch.Tensor,
    lower: torch.Tensor | float,
    upper: torch.Tensor | float,
    bits: int,
    gamma: float = 2.0,
    sigma: float = 1.0,
    *,
    hard: bool = False,
    compat: Compat = "default",
    impl: Literal["closed_form", "soft", "ste"] = "closed_form",
) -> torch.Tensor:
    """DAQ weight quantizer ``Q_W(w)`` (E1, E2, E3-E9, E10).

    Args:
        w: full-precision weight, any shape (e.g. ``(C_out, C_in/g, kh, kw)``); standardized
            per tensor inside (statistics detached).
        lower, upper: ``l_W``, ``u_W`` in standardized units (scalars, learnable).
        bits: bit-width ``b >= 1``.
        gamma, sigma: DASR constants (paper: 2 and 1 for weights).
        hard: evaluation path (no gradient through the rounding).
        compat: ``"official"`` differentiates the authors' soft computation instead.
        impl: ``"soft"`` differentiates the direct soft assignment (per-element stable; a
            reference for tests and benchmarks); ``"closed_form"`` (default) uses E12; ``"ste"`` is
            the straight-through baseline (same forward, derivative 1 inside the clip).

    Returns:
        Same shape as ``w``, values in ``{(2i - B)/B : i = 0..B}`` (``2^b`` levels in [-1, 1]).
    """
    return _quantize(standardize(w), lower, upper, bits, gamma, sigma, True, hard, compat, impl)


def quantize_act(
    a: torch.Tensor,
    lower: torch.Tensor | float,
    upper: torch.Tensor | float,
    bits: int,
    gamma: float = 2.0,
    sigma: float = 2.0,
    *,
    hard: bool = False,
    compat: Compat = "default",
    impl: Literal["closed_form", "soft", "ste"] = "closed_form",
) -> torch.Tensor:
    """DAQ activation quantizer ``Q_A(a)`` (E2, E3-E9, E10).

    Args:
        a: activation, any shape (e.g. ``(N, C, H, W)``).
        lower: ``l_A`` (0 for ReLU-fed inputs, else learnable); upper: ``u_A``.
        bits, gamma, sigma, hard, compat, impl: as in :func:`quantize_weight` (paper: sigma = 2).

    Returns:
        Same shape as ``a``, values in ``{i/B : i = 0..B}`` (``[0, 1]``; the range ``u - l`` is not
        multiplied back, E10).
    """
    return _quantize(a, lower, upper, bits, gamma, sigma, False, hard, compat, impl)
