"""ImageNet ResNet-18/34 (§4.2): torchvision layout, FP 7×7 stem and FC, every other conv EWGS."""

from __future__ import annotations

from typing import Any

from torch import nn

from cvcore.quant import models as skel
from ewgs.quant.surgery import quantize_model

__all__ = ["resnet18", "resnet34"]


def resnet18(w_bits: int | None = 1, a_bits: int | None = 1, num_classes: int = 1000, **kw: Any) -> nn.Module:
    """torchvision ResNet-18 (``weights=None``) with 19 EWGS convs (16 block + 3 downsample).

    ``kw`` go to :func:`ewgs.quantize_model` (``skip_first``, ``skip_last``, ``layer_bits``,
    ``backward``, ...). Load torchvision weights *before* quantizing (or ``strict=False`` after).
    """
    return quantize_model(skel.resnet18(num_classes), w_bits, a_bits, inplace=True, **kw)


def resnet34(w_bits: int | None = 1, a_bits: int | None = 1, num_classes: int = 1000, **kw: Any) -> nn.Module:
    """torchvision ResNet-34 with 35 EWGS convs (32 block + 3 downsample)."""
    return quantize_model(skel.resnet34(num_classes), w_bits, a_bits, inplace=True, **kw)
