"""A small 3-conv net for 28×28 gray images (Fashion-MNIST demo and real-data test)."""

from __future__ import annotations

import functools

from cvcore.quant.models import SmallConvNet
from ewgs.quant.ewgs_grad import Backward
from ewgs.quant.layers import EWGSConv2d

__all__ = ["small_net"]


def small_net(
    w_bits: int | None = 2, a_bits: int | None = 2, num_classes: int = 10, width: int = 16, *,
    in_channels: int = 1, backward: Backward = "ewgs",
) -> SmallConvNet:
    """FP stem conv → 2 EWGS convs (stride 2) → pool → FP linear; ``(N, 1, 28, 28) -> (N, 10)``."""
    if w_bits is None and a_bits is None:
        return SmallConvNet(in_channels, num_classes, width)
    conv = functools.partial(EWGSConv2d, w_bits=w_bits, a_bits=a_bits, backward=backward)
    return SmallConvNet(in_channels, num_classes, width, conv=conv)
