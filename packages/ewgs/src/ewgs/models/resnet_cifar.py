"""CIFAR ResNet-20, EWGS variant (§4.1): stem BN applied, BatchNorm1d(64) before the FC."""

from __future__ import annotations

import functools

from cvcore.quant.models import CifarResNet
from cvcore.quant.models import resnet20 as _skeleton
from ewgs.quant.ewgs_grad import Backward
from ewgs.quant.layers import EWGSConv2d

__all__ = ["resnet20", "resnet20_fp"]


def resnet20(
    w_bits: int | None = 1, a_bits: int | None = 1, num_classes: int = 10, width: int = 16, *,
    backward: Backward = "ewgs", in_channels: int = 3,
) -> CifarResNet:
    """ResNet-20 with 18 :class:`~ewgs.EWGSConv2d` block convs; FP stem conv and FC.

    ``(N, 3, 32, 32) -> (N, num_classes)``; 269,850 parameters + 5 quantizer scalars per conv at
    width 16 (``width`` gives tiny test nets from the same code). Keys follow the official
    ``resnet20_quant`` (``layer1.0.conv1.weight`` ..., ``bn2``, ``linear``).
    """
    conv = functools.partial(EWGSConv2d, w_bits=w_bits, a_bits=a_bits, backward=backward)
    return _skeleton(num_classes, width, in_channels=in_channels, conv=conv, stem_bn=True)


def resnet20_fp(num_classes: int = 10, width: int = 16, *, in_channels: int = 3) -> CifarResNet:
    """The full-precision ResNet-20 (official ``resnet20_fp``); same state-dict keys minus quantizers."""
    return _skeleton(num_classes, width, in_channels=in_channels, stem_bn=True)
