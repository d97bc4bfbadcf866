"""Hessian-based scaling factors δ (E6–E8) and their update schedule (§3).

Official counterpart: ``update_grad_scales``, ``trace``, ``hessian_vector_product`` in
``CIFAR10/utils.py``. Order of operations, reproduced here:

1. ``num_batches`` fresh batches of the (shuffled, augmented) training loader, model in train mode
   (every forward moves the BatchNorm running statistics, as in the official code).
2. Per batch: forward, loss, first-order gradients ``G`` of the loss w.r.t. every recorded discrete
   tensor ``X_q`` captured **at once** with ``torch.autograd.grad(loss, X_q..., create_graph=True)``
   (never re-read from ``.grad``: PyTorch ≥ 2 fires retain-grad hooks during the HVPs).
3. Quantizers in this order: all **activation** quantizers in ``model.modules()`` order, then all
   **weight** quantizers in the same order. For each, Hutchinson's estimate (E7) with the stop rule
   below and ``δ_batch = (Tr(H)/N) / (3·std(G))`` (E8, unbiased std) added to an accumulator.
4. After the loop: divide by the number of batches, clip at 0 (after averaging), write the buffers.

Stop rule of ``trace`` (``maxIter=50, tol=1e-3``): ``prev = 0``; per sample append ``vᵀHv``,
``m = mean(samples)``; stop if ``|m − prev| / (prev + 1e-6) < tol`` (signed denominator: a negative
first mean stops at the second sample), else ``prev = m``.

RNG: each Rademacher vector is ``torch.randint_like(X_q, high=2)`` with 0 mapped to −1 from the
global torch RNG (or ``torch.randint`` with the given ``generator``), drawn in the order above
(batch by batch; per batch activations first, then weights; per quantizer sample by sample).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from ewgs.errors import QuantizationError
from ewgs.quant.layers import EWGSLayer
from ewgs.quant.surgery import ewgs_layers

__all__ = [
    "HessianScaleUpdater",
    "ScaleEstimate",
    "estimate_scaling_factors",
    "hutchinson_trace",
    "rademacher_like",
    "stop_rule",
    "trace_from_samples",
]

#: ``trace(..., maxIter=50, tol=1e-3)`` in ``CIFAR10/utils.py``.
MAX_ITER = 50
TOL = 1e-3
#: the constant in the stop rule's denominator (``trace + 1e-6``).
STOP_EPS = 1e-6

Representative = Literal["3std", "max", "mean_abs"]


def stop_rule(mean: float, prev: float, tol: float = TOL) -> bool:
    """Official convergence test: ``|mean − prev| / (prev + 1e-6) < tol`` (signed denominator)."""
    return abs(mean - prev) / (prev + STOP_EPS) < tol


def trace_from_samples(sample: Callable[[], float], max_iter: int = MAX_ITER, tol: float = TOL) -> tuple[float, int]:
    """Run the official sampling loop on ``sample()`` draws; returns ``(mean of samples, count)``."""
    if max_iter < 1:
        raise QuantizationError(f"max_iter must be >= 1, got {max_iter}")
    samples: list[float] = []
    prev = 0.0
    for _ in range(max_iter):
        samples.append(float(sample()))
        m = sum(samples) / len(samples)
        if stop_rule(m, prev, tol):
            break
        prev = m
    return sum(samples) / len(samples), len(samples)


def rademacher_like(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Entries ±1 with probability ½, shape/dtype of ``x`` (``randint_like(x, high=2)``, 0 → −1)."""
    if generator is None:
        v = torch.randint_like(x, high=2)
    else:
        v = torch.randint(0, 2, x.shape, generator=generator, device=x.device).to(x.dtype)
    v[v == 0] = -1
    return v


