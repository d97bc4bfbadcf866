"""SFNet: learning object-aware semantic correspondence (CVPR 2019) in PyTorch.

Public names are imported lazily, so ``import sfnet`` (and ``sfnet --help``) stays cheap.
"""

from __future__ import annotations

from importlib.metadata import version as _version

from cvcore.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, submodules=("data", "losses", "metrics"))
