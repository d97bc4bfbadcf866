"""``DAQConv2d`` and ``DAQLinear``: ``out = |s| * op(Q_A(a), Q_W(w~)) (+ bias inside)`` (E11).

Each layer owns its quantizer parameters (spec §10.1): ``w_lower``, ``w_upper`` (weights,
standardized units), ``a_upper`` and, with ``act_lower="learn"``, ``a_lower`` (activations), and
the output scale ``scale`` (= s). The buffer ``initialized`` triggers the data-dependent init of
E13 on the first forward (train or eval mode), as the official ``init`` buffer does; loading a
trained state dict sets it and so disables re-initialisation.

Train mode uses the DASR soft path (exact hard values forward, E12 gradients); eval mode uses the
hard path. With ``w_bits=None`` and ``a_bits=None`` a layer is exactly the wrapped conv/linear.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from daq.quant.dasr import Compat, _check
from daq.quant.quantizer import num_steps, quantize_act, quantize_weight

__all__ = ["DAQConv2d", "DAQLayerMixin", "DAQLinear"]

ActLower = Literal["zero", "learn"]
Estimator = Literal["dasr", "ste"]

# Placeholders before the data-dependent init (official QConv constructor, spec §3).
_PLACEHOLDER_UPPER = 2.0**31 - 1
_PLACEHOLDER_LOWER = -(2.0**32)
_PLACEHOLDER_SCALE = 0.2
#: Initial bounds of the weight quantizer in standardized units, E13 (official: lW=-3, uW=3).
W_INIT_BOUND = 3.0
#: Activation bound = this many (unbiased) standard deviations of the first batch, E13.
A_INIT_STDS = 3.0


def _check_bits(name: str, bits: int | None) -> int | None:
    if bits is None:
        return None
    num_steps(bits)  # validates
    return int(bits)


class DAQLayerMixin:
    """Quantizer state and logic shared by :class:`DAQConv2d` and :class:`DAQLinear`."""

    weight: nn.Parameter
    bias: nn.Parameter | None
    initialized: torch.Tensor

    def _setup_daq(
        self, w_bits: int | None, a_bits: int | None, act_lower: ActLower,
        gamma_w: float, sigma_w: float, gamma_a: float, sigma_a: float, compat: Compat,
        factory: dict[str, Any], estimator: Estimator = "dasr",
    ) -> None:
        if estimator not in ("dasr", "ste"):
            raise ValueError(f"estimator must be 'dasr' or 'ste', got {estimator!r}")
        self.estimator = estimator
        #: "closed_form" (E12 autograd function) or "soft" (autograd through the direct soft
        #: assignment; same values and gradients, ~7x slower: a reference for tests/benchmarks)
        self.dasr_impl = "closed_form"
        self.w_bits = _check_bits("w_bits", w_bits)
        self.a_bits = _check_bits("a_bits", a_bits)
        if act_lower not in ("zero", "learn"):
            raise ValueError(f"act_lower must be 'zero' or 'learn', got {act_lower!r}")
        if compat not in ("default", "official"):
            raise ValueError(f"compat must be 'default' or 'official', got {compat!r}")
        _check(gamma_w, sigma_w)
        _check(gamma_a, sigma_a)
        self.act_lower = act_lower
        self.gamma_w, self.sigma_w, self.gamma_a, self.sigma_a = map(float, (gamma_w, sigma_w, gamma_a, sigma_a))
        self.compat = compat

        def scalar(v: float) -> nn.Parameter:
            return nn.Parameter(torch.tensor(v, **factory))

        if self.w_bits is not None:
            self.w_lower = scalar(_PLACEHOLDER_LOWER)
            self.w_upper = scalar(_PLACEHOLDER_UPPER)
        if self.a_bits is not None:
            self.a_upper = scalar(_PLACEHOLDER_UPPER)
            if act_lower == "learn":
                self.a_lower = scalar(_PLACEHOLDER_LOWER)
        if self.is_quantized:
            self.scale = scalar(_PLACEHOLDER_SCALE)
        self.register_buffer("initialized", torch.tensor(not self.is_quantized))

    # ------------------------------------------------------------------ properties
    @property
    def is_quantized(self) -> bool:
        return self.w_bits is not None or self.a_bits is not None

    def quantizer_parameters(self) -> list[nn.Parameter]:
        """Bounds and scale (the official ``qparam`` group): Adam, no weight decay."""
        names = ("w_lower", "w_upper", "a_lower", "a_upper", "scale")
        return [getattr(self, n) for n in names if isinstance(getattr(self, n, None), nn.Parameter)]

    @property
    def _impl(self) -> str:
        return "ste" if self.estimator == "ste" else getattr(self, "dasr_impl", "closed_form")

    def _act_lower_value(self, x: torch.Tensor) -> torch.Tensor | float:
        return self.a_lower if self.act_lower == "learn" else 0.0

    # ------------------------------------------------------------------ quantizers
    def _qa(self, x: torch.Tensor, hard: bool) -> torch.Tensor:
        if self.a_bits is None:
            return x
        return quantize_act(x, self._act_lower_value(x), self.a_upper, self.a_bits, self.gamma_a, self.sigma_a,
                            hard=hard, compat=self.compat, impl=self._impl)

    def _qw(self, hard: bool) -> torch.Tensor:
        if self.w_bits is None:
            return self.weight
        return quantize_weight(self.weight, self.w_lower, self.w_upper, self.w_bits, self.gamma_w, self.sigma_w,
                               hard=hard, compat=self.compat, impl=self._impl)

    def quantized_weight(self) -> torch.Tensor:
        """``Q_W`` of the hard path (E10), same shape as ``weight``; the FP weight if ``w_bits=None``."""
        with torch.no_grad():
            return self._qw(hard=True)

    def weight_codes(self) -> tuple[torch.Tensor, dict[str, Any]]:
        """Integer codes ``t^`` (``torch.uint8``, or int16 above 8 bits) and the dequantization recipe.

        ``weight_used = (2 * code - B) / B``; the layer output is ``|s| * op(Q_A(a), weight_used)``.
        """
        if self.w_bits is None:
            raise ValueError("this layer keeps full-precision weights (w_bits=None): no integer codes")
        steps = num_steps(self.w_bits)
        q = self.quantized_weight()
        codes = torch.round((q + 1.0) * steps / 2.0)
        codes = codes.to(torch.uint8 if self.w_bits <= 8 else torch.int16)
        recipe = {"bits": self.w_bits, "steps": steps, "formula": "(2*code - B)/B * |s|",
                  "scale": float(self.scale.detach().abs())}
        return codes, recipe

    # ------------------------------------------------------------------ init (E13)
    @torch.no_grad()
    def _initialize(self, x: torch.Tensor) -> None:
        if x.numel() < 2 or not torch.isfinite(x).all():
            return  # nothing to estimate from (empty batch); stay uninitialised
        if self.w_bits is not None:
            self.w_lower.fill_(-W_INIT_BOUND)
            self.w_upper.fill_(W_INIT_BOUND)
        if self.a_bits is not None:
            std = float(x.detach().float().std(unbiased=True))
            bound = A_INIT_STDS * std if std > 0 else 1.0  # all-equal input: any positive range
            self.a_upper.fill_(bound)
            if self.act_lower == "learn":
                self.a_lower.fill_(-bound)
        fp = self._op(x, self.weight)
        qt = self._op(self._qa(x, hard=True), self._qw(hard=True))
        den = float(qt.abs().mean())
        num = float(fp.abs().mean())
        self.scale.fill_(num / den if den > 0 and num > 0 else 1.0)
        self.initialized.fill_(True)

    def _daq_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.is_quantized:
            return self._op(x, self.weight)
        if not torch.compiler.is_compiling() and not bool(self.initialized):
            self._initialize(x)
        hard = not self.training
        out = self._op(self._qa(x, hard), self._qw(hard))
        return out * self.scale.abs()  # E11: |s|

    def _op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def _daq_repr(self) -> str:
        if not self.is_quantized:
            return ", full precision"
        s = f", w_bits={self.w_bits}, a_bits={self.a_bits}"
        if self.a_bits is not None:
            s += f", act_lower={self.act_lower!r}"
        if self.compat != "default":
            s += f", compat={self.compat!r}"
        if self.estimator != "dasr":
            s += f", estimator={self.estimator!r}"
        return s

    def _copy_from(self, module: nn.Module) -> None:
        with torch.no_grad():
            self.weight.copy_(module.weight)
            if module.bias is not None and self.bias is not None:
                self.bias.copy_(module.bias)


class DAQConv2d(DAQLayerMixin, nn.Conv2d):
    """2-D convolution with DAQ weight and activation quantizers (E1-E13).

    Input ``(N, C_in, H, W)`` -> output ``(N, C_out, H', W')`` = ``|s| conv(Q_A(a), Q_W(w~))``.
    Arguments as :class:`torch.nn.Conv2d`, plus (keyword only) ``w_bits``/``a_bits`` (``None`` =
    full precision), ``act_lower`` (``"zero"``: ``l_A = 0`` fixed, for ReLU-fed inputs;
    ``"learn"``: learnable ``l_A`` initialised to ``-3 std``), the DASR constants, ``compat`` and
    ``estimator`` (``"ste"``: the straight-through baseline with the same quantizer, for comparisons).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], stride: Any = 1,
        padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
        *, w_bits: int | None = 1, a_bits: int | None = 1, act_lower: ActLower = "zero",
        gamma_w: float = 2.0, sigma_w: float = 1.0, gamma_a: float = 2.0, sigma_a: float = 2.0,
        compat: Compat = "default", estimator: Estimator = "dasr", device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)
        self._setup_daq(w_bits, a_bits, act_lower, gamma_w, sigma_w, gamma_a, sigma_a, compat,
                        {"device": device, "dtype": dtype}, estimator)

    def _op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, w, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._daq_forward(x)

    def extra_repr(self) -> str:
        return super().extra_repr() + self._daq_repr()

    @classmethod
    def from_float(cls, module: nn.Conv2d, **kwargs: Any) -> DAQConv2d:
        """A DAQ copy of ``module`` (weight, bias, geometry, device and dtype)."""
        if not isinstance(module, nn.Conv2d):
            raise TypeError(f"expected nn.Conv2d, got {type(module).__name__}")
        layer = cls(
            module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding,
            module.dilation, module.groups, module.bias is not None, module.padding_mode,
            device=module.weight.device, dtype=module.weight.dtype, **kwargs,
        )
        layer._copy_from(module)
        layer.train(module.training)
        return layer


