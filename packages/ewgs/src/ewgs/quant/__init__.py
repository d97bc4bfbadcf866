"""The EWGS method core: discretizer (E2/E5), quantizer (E1/E3/E9), layers (E4), surgery, δ (E7/E8)."""

from ewgs.quant.ewgs_grad import EWGSDiscretizer, STEDiscretizer, ewgs_round, num_steps
from ewgs.quant.hessian import (
    HessianScaleUpdater,
    ScaleEstimate,
    estimate_scaling_factors,
    hutchinson_trace,
)
from ewgs.quant.layers import QUANTIZER_PARAMS, EWGSConv2d, EWGSLayer, EWGSLinear
from ewgs.quant.quantizer import normalize, quantize_act, quantize_weight
from ewgs.quant.surgery import ewgs_layers, initialize, param_groups, quantize_model

__all__ = [
    "QUANTIZER_PARAMS",
    "EWGSConv2d",
    "EWGSDiscretizer",
    "EWGSLayer",
    "EWGSLinear",
    "HessianScaleUpdater",
    "STEDiscretizer",
    "ScaleEstimate",
    "estimate_scaling_factors",
    "ewgs_layers",
    "ewgs_round",
    "hutchinson_trace",
    "initialize",
    "normalize",
    "num_steps",
    "param_groups",
    "quantize_act",
    "quantize_model",
    "quantize_weight",
]
