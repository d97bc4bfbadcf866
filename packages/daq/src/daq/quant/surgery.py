"""Turn any model into a DAQ model, run the explicit init, build the two optimizer groups (§10.2).

The walk (which layers, first/last rules, per-layer overrides, ReLU-fed detection) is the shared
:mod:`cvcore.quant.surgery`; this module only supplies the DAQ layer factory and the DAQ rules:
``act_lower="auto"`` gives ``l_A = 0`` fixed to layers fed by ReLU/ReLU6 and a learnable ``l_A``
to the others (E13), and the parameter split of the official ``qparam_extract`` (spec §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import nn

from daq.quant.dasr import Compat
from daq.quant.layers import DAQConv2d, DAQLayerMixin, DAQLinear

__all__ = ["QUANTIZER_PARAMS", "daq_layers", "initialize", "param_groups", "quantize_model"]

#: Local names of the quantizer parameters (official: ``uW, lW, beta, uA, lA``).
QUANTIZER_PARAMS = ("w_lower", "w_upper", "a_lower", "a_upper", "scale")


def daq_layers(model: nn.Module) -> list[tuple[str, DAQLayerMixin]]:
    """``[(name, layer)]`` of every DAQ layer in module order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, DAQLayerMixin)]


def quantize_model(
    model: nn.Module,
    w_bits: int | None = 1,
    a_bits: int | None = 1,
    *,
    skip_first: bool = True,
    skip_last: bool = True,
    quantize_linear: bool = True,
    layer_bits: Mapping[str, tuple[int | None, int | None] | None] | None = None,
    act_lower: Literal["auto", "zero", "learn"] = "auto",
    gamma_w: float = 2.0,
    sigma_w: float = 1.0,
    gamma_a: float = 2.0,
    sigma_a: float = 2.0,
    compat: Compat = "default",
    estimator: str = "dasr",
    inplace: bool = False,
) -> nn.Module:
    """Replace ``nn.Conv2d``/``nn.Linear`` layers by :class:`DAQConv2d`/:class:`DAQLinear`.

    Args:
        model: torchvision / timm / own model (deep-copied unless ``inplace``).
        w_bits, a_bits: default bit-widths (1..8) or ``None`` (full precision).
        skip_first, skip_last: keep the first/last Conv2d-or-Linear (``model.modules()`` order)
            full precision, as the paper does for ResNets; ``False, False`` for MobileNet-V2.
        quantize_linear: also replace ``nn.Linear`` layers.
        layer_bits: ``{name or glob: (w_bits, a_bits)}`` overrides (win over all rules).
        act_lower: ``"auto"`` = ``"zero"`` for ReLU/ReLU6-fed layers (``torch.fx`` trace,
            module-order fallback), else ``"learn"``; or force one mode for every layer.
        gamma_w, sigma_w, gamma_a, sigma_a: DASR constants (paper: 2, 1, 2, 2).
        compat: ``"official"`` = the authors' soft numerics (see :func:`daq.dasr`).
        estimator: ``"dasr"`` (the method) or ``"ste"`` (straight-through baseline, same forward).

    Returns:
        The quantized model; the quantizers initialise on the first forward (or call :func:`initialize`).
    """
    from cvcore.quant import nonnegative_inputs, swap_layers

    if act_lower not in ("auto", "zero", "learn"):
        raise ValueError(f"act_lower must be 'auto', 'zero' or 'learn', got {act_lower!r}")
    nonneg = nonnegative_inputs(model) if act_lower == "auto" else {}

    def factory(module: nn.Module, plan: Any) -> nn.Module:
        mode = act_lower if act_lower != "auto" else ("zero" if nonneg.get(plan.name, False) else "learn")
        kw = dict(w_bits=plan.w_bits, a_bits=plan.a_bits, act_lower=mode, gamma_w=gamma_w, sigma_w=sigma_w,
                  gamma_a=gamma_a, sigma_a=sigma_a, compat=compat, estimator=estimator)
        if isinstance(module, nn.Conv2d):
            return DAQConv2d.from_float(module, **kw)
        return DAQLinear.from_float(module, **kw)

    return swap_layers(model, factory, w_bits, a_bits, skip_first=skip_first, skip_last=skip_last,
                       quantize_linear=quantize_linear, layer_bits=layer_bits, inplace=inplace)


@torch.no_grad()
def initialize(model: nn.Module, batch: Any) -> None:
    """Explicit data-dependent init (E13) of every not-yet-initialised DAQ layer on one batch.

    Runs one forward in train mode without gradients and then restores every buffer that is not
    an ``initialized`` flag (BatchNorm running statistics are untouched), so a following training
    step sees exactly what the lazy first-forward init of the official code gives.

    Args:
        model: a model containing DAQ layers.
        batch: input tensor (or tuple of positional inputs), e.g. ``(N, 3, 32, 32)``.
    """
    saved = {n: b.clone() for n, b in model.named_buffers() if not n.endswith("initialized")}
    was_training = model.training
    model.train()
    try:
        args = batch if isinstance(batch, tuple) else (batch,)
        model(*args)
    finally:
        model.train(was_training)
        bufs = dict(model.named_buffers())
        for n, b in saved.items():
            bufs[n].copy_(b)


def param_groups(model: nn.Module, lr: float, q_lr: float = 1e-4, weight_decay: float = 1e-4) -> list[dict[str, Any]]:
    """The two parameter groups of the official training script (spec §3).

    Returns:
        ``[model_group, quantizer_group]``: ``model_group = {"params": [...], "lr": lr,
        "weight_decay": weight_decay, "name": "model"}`` (conv/FC weights, FP layers and **all**
        BatchNorm parameters, weight decay included) and ``quantizer_group = {"params": [...],
        "lr": q_lr, "weight_decay": 0.0, "name": "quantizer"}`` (bounds and scales of every DAQ
        layer). Use the first with SGD (momentum 0.9) and the second with Adam.
    """
    from cvcore.quant import split_parameters

    rest, quant = split_parameters(model, (DAQConv2d, DAQLinear), QUANTIZER_PARAMS)
    return [
        {"params": rest, "lr": lr, "weight_decay": weight_decay, "name": "model"},
        {"params": quant, "lr": q_lr, "weight_decay": 0.0, "name": "quantizer"},
    ]
