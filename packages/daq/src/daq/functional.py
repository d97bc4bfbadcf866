"""Functional DAQ API: ``daq.functional.dasr``, ``quantize_weight``, ``quantize_act`` (spec §10.1)."""

from daq.quant.dasr import (
    controller_beta,
    dasr,
    dasr_multiplier,
    dasr_soft,
    hard_round,
    kernel_constant,
)
from daq.quant.quantizer import num_steps, quantize_act, quantize_weight, standardize

__all__ = [
    "controller_beta",
    "dasr",
    "dasr_multiplier",
    "dasr_soft",
    "hard_round",
    "kernel_constant",
    "num_steps",
    "quantize_act",
    "quantize_weight",
    "standardize",
]
