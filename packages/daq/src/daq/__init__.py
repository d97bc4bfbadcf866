"""DAQ: distance-aware quantization (Kim, Lee, Ham, ICCV 2021) in PyTorch.

Not the super-resolution "DAQ" (distribution-aware quantization). Public API::

    from daq import DAQConv2d, DAQLinear, quantize_model, initialize, param_groups
    from daq import dasr, quantize_weight, quantize_act, load_official_checkpoint
    import daq.models  # resnet20, resnet18, resnet34, mobilenet_v2, small_net
"""

from importlib.metadata import version as _version

from daq import functional, models
from daq.checkpoint import load_official_checkpoint
from daq.quant import (
    DAQConv2d,
    DAQLinear,
    daq_layers,
    dasr,
    initialize,
    param_groups,
    quantize_act,
    quantize_model,
    quantize_weight,
)

__version__ = _version("daq")

__all__ = [
    "DAQConv2d",
    "DAQLinear",
    "__version__",
    "daq_layers",
    "dasr",
    "functional",
    "initialize",
    "load_official_checkpoint",
    "models",
    "param_groups",
    "quantize_act",
    "quantize_model",
    "quantize_weight",
]
