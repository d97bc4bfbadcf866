"""CIFAR-10 ResNet-20, DAQ variant (spec §4.1), on the shared :class:`cvcore.quant.CifarResNet`.

Differences from the EWGS ResNet-20 of the same group: the stem has **no BatchNorm in the
forward** (``bn1`` is constructed and unused so that checkpoint keys match the released
full-precision model), and every block conv is a :class:`daq.DAQConv2d` whose input is a ReLU
output (``l_A = 0`` fixed). Stem conv and classifier stay full precision. 18 DAQ convs,
270,410 parameters at width 16 (+ 4 quantizer scalars per DAQ conv).
"""

from __future__ import annotations

import functools
from typing import Any

from torch import nn

from daq.quant.layers import DAQConv2d

__all__ = ["daq_conv_factory", "resnet20"]


def daq_conv_factory(w_bits: int | None, a_bits: int | None, **daq_kwargs: Any) -> Any:
    """``conv(in, out, kernel_size=..., ...)`` factory building DAQ convs (``nn.Conv2d`` if both None)."""
    if w_bits is None and a_bits is None:
        return nn.Conv2d
    return functools.partial(DAQConv2d, w_bits=w_bits, a_bits=a_bits, **daq_kwargs)


def resnet20(
    w_bits: int | None = 1, a_bits: int | None = 1, num_classes: int = 10, stem_bn: bool = False,
    width: int = 16, *, in_channels: int = 3, **daq_kwargs: Any,
) -> nn.Module:
    """DAQ ResNet-20 for 32x32 images: ``(N, 3, 32, 32) -> (N, num_classes)`` logits.

    Args:
        w_bits, a_bits: bits of the 18 block convs (``None`` = full precision; both ``None`` gives
            the full-precision network of the released ``cifar10_fp.pth``).
        num_classes: classifier outputs.
        stem_bn: apply the stem BN (``False`` as in the official DAQ code).
        width: stem width (16 = paper; 4 or 8 give tiny test nets from the same code).
        daq_kwargs: ``gamma_w, sigma_w, gamma_a, sigma_a, compat`` of :class:`DAQConv2d`
            (``act_lower`` is ``"zero"``: every block conv is ReLU-fed).
    """
    from cvcore.quant import resnet20 as skeleton

    daq_kwargs.setdefault("act_lower", "zero")
    conv = daq_conv_factory(w_bits, a_bits, **daq_kwargs)
    model = skeleton(num_classes, width, in_channels=in_channels, conv=conv, stem_bn=stem_bn, head_bn=True)
    if not stem_bn:
        # never used in the forward: frozen so that DDP does not wait for its gradients (the
        # official SGD skips it too, since its gradient is always None)
        model.bn1.requires_grad_(False)
    return model
