"""Model surgery (``quantize_model``), explicit initialization (E9) and optimizer groups (§3).

The walk itself (first/last rules, ``layer_bits`` overrides, forward order) is the shared
:mod:`cvcore.quant.surgery`; this module plugs the EWGS layers into it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from cvcore.quant import LayerPlan, split_parameters, swap_layers
from ewgs.errors import QuantizationError
from ewgs.quant.ewgs_grad import Backward
from ewgs.quant.layers import QUANTIZER_PARAMS, EWGSConv2d, EWGSLayer, EWGSLinear

__all__ = ["ewgs_layers", "initialize", "param_groups", "quantize_model"]


def quantize_model(
    model: nn.Module,
    w_bits: int | None = 1,
    a_bits: int | None = 1,
    *,
    skip_first: bool = True,
    skip_last: bool = True,
    quantize_linear: bool = True,
    layer_bits: Mapping[str, tuple[int | None, int | None] | None] | None = None,
    backward: Backward = "ewgs",
    delta_w: float = 0.0,
    delta_a: float = 0.0,
    inplace: bool = False,
    example_input: Any = None,
) -> nn.Module:
    """Replace the Conv2d/Linear layers of any torchvision/timm model by EWGS layers.

    Args:
        model: the full-precision model (copied unless ``inplace``).
        w_bits, a_bits: bits (1..8) or ``None`` (that quantizer off) — bits, not levels.
        skip_first, skip_last: keep the first conv and the last layer (in ``model.modules()``
            order) full precision, as the paper does for ResNets; ``False, False`` is the
            MobileNet-V2 setting.
        quantize_linear: also replace ``nn.Linear`` layers.
        layer_bits: per-layer overrides ``{name or glob: (w_bits, a_bits)}``; ``None`` = keep FP.
        backward: ``"ewgs"`` or ``"ste"`` for every replaced layer.
        delta_w, delta_a: initial δ buffers (0 = STE until the first Hessian update).
        example_input: optional input; orders the layers by their first call in a forward.

    Returns:
        The quantized model; every other Conv2d (including 1×1 downsample convs) and Linear is an
        :class:`EWGSConv2d`/:class:`EWGSLinear`. Call :func:`initialize` (or run one training
        forward) before building optimizers.
    """

    def factory(module: nn.Module, plan: LayerPlan) -> nn.Module:
        kw = dict(w_bits=plan.w_bits, a_bits=plan.a_bits, backward=backward, delta_w=delta_w, delta_a=delta_a)
        if isinstance(module, EWGSLayer):
            raise QuantizationError(f"layer {plan.name} is already an EWGS layer")
        if isinstance(module, nn.Conv2d):
            return EWGSConv2d.from_float(module, **kw)
        return EWGSLinear.from_float(module, **kw)  # type: ignore[arg-type]

    return swap_layers(
        model, factory, w_bits, a_bits, skip_first=skip_first, skip_last=skip_last,
        quantize_linear=quantize_linear, layer_bits=layer_bits, example_input=example_input, inplace=inplace,
    )


def ewgs_layers(model: nn.Module) -> Iterator[tuple[str, EWGSLayer]]:
    """The quantized EWGS layers of ``model`` in ``model.modules()`` order: ``(name, layer)``."""
    for name, m in model.named_modules():
        if isinstance(m, EWGSLayer) and m.quantized:
            yield name, m


def _first_batch_input(batch: Any) -> Any:
    if isinstance(batch, (list, tuple)) and batch and torch.is_tensor(batch[0]):
        return batch[0]
    return batch


def initialize(model: nn.Module, batch: Any) -> None:
    """E9 on one batch, as ``init_quant_model`` does: train mode, one forward, BN statistics move once.

    Every EWGS layer is marked uninitialized, then one forward in **train mode** (no gradient)
    initializes bounds and α from that layer's actual input; the previous train/eval state is
    restored. Call after loading FP weights and before building the optimizers.

    Args:
        model: a model containing EWGS layers.
        batch: the input tensor ``(N, C, H, W)``, or an ``(images, labels)`` pair from a loader.
    """
    layers = [m for _, m in ewgs_layers(model)]
    if not layers:
        raise QuantizationError("initialize(): the model has no EWGS layers (call quantize_model first)")
    x = _first_batch_input(batch)
    if torch.is_tensor(x) and x.shape[0] == 0:
        raise QuantizationError("initialize(): empty batch")
    for m in layers:
        m.initialized.fill_(False)  # type: ignore[attr-defined]
    was_training = model.training
    model.train()
    try:
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    missing = [n for n, m in ewgs_layers(model) if not bool(m.initialized)]  # type: ignore[attr-defined]
    if missing:
        raise QuantizationError(f"initialize(): layers not reached by the forward pass: {missing[:5]}")


def param_groups(
    model: nn.Module, lr: float, q_lr: float = 1e-5, weight_decay: float = 1e-4
) -> list[dict[str, Any]]:
    """Two optimizer groups, as ``train_quant.py`` splits them.

    Returns:
        ``[{"params": model params, "lr": lr, "weight_decay": weight_decay, "name": "model"},
        {"params": quantizer params, "lr": q_lr, "weight_decay": 0.0, "name": "quantizer"}]``.
        Quantizer group: ``w_lower, w_upper, a_lower, a_upper, scale`` of every EWGS layer; model
        group: everything else (weights, biases, BatchNorm affine pairs — weight decay applies to BN
        too). The official scripts use one optimizer per group (Adam for the quantizer group).
    """
    rest, quant = split_parameters(model, (EWGSConv2d, EWGSLinear), QUANTIZER_PARAMS)
    return [
        {"params": rest, "lr": lr, "weight_decay": weight_decay, "name": "model"},
        {"params": quant, "lr": q_lr, "weight_decay": 0.0, "name": "quantizer"},
    ]