def hutchinson_trace(
    grad: torch.Tensor, x: torch.Tensor, *, max_iter: int = MAX_ITER, tol: float = TOL,
    generator: torch.Generator | None = None,
) -> tuple[float, int]:
    """E7: Hutchinson estimate of ``Tr(∂²L/∂x²)`` from ``grad = ∂L/∂x`` (built with ``create_graph``).

    Each sample is ``vᵀ(Hv)`` with ``Hv = autograd.grad(grad, x, v)``; sampling stops by
    :func:`stop_rule`. Returns ``(estimate, number of samples)``. If ``grad`` does not depend on
    ``x`` (e.g. a loss linear in ``x``) every sample is 0.
    """

    def sample() -> float:
        v = rademacher_like(x, generator)
        if not grad.requires_grad:
            return 0.0
        (hv,) = torch.autograd.grad(grad, x, grad_outputs=v, retain_graph=True, allow_unused=True)
        return 0.0 if hv is None else float((hv.double() * v.double()).sum())

    return trace_from_samples(sample, max_iter, tol)


def _representative(g: torch.Tensor, kind: Representative) -> float:
    g = g.detach().double()
    if kind == "3std":
        return 3.0 * float(g.std()) if g.numel() > 1 else float("nan")
    if kind == "max":
        return float(g.abs().max())
    if kind == "mean_abs":
        return float(g.abs().mean())
    raise QuantizationError(f"representative must be '3std', 'max' or 'mean_abs', got {kind!r}")


@dataclass
class ScaleEstimate:
    """Result of one estimation pass.

    Attributes:
        deltas: ``{layer name: (δ_W, δ_A)}`` (``None`` for a disabled quantizer); default mode
            already replaces non-finite values by the previous δ.
        raw: the averaged values before clipping/replacement, same layout.
        samples: ``{layer name: (weight samples, activation samples)}`` summed over batches.
        batches: number of batches used; divisor: what the accumulators were divided by.
    """

    deltas: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    raw: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    samples: dict[str, tuple[int, int]] = field(default_factory=dict)
    batches: int = 0
    divisor: int = 0


