"""MobileNet-V2 (§4.3, paper only): PROFIT's variant by default, all layers quantized (W4A4).

The EWGS paper trains MobileNet-V2 "with the architecture of PROFIT" (its code was never
released). PROFIT's ImageNet MobileNet-V2 has torchvision's layers, channel table and parameters
(3,504,872 at width 1.0, so torchvision FP weights load by key) but a different head:

* the last 1×1 conv (320 → 1280) is conv + BN **without** ReLU6;
* ``ReLU`` after the features, global average pool, then ``ReLU6`` on the pooled 1280-vector,
  dropout 0.2, FC (torchvision: ReLU6 inside the last conv block, pool, dropout, FC).

PROFIT also marks the signed block inputs for a symmetric activation quantizer; here every
quantized conv's own activation quantizer covers negative inputs through E9's ``l_A = min(a)``, so
no extra module is needed. ``variant="torchvision"`` builds the unmodified torchvision network.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from cvcore.quant import models as skel
from ewgs.errors import ConfigError
from ewgs.quant.surgery import quantize_model

__all__ = ["ProfitMobileNetV2", "mobilenet_v2", "mobilenet_v2_fp"]

Variant = Literal["profit", "torchvision"]


class ProfitMobileNetV2(nn.Module):
    """PROFIT's MobileNet-V2 (FP): ``(N, 3, H, W) -> (N, num_classes)``.

    ``features`` and ``classifier`` are torchvision's modules (same state-dict keys); the last
    feature block's ReLU6 is an ``nn.Identity``; ``forward = classifier(relu6(mean_hw(relu(features(x)))))``.
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0) -> None:
        super().__init__()
        tv = skel.mobilenet_v2(num_classes, width_mult)
        self.features = tv.features
        self.features[-1][2] = nn.Identity()  # conv 1×1 → BN, no ReLU6
        self.relu = nn.ReLU()
        self.pool_act = nn.ReLU6()
        self.classifier = tv.classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.features(x)).mean((2, 3))
        return self.classifier(self.pool_act(x))


def mobilenet_v2_fp(num_classes: int = 1000, width_mult: float = 1.0, *, variant: Variant = "profit") -> nn.Module:
    """The full-precision network of :func:`mobilenet_v2` (3,504,872 parameters at width 1.0, both variants)."""
    if variant == "profit":
        return ProfitMobileNetV2(num_classes, width_mult)
    if variant == "torchvision":
        return skel.mobilenet_v2(num_classes, width_mult)
    raise ConfigError(f"unknown MobileNet-V2 variant {variant!r} (known: profit, torchvision)")


def mobilenet_v2(
    w_bits: int | None = 4, a_bits: int | None = 4, num_classes: int = 1000, width_mult: float = 1.0, *,
    variant: Variant = "profit", skip_first: bool = False, skip_last: bool = False, **kw: Any,
) -> nn.Module:
    """MobileNet-V2 with every conv and the classifier EWGS (53 layers at width 1.0, W4A4 by default).

    ``variant="profit"`` (default, §4.3: PROFIT's head, see the module docstring) or
    ``"torchvision"``. Expand-conv inputs are signed; E9's ``l_A = min(a)`` covers them (output
    still in [0, 1]). ``kw`` go to :func:`ewgs.quantize_model`.
    """
    return quantize_model(mobilenet_v2_fp(num_classes, width_mult, variant=variant), w_bits, a_bits,
                          skip_first=skip_first, skip_last=skip_last, inplace=True, **kw)
