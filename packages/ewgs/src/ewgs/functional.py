"""Functional EWGS API: ``ewgs_round`` (E2/E5), ``quantize_weight`` / ``quantize_act`` (E1–E3)."""

from ewgs.quant.ewgs_grad import ewgs_round, num_steps
from ewgs.quant.quantizer import normalize, quantize_act, quantize_weight

__all__ = ["ewgs_round", "normalize", "num_steps", "quantize_act", "quantize_weight"]
