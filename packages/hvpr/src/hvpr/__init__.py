"""HVPR: hybrid voxel-point representation for single-stage 3D object detection (CVPR 2021) in PyTorch.

``HVPR``, ``HVPRConfig`` and ``load_config`` are imported lazily (importing torch is slow).
"""

from __future__ import annotations

from importlib.metadata import version as _version
from typing import Any

__version__ = _version("hvpr")

__all__ = ["HVPR", "HVPRConfig", "__version__", "load_config"]

_LAZY = {"HVPR": "hvpr.model.detector", "HVPRConfig": "hvpr.config", "load_config": "hvpr.config"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hvpr' has no attribute {name!r}")
