"""MobileNet-V2 (torchvision layout, spec §4.3) with **all** layers quantized, as in the paper.

``act_lower="auto"`` gives a fixed ``l_A = 0`` to the ReLU6-fed layers (depthwise, project convs,
classifier) and a learnable lower bound to the signed-input layers (stem, expand convs, final
1x1 conv), E13.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from daq.quant.surgery import quantize_model

__all__ = ["mobilenet_v2"]


def mobilenet_v2(
    w_bits: int | None = 4, a_bits: int | None = 4, num_classes: int = 1000, width_mult: float = 1.0,
    **kwargs: Any,
) -> nn.Module:
    """MobileNet-V2 ``(N, 3, 224, 224) -> (N, num_classes)``; 52 convs + 1 FC; 3.50 M FP parameters.

    ``kwargs`` go to :func:`daq.quantize_model` (default here ``skip_first=False, skip_last=False``).
    """
    import torchvision

    model = torchvision.models.mobilenet_v2(weights=None, num_classes=num_classes, width_mult=width_mult)
    if w_bits is None and a_bits is None:
        return model
    kwargs.setdefault("skip_first", False)
    kwargs.setdefault("skip_last", False)
    return quantize_model(model, w_bits, a_bits, inplace=True, **kwargs)