def _split_batch(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (list, tuple)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise QuantizationError("the Hessian pass needs (inputs, targets) batches")


class HessianScaleUpdater:
    """Estimates and writes the per-quantizer scaling factors δ (E8) on a schedule (§3).

    Args:
        model: a model with EWGS layers (unwrapped; under DDP pass ``model.module`` and broadcast
            the δ buffers afterwards — :mod:`ewgs.engine.train` does this).
        loss_fn: ``loss_fn(model(x), y) -> scalar`` (cross-entropy in the paper).
        num_batches: batches per estimate (3 CIFAR, 10 ImageNet).
        max_iter, tol: Hutchinson loop limits (50, 1e-3).
        every_epochs: :meth:`on_epoch_start` updates at epochs ``k·every_epochs``, never at 0
            (10 CIFAR, 1 ImageNet); 0 disables the schedule.
        representative: denominator statistic: ``"3std"`` (E8, default), ``"max"`` (``max|G|``),
            ``"mean_abs"`` (``mean|G|``) — Table 4.
        eps: added to the denominator (0 = official numbers; issue #6 suggests a small constant).
        train_mode: run the forwards in train mode (official; moves BN statistics).
        joint_probe: one Rademacher vector over all quantizers per Hessian-vector product
            (unbiased per-layer traces, far fewer HVPs; different random numbers). Each quantizer
            stops by its own rule; probing ends when all have stopped.
        compat: ``"default"`` divides by the number of batches used and keeps the previous δ (with
            a warning) when the new one is not finite; ``"official"`` divides by the loop index at
            exit (``num_batches`` when the loader has more batches, one less otherwise) and writes
            NaN/inf unchanged.
        generator: optional ``torch.Generator`` for the Rademacher draws (default: global RNG).
    """

    def __init__(
        self, model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
        num_batches: int = 3, max_iter: int = MAX_ITER, tol: float = TOL, every_epochs: int = 10,
        representative: Representative = "3std", eps: float = 0.0, train_mode: bool = True,
        joint_probe: bool = False, compat: Literal["default", "official"] = "default",
        generator: torch.Generator | None = None,
    ) -> None:
        if num_batches < 1:
            raise QuantizationError(f"num_batches must be >= 1, got {num_batches}")
        if max_iter < 1:
            raise QuantizationError(f"max_iter must be >= 1, got {max_iter}")
        if every_epochs < 0:
            raise QuantizationError(f"every_epochs must be >= 0, got {every_epochs}")
        if compat not in ("default", "official"):
            raise QuantizationError(f"compat must be 'default' or 'official', got {compat!r}")
        if representative not in ("3std", "max", "mean_abs"):
            raise QuantizationError(f"representative must be '3std', 'max' or 'mean_abs', got {representative!r}")
        if not eps >= 0:
            raise QuantizationError(f"eps must be >= 0, got {eps}")
        self.model, self.loss_fn = model, loss_fn
        self.num_batches, self.max_iter, self.tol = num_batches, max_iter, tol
        self.every_epochs, self.representative, self.eps = every_epochs, representative, eps
        self.train_mode, self.joint_probe, self.compat, self.generator = train_mode, joint_probe, compat, generator
        self.last: ScaleEstimate | None = None

    # ----------------------------------------------------------------------------- schedule
    def due(self, epoch: int) -> bool:
        """Whether the schedule updates at the start of ``epoch`` (``epoch % every == 0 and epoch != 0``)."""
        return self.every_epochs > 0 and epoch != 0 and epoch % self.every_epochs == 0

    def on_epoch_start(self, epoch: int, loader: Iterable[Any]) -> bool:
        """Update δ now if :meth:`due`; returns whether it did."""
        if not self.due(epoch):
            return False
        self(loader)
        return True

    # ----------------------------------------------------------------------------- estimation
    def __call__(self, loader: Iterable[Any]) -> dict[str, tuple[float | None, float | None]]:
        """Estimate and write δ into every layer's ``delta_w``/``delta_a``; returns the new values."""
        est = self.estimate(loader)
        layers = dict(ewgs_layers(self.model))
        with torch.no_grad():
            for name, (dw, da) in est.deltas.items():
                layer = layers[name]
                if dw is not None:
                    layer.delta_w.fill_(dw)  # type: ignore[attr-defined]
                if da is not None:
                    layer.delta_a.fill_(da)  # type: ignore[attr-defined]
        return est.deltas

    def estimate(self, loader: Iterable[Any]) -> ScaleEstimate:
        """Run the estimation pass without writing δ (BN statistics do move in train mode)."""
        layers = list(ewgs_layers(self.model))
        if not layers:
            raise QuantizationError("the model has no EWGS layers")
        acc_w = {n: 0.0 for n, m in layers if m.w_bits is not None}
        acc_a = {n: 0.0 for n, m in layers if m.a_bits is not None}
        cnt_w = dict.fromkeys(acc_w, 0)
        cnt_a = dict.fromkeys(acc_a, 0)
        was_training = self.model.training
        self.model.train(self.train_mode)
        used, more = 0, False
        try:
            for i, batch in enumerate(loader):
                if i == self.num_batches:
                    more = True
                    break
                self._one_batch(batch, layers, acc_w, acc_a, cnt_w, cnt_a)
                used += 1
        finally:
            self.model.train(was_training)
        if used == 0:
            raise QuantizationError("the Hessian pass got no batches from the loader")
        divisor = used if self.compat == "default" else (self.num_batches if more else used - 1)
        est = ScaleEstimate(batches=used, divisor=divisor)
        for name, m in layers:
            raw_w = _divide(acc_w[name], divisor) if name in acc_w else None
            raw_a = _divide(acc_a[name], divisor) if name in acc_a else None
            dw = self._finalize(raw_w, getattr(m, "delta_w", None), f"{name} (weights)")
            da = self._finalize(raw_a, getattr(m, "delta_a", None), f"{name} (activations)")
            est.raw[name] = (raw_w, raw_a)
            est.deltas[name] = (dw, da)
            est.samples[name] = (cnt_w.get(name, 0), cnt_a.get(name, 0))
        self.last = est
        return est

    def _finalize(self, raw: float | None, previous: torch.Tensor | None, what: str) -> float | None:
        if raw is None:
            return None
        if self.compat == "official":
            return raw if math.isnan(raw) else max(0.0, raw)
        if not math.isfinite(raw):
            prev = float(previous) if previous is not None else 0.0
            warnings.warn(f"EWGS: non-finite scaling factor for {what}; keeping the previous value {prev:g}",
                          RuntimeWarning, stacklevel=3)
            return prev
        return max(0.0, raw)

    def _one_batch(self, batch: Any, layers: list[tuple[str, EWGSLayer]], acc_w: dict[str, float],
                   acc_a: dict[str, float], cnt_w: dict[str, int], cnt_a: dict[str, int]) -> None:
        x, y = _split_batch(batch)
        device = next(self.model.parameters()).device
        x, y = x.to(device), y.to(device)
        with contextlib.ExitStack() as stack:
            recs = [(n, m, stack.enter_context(m.discrete_values())) for n, m in layers]
            loss = self.loss_fn(self.model(x), y)
        order: list[tuple[str, str, torch.Tensor]] = []
        for n, m, rec in recs:  # activations first (module order) ...
            if m.a_bits is not None:
                if "act" not in rec:
                    raise QuantizationError(f"layer {n} was not called in the forward pass")
                order.append(("act", n, rec["act"]))
        for n, m, rec in recs:  # ... then weights
            if m.w_bits is not None:
                order.append(("weight", n, rec["weight"]))
        grads = torch.autograd.grad(loss, [t for _, _, t in order], create_graph=True, allow_unused=True)
        grads = tuple(torch.zeros_like(t) if g is None else g for (_, _, t), g in zip(order, grads))
        if self.joint_probe:
            traces = self._joint_traces([t for _, _, t in order], list(grads))
        else:
            traces = [hutchinson_trace(g, t, max_iter=self.max_iter, tol=self.tol, generator=self.generator)
                      for (_, _, t), g in zip(order, grads)]
        for (kind, n, t), g, (tr, ns) in zip(order, grads, traces):
            rep = _representative(g, self.representative) + self.eps
            value = _divide(tr / t.numel(), rep)
            if kind == "act":
                acc_a[n] += value
                cnt_a[n] += ns
            else:
                acc_w[n] += value
                cnt_w[n] += ns

    def _joint_traces(self, xs: list[torch.Tensor], gs: list[torch.Tensor]) -> list[tuple[float, int]]:
        k = len(xs)
        samples: list[list[float]] = [[] for _ in range(k)]
        prev = [0.0] * k
        done = [False] * k
        live = [j for j in range(k) if gs[j].requires_grad]
        for _ in range(self.max_iter):
            vs = [rademacher_like(x, self.generator) for x in xs]
            hvs: list[torch.Tensor | None] = [None] * k
            if live:
                out = torch.autograd.grad([gs[j] for j in live], [xs[j] for j in live],
                                          grad_outputs=[vs[j] for j in live], retain_graph=True, allow_unused=True)
                for j, h in zip(live, out):
                    hvs[j] = h
            for j in range(k):
                if done[j]:
                    continue
                s = 0.0 if hvs[j] is None else float((hvs[j].double() * vs[j].double()).sum())
                samples[j].append(s)
                m = sum(samples[j]) / len(samples[j])
                if stop_rule(m, prev[j], self.tol):
                    done[j] = True
                else:
                    prev[j] = m
            if all(done):
                break
        return [(sum(s) / len(s), len(s)) for s in samples]


def _divide(a: float, b: float) -> float:
    """IEEE division (``x/0`` → ±inf or NaN instead of ``ZeroDivisionError``)."""
    if b == 0:
        return math.nan if (a == 0 or math.isnan(a)) else math.copysign(math.inf, a)
    return a / b


def estimate_scaling_factors(
    model: nn.Module, loader: Iterable[Any], loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    **kwargs: Any,
) -> dict[str, tuple[float | None, float | None]]:
    """The δ values :class:`HessianScaleUpdater` would write, without writing them.

    ``kwargs`` as for :class:`HessianScaleUpdater`. Returns ``{layer name: (δ_W, δ_A)}``.
    """
    return HessianScaleUpdater(model, loss_fn, **kwargs).estimate(loader).deltas
