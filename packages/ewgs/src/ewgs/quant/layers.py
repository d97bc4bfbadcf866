"""Quantized layers ``EWGSConv2d`` / ``EWGSLinear`` (E4): ``out = |α|·op(Q_A(a), Q_W(w))``.

Official counterpart: ``QConv`` in ``custom_modules.py`` (names mapped: ``uW → w_upper``,
``lW → w_lower``, ``uA → a_upper``, ``lA → a_lower``, ``output_scale → scale``,
``bkwd_scaling_factorW/A → delta_w/delta_a``, ``init → initialized``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvcore.quant import check_bits
from ewgs.errors import QuantizationError
from ewgs.quant.ewgs_grad import Backward, num_steps
from ewgs.quant.quantizer import (
    discretize_act,
    discretize_weight,
    init_act_bounds,
    init_weight_bounds,
)

__all__ = ["EWGSConv2d", "EWGSLayer", "EWGSLinear", "QUANTIZER_PARAMS"]

#: Local names of the quantizer parameters (the optimizer's "quantizer" group).
QUANTIZER_PARAMS = ("w_upper", "w_lower", "a_upper", "a_lower", "scale")


class EWGSLayer:
    """Shared behaviour of :class:`EWGSConv2d` and :class:`EWGSLinear` (mixin; not a module)."""

    weight: nn.Parameter
    bias: nn.Parameter | None
    w_bits: int | None
    a_bits: int | None
    backward: Backward

    def _setup_quant(
        self, w_bits: int | None, a_bits: int | None, delta_w: float, delta_a: float,
        backward: str, device: Any, dtype: Any,
    ) -> None:
        m: nn.Module = self  # type: ignore[assignment]
        try:
            self.w_bits = check_bits(w_bits, "w_bits")
            self.a_bits = check_bits(a_bits, "a_bits")
        except ValueError as exc:
            raise QuantizationError(str(exc)) from None
        if backward not in ("ewgs", "ste"):
            raise QuantizationError(f"backward must be 'ewgs' or 'ste', got {backward!r}")
        self.backward = backward  # type: ignore[assignment]
        for name, v in (("delta_w", delta_w), ("delta_a", delta_a)):
            if not (float(v) >= 0.0):
                raise QuantizationError(f"{name} must be a finite number >= 0, got {v!r}")
        kw = {"device": device, "dtype": dtype}
        if self.w_bits is not None:
            m.w_upper = nn.Parameter(torch.zeros((), **kw))
            m.w_lower = nn.Parameter(torch.zeros((), **kw))
            m.register_buffer("delta_w", torch.tensor(float(delta_w), **kw))
        if self.a_bits is not None:
            m.a_upper = nn.Parameter(torch.zeros((), **kw))
            m.a_lower = nn.Parameter(torch.zeros((), **kw))
            m.register_buffer("delta_a", torch.tensor(float(delta_a), **kw))
        if self.quantized:
            m.scale = nn.Parameter(torch.ones((), **kw))
            m.register_buffer("initialized", torch.zeros((), dtype=torch.bool, device=device))
        self._recording: dict[str, torch.Tensor] | None = None

    @torch.no_grad()
    def _reset_quant_state(self, delta_w: float, delta_a: float) -> None:
        """Construction values: bounds 0, α = 1, δ as given, not initialized (used after skip_init)."""
        m: nn.Module = self  # type: ignore[assignment]
        if self.w_bits is not None:
            m.w_upper.zero_(), m.w_lower.zero_(), m.delta_w.fill_(float(delta_w))
        if self.a_bits is not None:
            m.a_upper.zero_(), m.a_lower.zero_(), m.delta_a.fill_(float(delta_a))
        if self.quantized:
            m.scale.fill_(1.0)
            m.initialized.fill_(False)

    # ------------------------------------------------------------------ properties
    @property
    def quantized(self) -> bool:
        """True when at least one quantizer is enabled."""
        return self.w_bits is not None or self.a_bits is not None

    def _op(self, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    # ------------------------------------------------------------------ quantizers
    def _wq(self, record: bool = False) -> torch.Tensor:
        assert self.w_bits is not None
        xq = discretize_weight(self.weight, self.w_lower, self.w_upper, self.w_bits, self.delta_w,
                               backward=self.backward)
        if record and self._recording is not None:
            self._recording["weight"] = xq
        return (xq - 0.5) * 2

    def _aq(self, x: torch.Tensor) -> torch.Tensor:
        assert self.a_bits is not None
        xq = discretize_act(x, self.a_lower, self.a_upper, self.a_bits, self.delta_a, backward=self.backward)
        if self._recording is not None:
            self._recording["act"] = xq
        return xq

    def quantized_weight(self) -> torch.Tensor:
        """``Q_W`` (E3) in ``[-1, 1]``, shape of ``weight`` (no graph); the FP weight if ``w_bits is None``."""
        with torch.no_grad():
            return self._wq() if self.w_bits is not None else self.weight.detach().clone()

    def weight_codes(self) -> torch.Tensor:
        """Integer weight codes ``k = round(B·x_n)`` in ``0..B`` as ``torch.uint8`` (shape of ``weight``).

        Dequantize with ``w = |α|·(2k/B − 1)`` (the layer output is ``|α|·op(Q_A, Q_W)``).
        """
        if self.w_bits is None:
            raise QuantizationError("weight_codes(): this layer's weights are not quantized (w_bits=None)")
        B = num_steps(self.w_bits)
        with torch.no_grad():
            xq = discretize_weight(self.weight, self.w_lower, self.w_upper, self.w_bits)
            return torch.round(xq * B).to(torch.uint8)

    @contextlib.contextmanager
    def discrete_values(self) -> Iterator[dict[str, torch.Tensor]]:
        """Record the discrete tensors ``X_q`` of the forwards inside the block (graph kept).

        Yields a dict filled by the forward: ``"weight"`` (``[0, 1]`` domain, before ``2(·) − 1``)
        and ``"act"`` (``Q_A`` as fed to the op), for the enabled quantizers. No ``retain_grad``.
        """
        rec: dict[str, torch.Tensor] = {}
        self._recording = rec
        try:
            yield rec
        finally:
            self._recording = None

    # ------------------------------------------------------------------ init (E9)
    @torch.no_grad()
    def initialize_from(self, x: torch.Tensor) -> None:
        """E9 on input batch ``x``: bounds from the statistics, then ``α`` from the output ratio."""
        if self.w_bits is not None:
            lo, hi = init_weight_bounds(self.weight)
            self.w_lower.fill_(lo)
            self.w_upper.fill_(hi)
        if self.a_bits is not None:
            lo, hi = init_act_bounds(x)
            self.a_lower.fill_(lo)
            self.a_upper.fill_(hi)
        ref = self._op(x, self.weight, self.bias).abs().mean()
        qa = self._aq_plain(x)
        qw = self._wq() if self.w_bits is not None else self.weight
        quant = self._op(qa, qw, self.bias).abs().mean()
        ratio = ref / quant
        self.scale.fill_(float(ratio) if torch.isfinite(ratio) and quant > 0 else 1.0)
        self.initialized.fill_(True)

    def _aq_plain(self, x: torch.Tensor) -> torch.Tensor:
        if self.a_bits is None:
            return x
        return discretize_act(x, self.a_lower, self.a_upper, self.a_bits)

    # ------------------------------------------------------------------ forward (E4)
    def _check_finite(self, x: torch.Tensor) -> None:
        # one cheap reduction each; the element-wise test only runs when the sum is not finite
        # (NaN/inf present, or an overflow of huge but finite values)
        if not bool(torch.isfinite(x.detach().sum())) and not bool(torch.isfinite(x).all()):
            raise QuantizationError(f"non-finite input activations reached {type(self).__name__}")
        w = self.weight.detach()
        if not bool(torch.isfinite(w.sum())) and not bool(torch.isfinite(w).all()):
            raise QuantizationError(f"non-finite weights in {type(self).__name__}")

    def _quant_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.quantized:
            return self._op(x, self.weight, self.bias)
        if not torch.compiler.is_compiling():  # data-dependent checks are skipped under torch.export
            self._check_finite(x)
            if not bool(self.initialized):
                self.initialize_from(x)
        qa = self._aq(x) if self.a_bits is not None else x
        qw = self._wq(record=True) if self.w_bits is not None else self.weight
        # E4's |α|·(op(Q_A, Q_W) + b), with |α| folded into the (small) weight and bias instead of
        # scaling the (large) output: equal up to float rounding, and it spares two output-sized
        # passes forward and two (a product and its reduction) backward.
        alpha = self.scale.abs()
        bias = self.bias * alpha if self.bias is not None else None
        return self._op(qa, qw * alpha, bias)

    def _quant_repr(self) -> str:
        return f"w_bits={self.w_bits}, a_bits={self.a_bits}, backward={self.backward!r}"


def _from_float(cls: type, module: nn.Module, *args: Any, **kw: Any) -> Any:
    """``cls(*args, **kw)`` built without the (wasted) random init, with ``module``'s weight, bias and mode."""
    new = torch.nn.utils.skip_init(cls, *args, device=module.weight.device, dtype=module.weight.dtype, **kw)
    new._reset_quant_state(kw.get("delta_w", 0.0), kw.get("delta_a", 0.0))
    with torch.no_grad():
        new.weight.copy_(module.weight)
        if module.bias is not None:
            new.bias.copy_(module.bias)
    new.train(module.training)
    return new


