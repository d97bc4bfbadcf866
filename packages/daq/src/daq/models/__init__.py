"""DAQ model constructors (nothing is downloaded)."""

from daq.models.mobilenet_v2 import mobilenet_v2
from daq.models.registry import available, get
from daq.models.resnet_cifar import resnet20
from daq.models.resnet_imagenet import resnet18, resnet34
from daq.models.small import small_net

__all__ = ["available", "get", "mobilenet_v2", "resnet18", "resnet20", "resnet34", "small_net"]