class DAQLinear(DAQLayerMixin, nn.Linear):
    """Fully connected layer with DAQ quantizers: ``(N, *, in) -> (N, *, out)``, E11 with ``F.linear``."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, *,
        w_bits: int | None = 1, a_bits: int | None = 1, act_lower: ActLower = "zero",
        gamma_w: float = 2.0, sigma_w: float = 1.0, gamma_a: float = 2.0, sigma_a: float = 2.0,
        compat: Compat = "default", estimator: Estimator = "dasr", device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self._setup_daq(w_bits, a_bits, act_lower, gamma_w, sigma_w, gamma_a, sigma_a, compat,
                        {"device": device, "dtype": dtype}, estimator)

    def _op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.linear(x, w, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._daq_forward(x)

    def extra_repr(self) -> str:
        return super().extra_repr() + self._daq_repr()

    @classmethod
    def from_float(cls, module: nn.Linear, **kwargs: Any) -> DAQLinear:
        """A DAQ copy of ``module`` (weight, bias, device and dtype)."""
        if not isinstance(module, nn.Linear):
            raise TypeError(f"expected nn.Linear, got {type(module).__name__}")
        layer = cls(module.in_features, module.out_features, module.bias is not None,
                    device=module.weight.device, dtype=module.weight.dtype, **kwargs)
        layer._copy_from(module)
        layer.train(module.training)
        return layer

