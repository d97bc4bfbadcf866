"""EWGS: network quantization with element-wise gradient scaling (CVPR 2021) in PyTorch.

Quick start::

    import torchvision, ewgs
    model = ewgs.quantize_model(torchvision.models.resnet18(weights=None), w_bits=2, a_bits=2)
    ewgs.initialize(model, images)                 # E9 on one batch
    groups = ewgs.param_groups(model, lr=1e-3)     # model / quantizer groups
    updater = ewgs.HessianScaleUpdater(model, torch.nn.functional.cross_entropy, every_epochs=10)

Names are imported lazily, so ``import ewgs`` does not import torch.
"""

from __future__ import annotations

from importlib.metadata import version as _version

from cvcore.lazy import lazy_exports

__version__ = _version("ewgs")

_EXPORTS = {
    "EWGSConv2d": "ewgs.quant.layers",
    "EWGSLinear": "ewgs.quant.layers",
    "EWGSLayer": "ewgs.quant.layers",
    "ewgs_round": "ewgs.quant.ewgs_grad",
    "quantize_weight": "ewgs.quant.quantizer",
    "quantize_act": "ewgs.quant.quantizer",
    "quantize_model": "ewgs.quant.surgery",
    "initialize": "ewgs.quant.surgery",
    "param_groups": "ewgs.quant.surgery",
    "ewgs_layers": "ewgs.quant.surgery",
    "HessianScaleUpdater": "ewgs.quant.hessian",
    "estimate_scaling_factors": "ewgs.quant.hessian",
    "hutchinson_trace": "ewgs.quant.hessian",
    "set_kernels": "ewgs.quant.kernels",
    "load_official_checkpoint": "ewgs.checkpoint",
    "QuantizationError": "ewgs.errors",
}
_SUBMODULES = {"functional", "models", "quant", "data", "engine", "checkpoint", "errors"}

__all__ = sorted([*_EXPORTS, "__version__", "functional", "models"])

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, submodules=_SUBMODULES)
