"""SFNet: learning object-aware semantic correspondence (CVPR 2019) in PyTorch.

Public names are imported lazily, so ``import sfnet`` (and ``sfnet --help``) stays cheap.
"""

from __future__ import annotations

import importlib
from importlib.metadata import version as _version
from typing import Any

__version__ = _version("sfnet")

_EXPORTS = {
    "SFNet": "sfnet.models.sfnet",
    "SFNetOutput": "sfnet.models.sfnet",
    "SFNetInference": "sfnet.models.sfnet",
    "AdaptationBlock": "sfnet.models.adaptation",
    "correlation": "sfnet.matching",
    "combine_correlations": "sfnet.matching",
    "kernel_soft_argmax": "sfnet.argmax",
    "soft_argmax": "sfnet.argmax",
    "hard_argmax": "sfnet.argmax",
    "grid_to_flow": "sfnet.flow",
    "flow_to_grid": "sfnet.flow",
    "regular_grid": "sfnet.flow",
    "warp": "sfnet.flow",
    "flow_to_color": "sfnet.flow",
    "SFNetLoss": "sfnet.losses",
    "transfer_keypoints": "sfnet.keypoint_transfer",
    "evaluate": "sfnet.engine.evaluate",
    "load_official_checkpoint": "sfnet.official",
}

__all__ = ["__version__", "data", "losses", "metrics", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in ("data", "losses", "metrics"):
        return importlib.import_module(f"sfnet.{name}")
    raise AttributeError(f"module 'sfnet' has no attribute {name!r}")
