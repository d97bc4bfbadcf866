"""Method-agnostic building blocks for quantization-aware training (used by ``ewgs`` and ``daq``).

- :mod:`~cvcore.quant.surgery`: list the Conv2d/Linear layers of any torchvision/timm model in
  walk order, decide per-layer bit-widths (first/last rules, ``layer_bits`` overrides) and swap them
  through a factory; ReLU-fed input detection; optimizer parameter split.
- :mod:`~cvcore.quant.models`: the CIFAR ResNet-20 skeleton with pluggable conv/activation
  factories, torchvision ResNet-18/34 and MobileNet-V2 built with ``weights=None`` and quantized via
  the walk, and a small 3-conv net for 28×28 inputs.

The quantizers themselves (EWGS, DAQ, ...) live in their packages.
"""

from cvcore.quant.models import (
    CifarBasicBlock,
    CifarResNet,
    OptionAShortcut,
    SmallConvNet,
    count_parameters,
    kaiming_init,
    mobilenet_v2,
    resnet18,
    resnet20,
    resnet34,
)
from cvcore.quant.surgery import (
    MAX_BITS,
    MIN_BITS,
    LayerPlan,
    check_bits,
    get_submodule,
    nonnegative_inputs,
    plan_layers,
    quantizable_layers,
    set_submodule,
    split_parameters,
    swap_layers,
)

__all__ = [
    "MAX_BITS",
    "MIN_BITS",
    "CifarBasicBlock",
    "CifarResNet",
    "LayerPlan",
    "OptionAShortcut",
    "SmallConvNet",
    "check_bits",
    "count_parameters",
    "get_submodule",
    "kaiming_init",
    "mobilenet_v2",
    "nonnegative_inputs",
    "plan_layers",
    "quantizable_layers",
    "resnet18",
    "resnet20",
    "resnet34",
    "set_submodule",
    "split_parameters",
    "swap_layers",
]
