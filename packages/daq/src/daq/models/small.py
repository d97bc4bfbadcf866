"""A small 3-conv net for 28x28 (Fashion-MNIST) or 8x8 (digits) gray images.

Shared skeleton :class:`cvcore.quant.SmallConvNet`: FP stem conv, two DAQ convs (ReLU-fed,
``l_A = 0``), FP classifier. ``(N, 1, H, W) -> (N, num_classes)``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from daq.models.resnet_cifar import daq_conv_factory

__all__ = ["small_net"]


def small_net(
    w_bits: int | None = 2, a_bits: int | None = 2, num_classes: int = 10, width: int = 16, *,
    in_channels: int = 1, **daq_kwargs: Any,
) -> nn.Module:
    """The 3-conv net with its two inner convs quantized (both bits ``None`` = full precision)."""
    from cvcore.quant import SmallConvNet

    daq_kwargs.setdefault("act_lower", "zero")
    return SmallConvNet(in_channels, num_classes, width, conv=daq_conv_factory(w_bits, a_bits, **daq_kwargs))
