"""MobileNet-V2 (§4.3, paper only): torchvision layout, all layers quantized (W4A4 in the paper)."""

from __future__ import annotations

from typing import Any

from torch import nn

from cvcore.quant import models as skel
from ewgs.quant.surgery import quantize_model

__all__ = ["mobilenet_v2"]


def mobilenet_v2(
    w_bits: int | None = 4, a_bits: int | None = 4, num_classes: int = 1000, width_mult: float = 1.0, *,
    skip_first: bool = False, skip_last: bool = False, **kw: Any,
) -> nn.Module:
    """torchvision MobileNet-V2 with every conv and the classifier EWGS (53 layers at width 1.0).

    Expand-conv inputs are signed; E9's ``l_A = min(a)`` covers them (output still in [0, 1]).
    """
    return quantize_model(skel.mobilenet_v2(num_classes, width_mult), w_bits, a_bits, skip_first=skip_first,
                          skip_last=skip_last, inplace=True, **kw)
