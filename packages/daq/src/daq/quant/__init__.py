"""The DAQ method core: DASR discretizer, quantizers, layers and model surgery."""

from daq.quant.dasr import dasr, dasr_multiplier, dasr_soft, hard_round, kernel_constant
from daq.quant.layers import DAQConv2d, DAQLayerMixin, DAQLinear
from daq.quant.quantizer import num_steps, quantize_act, quantize_weight, standardize
from daq.quant.surgery import daq_layers, initialize, param_groups, quantize_model

__all__ = [
    "DAQConv2d",
    "DAQLayerMixin",
    "DAQLinear",
    "daq_layers",
    "dasr",
    "dasr_multiplier",
    "dasr_soft",
    "hard_round",
    "initialize",
    "kernel_constant",
    "num_steps",
    "param_groups",
    "quantize_act",
    "quantize_model",
    "quantize_weight",
    "standardize",
]