class EWGSConv2d(EWGSLayer, nn.Conv2d):
    """``nn.Conv2d`` with EWGS weight/activation quantizers: ``out = |α|·conv(Q_A(a), Q_W(w))`` (E4).

    Args: as ``nn.Conv2d``, plus keyword-only ``w_bits``/``a_bits`` (1..8 or ``None`` = full
    precision), ``delta_w``/``delta_a`` (initial δ buffers), ``backward`` (``"ewgs"``/``"ste"``).

    Parameters ``w_upper, w_lower`` (if ``w_bits``), ``a_upper, a_lower`` (if ``a_bits``), ``scale``
    (= α); buffers ``delta_w``, ``delta_a``, ``initialized``. With both bit-widths ``None`` the layer
    is exactly ``nn.Conv2d`` (no extra parameters or buffers). The first forward of an uninitialized
    layer runs E9 on its input (see :func:`ewgs.initialize`).

    Shapes: ``(N, C_in, H, W) -> (N, C_out, H', W')``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
        dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros", *,
        w_bits: int | None = 1, a_bits: int | None = 1, delta_w: float = 0.0, delta_a: float = 0.0,
        backward: Backward = "ewgs", device: Any = None, dtype: Any = None,
    ) -> None:
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                           bias, padding_mode, device=device, dtype=dtype)
        self._setup_quant(w_bits, a_bits, delta_w, delta_a, backward, device, dtype)

    def _op(self, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return self._conv_forward(x, w, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._quant_forward(x)

    @classmethod
    def from_float(cls, module: nn.Conv2d, **kw: Any) -> EWGSConv2d:
        """Wrap an ``nn.Conv2d``: copies geometry, ``weight`` and ``bias``; ``kw`` = quantizer options."""
        if not isinstance(module, nn.Conv2d):
            raise TypeError(f"expected nn.Conv2d, got {type(module).__name__}")
        return _from_float(cls, module, module.in_channels, module.out_channels, module.kernel_size, module.stride,
                           module.padding, module.dilation, module.groups, module.bias is not None,
                           module.padding_mode, **kw)

    def extra_repr(self) -> str:
        return f"{nn.Conv2d.extra_repr(self)}, {self._quant_repr()}"


class EWGSLinear(EWGSLayer, nn.Linear):
    """``nn.Linear`` with EWGS quantizers: ``out = |α|·(Q_A(a) Q_W(w)ᵀ + b)`` (E4).

    Same keyword arguments, parameters and buffers as :class:`EWGSConv2d`.
    Shapes: ``(*, in_features) -> (*, out_features)``.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, *,
        w_bits: int | None = 1, a_bits: int | None = 1, delta_w: float = 0.0, delta_a: float = 0.0,
        backward: Backward = "ewgs", device: Any = None, dtype: Any = None,
    ) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias, device=device, dtype=dtype)
        self._setup_quant(w_bits, a_bits, delta_w, delta_a, backward, device, dtype)

    def _op(self, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return F.linear(x, w, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._quant_forward(x)

    @classmethod
    def from_float(cls, module: nn.Linear, **kw: Any) -> EWGSLinear:
        """Wrap an ``nn.Linear``: copies ``weight`` and ``bias``; ``kw`` = quantizer options."""
        if not isinstance(module, nn.Linear):
            raise TypeError(f"expected nn.Linear, got {type(module).__name__}")
        return _from_float(cls, module, module.in_features, module.out_features, module.bias is not None, **kw)

    def extra_repr(self) -> str:
        return f"{nn.Linear.extra_repr(self)}, {self._quant_repr()}"
