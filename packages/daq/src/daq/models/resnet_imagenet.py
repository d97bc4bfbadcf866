"""ImageNet ResNet-18/34 (torchvision layout, spec §4.2) quantized with :func:`daq.quantize_model`.

Defaults follow the paper: 7x7 stem and FC full precision; every other conv (16 / 32 block convs
and the three 1x1 downsample convs, as the sibling EWGS code does) is replaced. Nothing is
downloaded (``weights=None``); load torchvision FP weights yourself and pass them through
``--pretrained``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from daq.quant.surgery import quantize_model

__all__ = ["resnet18", "resnet34"]


def _build(name: str, w_bits: int | None, a_bits: int | None, num_classes: int, kw: dict[str, Any]) -> nn.Module:
    import torchvision

    model = getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
    if w_bits is None and a_bits is None:
        return model
    return quantize_model(model, w_bits, a_bits, inplace=True, **kw)


def resnet18(w_bits: int | None = 1, a_bits: int | None = 1, num_classes: int = 1000, **kwargs: Any) -> nn.Module:
    """ResNet-18 ``(N, 3, 224, 224) -> (N, num_classes)``; 19 DAQ convs; 11.69 M FP parameters.

    ``kwargs`` go to :func:`daq.quantize_model` (``skip_first``, ``skip_last``, ``layer_bits``, ...).
    """
    return _build("resnet18", w_bits, a_bits, num_classes, kwargs)


def resnet34(w_bits: int | None = 1, a_bits: int | None = 1, num_classes: int = 1000, **kwargs: Any) -> nn.Module:
    """ResNet-34 ``(N, 3, 224, 224) -> (N, num_classes)``; 35 DAQ convs; 21.80 M FP parameters."""
    return _build("resnet34", w_bits, a_bits, num_classes, kwargs)
