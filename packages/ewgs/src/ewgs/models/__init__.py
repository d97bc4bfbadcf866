"""EWGS networks: CIFAR ResNet-20 (§4.1), ResNet-18/34 (§4.2), MobileNet-V2 (§4.3), a 28×28 net.

All are built from the shared skeletons in :mod:`cvcore.quant.models`; nothing downloads.
"""

from ewgs.models.mobilenet_v2 import ProfitMobileNetV2, mobilenet_v2, mobilenet_v2_fp
from ewgs.models.registry import get, names
from ewgs.models.resnet_cifar import resnet20, resnet20_fp
from ewgs.models.resnet_imagenet import resnet18, resnet34
from ewgs.models.small import small_net

__all__ = ["ProfitMobileNetV2", "get", "mobilenet_v2", "mobilenet_v2_fp", "names", "resnet18", "resnet20", "resnet20_fp", "resnet34", "small_net"]
