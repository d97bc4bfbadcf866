"""The uniform quantizer around the discretizer: normalize/clip (E1), output maps (E3), init (E9).

Official counterpart: ``QConv.weight_quantization`` / ``act_quantization`` / ``initialize`` in
``custom_modules.py``.
"""

from __future__ import annotations

import math
import threading

import torch

from ewgs.errors import QuantizationError
from ewgs.quant import kernels
from ewgs.quant.ewgs_grad import Backward, num_steps

__all__ = [
    "FusedQuantizer",
    "HALF_NORMAL_STD",
    "INIT_STDS",
    "discretize_act",
    "discretize_weight",
    "init_act_bounds",
    "init_weight_bounds",
    "normalize",
    "quantize_act",
    "quantize_weight",
    "release_workspace",
]

#: ``u = 3·std`` for both quantizers (E9).
INIT_STDS = 3.0
#: std of a ReLU'd standard Gaussian: ``sqrt(1 − 2/π)`` (E9 half-normal correction).
HALF_NORMAL_STD = math.sqrt(1.0 - 2.0 / math.pi)


def normalize(x: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """E1: ``x_n = clip((x − l)/(u − l), 0, 1)`` with an *inclusive* gradient mask.

    Elements with ``0 ≤ (x − l)/(u − l) ≤ 1`` (bounds included) pass the gradient to ``x``, ``l``
    and ``u``; clipped elements pass none. This is the clamp convention of PyTorch < 2.14 that
    the official code relied on; ``torch.clamp``'s own backward is not used (PyTorch 2.14 gives 0
    at the bounds).
    """
    t = (x - lower) / (upper - lower)
    inside = (t >= 0) & (t <= 1)
    return torch.where(inside, t, t.detach().clamp(0.0, 1.0))


_WORKSPACE = threading.local()


def _workspace(like: torch.Tensor, slot: int) -> torch.Tensor:
    """An uninitialized scratch tensor like ``empty_like(like)``, reused across calls (CPU only).

    One flat buffer per thread, slot and dtype, grown to the largest request. The quantizer's
    temporaries die inside one forward/backward call, and on CPU every fresh multi-megabyte buffer
    costs more in page faults than the arithmetic on it; elsewhere (CUDA's caching allocator) a
    fresh tensor is returned. Free the buffers with :func:`release_workspace`.
    """
    if like.device.type != "cpu":
        return torch.empty_like(like)
    bufs: dict = _WORKSPACE.__dict__.setdefault("bufs", {})
    key = (slot, like.dtype)
    buf = bufs.get(key)
    if buf is None or buf.numel() < like.numel():
        bufs[key] = None  # drop the old buffer before allocating the larger one
        buf = bufs[key] = torch.empty(like.numel(), dtype=like.dtype)
    # the memory layout ``empty_like`` would give (e.g. channels-last), computed without allocating
    strides = torch.empty_like(like, device="meta").stride()
    return buf.as_strided(like.shape, strides)


def release_workspace() -> None:
    """Free this thread's scratch buffers of :class:`FusedQuantizer` (re-created on demand)."""
    _WORKSPACE.__dict__.pop("bufs", None)


class FusedQuantizer(torch.autograd.Function):
    """E1 + E2 in one autograd node, with the E5 backward to ``x``, ``l`` and ``u``.

    Same numbers, bit for bit, as the straightforward fused version (``t = (x − l)·inv``,
    ``inv = 1/(u − l)``, inclusive mask ``0 ≤ t ≤ 1``, ``x_n = clip(t)``, ``x_q = round(B·x_n)/B``;
    backward ``g_n = g·(1 + δ·sign(g)·(x_n − x_q))``, ``g_t = g_n·mask``, ``∂x = g_t·inv``,
    ``∂u = −Σ g_t·x_n·inv``, ``∂l = Σ g_t·(x_n − 1)·inv``; tested with ``torch.equal``) and, within
    rounding, as ``ewgs_round(normalize(x, l, u), bits, δ)``. On CPU these element-wise passes are
    memory-bound and each fresh full-size buffer costs page faults (about as much as five passes),
    so the node allocates only what it returns or keeps, and recomputes the rest:

    forward: fresh ``x_q`` (returned) and the bool mask ``outside = t ≠ clip(t)`` (complement of
        the inclusive mask; NaN is outside); ``t`` lives in a reused workspace. Saved: ``x`` (the
        input, alive anyway), the mask, and ``x_q`` only when δ ≠ 0. Nothing float is allocated
        just for the backward.
    backward: ``x_n = clip((x − l)·inv)`` recomputed in a workspace with the forward's exact ops;
        fresh ``∂x`` only: the residual ``x_n − x_q``, then in place ``·sign(g)·δ + 1``, ``·g``
        (the same roundings as E5: ``δ·sign(g) = ±δ`` and ``err·sign(g) = ±err`` are exact), the
        mask, ``Σ g_t·x_n``, ``Σ g_t``, ``·inv``. For δ = 0 or STE the scaling is skipped (exactly
        STE). A differentiated backward (``create_graph=True``) uses fresh tensors, no workspace.

    Compiled kernels (:mod:`ewgs.quant.kernels`, by default for large float32 CPU activations): the
    forward is one pass that returns ``x_q`` and saves only ``x``; the backward is one pass that
    recomputes ``t``, the mask and ``x_q`` and returns ``∂x`` and the two sums. Forward and ``∂x``
    equal the eager ones bit for bit; ``∂l``, ``∂u`` differ by the summation order (tested).

    Shapes: ``x`` any shape; ``lower``, ``upper``, ``delta`` 0-dim; output shape of ``x``.
    """

    @staticmethod
    def forward(ctx, x, lower, upper, steps: int, delta, ewgs: bool):  # type: ignore[override]
        inv = torch.reciprocal(upper - lower)
        use_delta = bool(ewgs) and bool(delta != 0)
        ctx.use_delta = use_delta
        ctx.steps = steps
        ctx.compiled = kernels.use_compiled(x)
        if ctx.compiled:
            x_q = kernels.forward(x, lower.detach(), inv.detach(), _steps_tensor(steps, x))
            ctx.compiled = x_q is not None
        if ctx.compiled:  # the backward recomputes the mask and x_q from x in its one pass
            ctx.save_for_backward(x, lower, None, None, inv.detach(),
                                  delta.detach().clone() if use_delta else None)
            return x_q
        t = torch.sub(x, lower, out=_workspace(x, 0)).mul_(inv)
        x_q = torch.clamp(t, 0.0, 1.0)  # x_n, turned into x_q in place below
        outside = torch.ne(t, x_q)
        x_q.mul_(steps).round_().div_(steps)
        ctx.save_for_backward(x, lower, x_q if use_delta else None, outside, inv.detach(),
                              delta.detach().clone() if use_delta else None)
        return x_q

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x, lower, x_q, outside, inv, delta = ctx.saved_tensors
        fresh = torch.is_grad_enabled()  # create_graph=True: tensors may be saved by this backward's graph
        if ctx.compiled and not fresh and kernels.use_compiled(x):
            out = kernels.backward(x, lower.detach(), inv, _steps_tensor(ctx.steps, x), g.contiguous(),
                                   delta.to(g.dtype) if ctx.use_delta else None)
            if out is not None:
                gx, s_xn, s_g = out
                return FusedQuantizer._grads(ctx, gx, s_xn, s_g, inv)
        with torch.no_grad():  # x_n is a constant of the backward, as a saved forward value would be
            x_n = torch.sub(x, lower) if fresh else torch.sub(x, lower, out=_workspace(x, 0))
            x_n.mul_(inv)
            if ctx.compiled:  # compiled forward, eager backward: recompute what it did not save
                outside = torch.ne(x_n, x_n.clamp(0.0, 1.0))
            x_n.clamp_(0.0, 1.0)
            if ctx.compiled and ctx.use_delta:
                x_q = torch.round(x_n * ctx.steps) / ctx.steps
        if ctx.use_delta:
            sign = torch.sign(g) if fresh else torch.sign(g, out=_workspace(g, 1))
            g_t = torch.sub(x_n, x_q).mul_(sign).mul_(delta.to(g.dtype)).add_(1).mul_(g)
            g_t.masked_fill_(outside, 0.0)
        else:
            g_t = torch.where(outside, 0.0, g)
        s_xn = s_g = None
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            s_xn = torch.dot(g_t.reshape(-1), x_n.reshape(-1))
            s_g = g_t.sum()
        gx = g_t.mul_(inv) if ctx.needs_input_grad[0] else None
        return FusedQuantizer._grads(ctx, gx, s_xn, s_g, inv)

    @staticmethod
    def _grads(ctx, gx, s_xn, s_g, inv):
        gl = gu = None
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            gu = -s_xn * inv
            gl = (s_xn - s_g) * inv
        return (gx if ctx.needs_input_grad[0] else None), gl, gu, None, None, None


def _steps_tensor(steps: int, like: torch.Tensor) -> torch.Tensor:
    """``B`` as a 0-dim tensor, so one compiled kernel serves every bit-width (no recompilation)."""
    return torch.tensor(float(steps), dtype=like.dtype)


def _discretize(x, lower, upper, bits, delta, backward) -> torch.Tensor:
    steps = num_steps(bits)
    if backward not in ("ewgs", "ste"):
        raise QuantizationError(f"backward must be 'ewgs' or 'ste', got {backward!r}")
    needs_graph = torch.is_grad_enabled() and (x.requires_grad or lower.requires_grad or upper.requires_grad)
    if not needs_graph or torch.compiler.is_exporting():  # inference / torch.export: plain forward ops
        t = (x - lower) / (upper - lower)
        return torch.round(t.clamp(0.0, 1.0) * steps) / steps
    if not torch.is_tensor(delta):
        delta = torch.tensor(float(delta), dtype=x.dtype, device=x.device)
    return FusedQuantizer.apply(x, lower, upper, steps, delta, backward == "ewgs")


def discretize_weight(
    w: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, bits: int,
    delta: float | torch.Tensor = 0.0, *, backward: Backward = "ewgs",
) -> torch.Tensor:
    """E1–E2 for weights: the discrete ``X_q`` in ``[0, 1]`` (before the ``2(·) − 1`` map)."""
    return _discretize(w, lower, upper, bits, delta, backward)


def discretize_act(
    a: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, bits: int,
    delta: float | torch.Tensor = 0.0, *, backward: Backward = "ewgs",
) -> torch.Tensor:
    """E1–E2 for activations: ``X_q = Q_A`` in ``{0, 1/B, ..., 1}``."""
    return _discretize(a, lower, upper, bits, delta, backward)


def quantize_weight(
    w: torch.Tensor, lower: torch.Tensor | float, upper: torch.Tensor | float, bits: int,
    delta: float | torch.Tensor = 0.0, *, backward: Backward = "ewgs",
) -> torch.Tensor:
    """E1–E3 for weights: ``Q_W = 2·(x_q − 1/2)`` in ``{−1, −1 + 2/B, ..., 1}``; shape of ``w``."""
    lower, upper = _as_tensor(lower, w), _as_tensor(upper, w)
    return (discretize_weight(w, lower, upper, bits, delta, backward=backward) - 0.5) * 2


def quantize_act(
    a: torch.Tensor, lower: torch.Tensor | float, upper: torch.Tensor | float, bits: int,
    delta: float | torch.Tensor = 0.0, *, backward: Backward = "ewgs",
) -> torch.Tensor:
    """E1–E3 for activations: ``Q_A = x_q`` in ``{0, 1/B, ..., 1}`` (bounds not multiplied back)."""
    lower, upper = _as_tensor(lower, a), _as_tensor(upper, a)
    return discretize_act(a, lower, upper, bits, delta, backward=backward)


def _as_tensor(v: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
    return v if torch.is_tensor(v) else torch.tensor(float(v), dtype=like.dtype, device=like.device)


def init_weight_bounds(w: torch.Tensor) -> tuple[float, float]:
    """E9: ``(l_W, u_W) = (−3·std(w), 3·std(w))``, unbiased std over the whole tensor.

    Raises:
        QuantizationError: for an empty, constant (std 0) or non-finite weight tensor.
    """
    if w.numel() < 2:
        raise QuantizationError("cannot initialize the weight quantizer of a layer with fewer than 2 weights")
    std = float(w.detach().double().std())
    if not math.isfinite(std):
        raise QuantizationError("non-finite weights: cannot initialize the weight quantizer")
    if std == 0.0:
        raise QuantizationError("all weights of the layer are equal (std 0): the weight quantizer has no range")
    return -INIT_STDS * std, INIT_STDS * std


def init_act_bounds(a: torch.Tensor) -> tuple[float, float]:
    """E9: ``l_A = min(a)``, ``u_A = 3·std(a)/sqrt(1 − 2/π)`` over the whole first-batch input.

    Guards (documented deviations for degenerate batches, where the official code divides by 0):
    if ``u_A ≤ l_A`` (e.g. constant inputs, std 0) the upper bound becomes ``max(a)``, and if that is
    still ``≤ l_A`` it becomes ``l_A + 1``.

    Raises:
        QuantizationError: for an empty or non-finite batch.
    """
    if a.numel() == 0:
        raise QuantizationError("cannot initialize the activation quantizer from an empty batch")
    a64 = a.detach().double()
    lo = float(a64.min())
    std = float(a64.std()) if a.numel() > 1 else 0.0
    if not (math.isfinite(lo) and math.isfinite(std) and math.isfinite(float(a64.max()))):
        raise QuantizationError("non-finite activations: cannot initialize the activation quantizer")
    hi = INIT_STDS * std / HALF_NORMAL_STD
    if hi <= lo:
        hi = float(a64.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi
